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
if let snapshot = store.latestSnapshot() { try write([0] + snapshot.state, "engine", "snapshot") }
for entry in try store.entries(after: 0, limit: store.maximumPageSize) {
    try write([1] + entry.command, "engine", "entry-\(entry.sequence)-\(entry.idempotencyKey)")
}
// Snapshots an earlier version wrote (version 1 of each), so the older read paths are fuzzed too.
// The bytes are the legacy tests' fixtures, read from their source files: one copy of each. Any
// change to those files' layout fails here loudly, and so does a fixture that no longer decodes.
struct FixtureUnreadable: Error, CustomStringConvertible {
    let file: String
    let why: String
    var description: String { "\(self.file): \(self.why)" }
}

func versionOneFixture(_ testFile: String) throws -> [UInt8] {
    let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let source = try String(contentsOf: repository.appendingPathComponent(testFile), encoding: .utf8)
    let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
    guard let start = lines.firstIndex(where: { $0 == "private let versionOneHex = [" }),
        let end = lines[start...].firstIndex(where: { $0 == "]" })
    else { throw FixtureUnreadable(file: testFile, why: "no `private let versionOneHex = [` ... `]` block") }
    var bytes: [UInt8] = []
    for line in lines[(start + 1)..<end] {
        // Each line is one quoted run of hex digits and a comma, nothing else.
        let text = line.trimmingCharacters(in: .whitespaces)
        guard text.hasPrefix("\""), text.hasSuffix("\","), text.count >= 3 else {
            throw FixtureUnreadable(file: testFile, why: "a line of the hex block is not a quoted string: \(text)")
        }
        let digits = Array(text.dropFirst().dropLast(2).utf8)
        guard digits.count % 2 == 0 else { throw FixtureUnreadable(file: testFile, why: "odd hex line: \(text)") }
        for pair in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[pair..<(pair + 2)], as: UTF8.self), radix: 16) else {
                throw FixtureUnreadable(file: testFile, why: "not hex: \(text)")
            }
            bytes.append(byte)
        }
    }
    guard !bytes.isEmpty else { throw FixtureUnreadable(file: testFile, why: "an empty hex block") }
    return bytes
}

let settlementV1 = try versionOneFixture("Tests/FissionRewardsTests/LegacySnapshotTests.swift")
_ = try Settlement(snapshot: settlementV1)
try write(settlementV1, "settlement", "version-1")
let engineV1 = try versionOneFixture("Tests/FissionTests/LegacyEngineSnapshotTests.swift")
let legacyStore = InMemoryStore()
try legacyStore.saveSnapshot(StoreSnapshot(sequence: 0, state: engineV1))
_ = try FissionEngine(store: legacyStore)
try write([0] + engineV1, "engine", "snapshot-version-1")
print("fuzz-seeds: wrote seeds to \(root.path)")
