import EngineScenario
import Fission
import Foundation

// Writes the seed corpora the fuzz targets start from: valid graph, settlement and engine
// snapshots (today's, and the version-1 fixtures of the legacy tests), and the journal bytes of
// every command of the engine scenario.
//
// Usage: fuzz-seeds <folder>   (creates <folder>/graph, <folder>/settlement, <folder>/engine)

guard CommandLine.arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: fuzz-seeds <folder>\n".utf8))
    exit(2)
}
let root = URL(fileURLWithPath: CommandLine.arguments[1])
func write(_ bytes: [UInt8], _ folder: String, _ name: String) throws {
    let directory = root.appendingPathComponent(folder)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    try Data(bytes).write(to: directory.appendingPathComponent(name))
}

// Graphs: empty, the scenario's, and one binding at the first order with a protection window.
try write(InviteGraph().snapshot(), "graph", "empty")
let time = EngineScenario.start
var windowed = try InviteGraph(policy: BindingPolicy(moment: .firstOrder, duration: .protectionWindow(days: 7)))
try windowed.register("alice", at: time)
try windowed.register("bob", at: time)
try windowed.register("carol", at: time, invitedBy: "alice", campaign: "spring")
try windowed.bind("carol", to: "bob", at: time.adding(milliseconds: 1_000), campaign: "spring")
_ = try windowed.attributeOrder(placedBy: "carol", at: time.adding(milliseconds: 2_000))
try write(windowed.snapshot(), "graph", "first-order-window")

// The engine scenario, with its follow-ups, through a real engine.
let store = InMemoryStore()
let engine = try FissionEngine(store: store)
for (key, command) in try EngineScenario.prefix() + EngineScenario.followUps() {
    _ = try? await engine.submit(command, key: key, at: EngineScenario.start)
}
try await engine.checkpoint()
let state = await engine.state
try write(state.graph.snapshot(), "graph", "scenario")
try write(Settlement().snapshot(), "settlement", "empty")
try write(state.settlement.snapshot(), "settlement", "scenario")
if let snapshot = store.latestSnapshot() {
    try write([0] + snapshot.state, "engine", "snapshot")
    try write([2] + snapshot.state, "engine", "snapshot-sealed")
}
// Groups and check-ins: boards and membership logs, each mutated behind a valid checksum too.
let groupsStore = InMemoryStore()
let groupsEngine = try FissionEngine(store: groupsStore)
// Every one of these commands applies (a failure stops the generator rather than thin the seed).
for (key, command) in try EngineScenario.prefix() + EngineScenario.groupCommands() {
    _ = try await groupsEngine.submit(command, key: key, at: EngineScenario.start)
}
try await groupsEngine.checkpoint()
let groupsState = await groupsEngine.state
guard groupsState.checkIns.streakCount == 1, groupsState.groupCheckIns.count == 1 else {
    fatalError("the groups scenario left \(groupsState.checkIns.streakCount) community streaks")
}
if let snapshot = groupsStore.latestSnapshot() {
    try write([0] + snapshot.state, "engine", "snapshot-groups")
    try write([2] + snapshot.state, "engine", "snapshot-groups-sealed")
}
for entry in try store.entries(after: 0, limit: store.maximumPageSize) {
    try write([1] + entry.command, "engine", "entry-\(entry.sequence)-\(entry.idempotencyKey)")
}
// Snapshots an earlier version wrote (version 1 of each, and the engine's version 4), so the older
// read paths are fuzzed too: the legacy tests' fixtures, checked to decode first.
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Tests/Fixtures")
let settlementV1 = Array(try Data(contentsOf: fixtures.appendingPathComponent("settlement-snapshot-v1.bin")))
_ = try Settlement(snapshot: settlementV1)
try write(settlementV1, "settlement", "version-1")
let engineV1 = Array(try Data(contentsOf: fixtures.appendingPathComponent("engine-snapshot-v1.bin")))
let legacyStore = InMemoryStore()
try legacyStore.saveSnapshot(StoreSnapshot(sequence: 0, state: engineV1))
_ = try FissionEngine(store: legacyStore)
try write([0] + engineV1, "engine", "snapshot-version-1")
// Version 4, the last to write check-in boards and groups as JSON.
let engineV4 = Array(try Data(contentsOf: fixtures.appendingPathComponent("engine-snapshot-v4.bin")))
let versionFourStore = InMemoryStore()
try versionFourStore.saveSnapshot(StoreSnapshot(sequence: 0, state: engineV4))
_ = try FissionEngine(store: versionFourStore)
try write([2] + engineV4, "engine", "snapshot-version-4")
print("fuzz-seeds: wrote seeds to \(root.path)")
