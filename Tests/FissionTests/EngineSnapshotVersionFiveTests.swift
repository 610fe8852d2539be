@_spi(FissionCoding) import FissionCore
import FissionGroups
import FissionStorage
import Foundation
import Testing

@testable import Fission

/// The scenario of `Tests/Fixtures/engine-snapshot-v4.bin`: the two series of
/// ``EngineGroupCheckInTests`` (each group with its own board, in its own offset), check-ins on
/// the community board and on both groups' boards over several days with gaps, two activities, and
/// one member forgotten on the community board. 23 journal entries.
func boardScenario(on store: InMemoryStore) async throws -> FissionEngine {
    let engine = try await EngineGroupCheckInTests.engine(on: store)
    let checkIns: [(member: MemberID, activity: CheckInActivityID, group: GroupID?, days: [Int64])] = [
        ("alice", "run", nil, [0, 1, 2, 4, 5]),
        ("bob", "read", nil, [0, 1]),
        ("alice", "read", nil, [3]),
        ("alice", "run", "west-1", [0, 1, 3]),
        ("bob", "run", "west-1", [2]),
        ("alice", "swim", "east-1", [0, 1, 2]),
    ]
    // Day by day: the engine's clock only moves forward.
    for day in Int64(0)...5 {
        for item in checkIns where item.days.contains(day) {
            try await engine.submit(
                .checkIn(item.member, activity: item.activity, group: item.group),
                key: try EventID(
                    "c-\(item.member)-\(item.activity)-\(item.group.map(String.init(describing:)) ?? "-")-\(day)"
                ),
                at: at(days: day, hours: 2)
            )
        }
    }
    try await engine.submit(.forgetCheckIns("bob"), key: "forget-bob", at: at(days: 6))
    return engine
}

/// Engine snapshot version 5 (Decision 0029): check-in boards and the groups' membership logs in
/// binary. A version-4 snapshot (JSON) written by the Fission before it still restores exactly.
struct EngineSnapshotVersionFiveTests {
    private static func loadVersionFourSnapshot() throws -> [UInt8] {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        return Array(try Data(contentsOf: fixtures.appendingPathComponent("Fixtures/engine-snapshot-v4.bin")))
    }

    @Test(
        "a version-4 snapshot (boards and groups as JSON) restores the replayed state; the next checkpoint writes version 5"
    )
    func versionFourRestores() async throws {
        let versionFour = try Self.loadVersionFourSnapshot()
        #expect(versionFour.prefix(4) == [4, 0, 0, 0], "the fixture is version 4")
        let written = InMemoryStore()
        let live = try await boardScenario(on: written)
        let expected = await fingerprint(live)
        let state = await live.state
        #expect(state.checkIns.streakCount == 2 && state.groupCheckIns.count == 2)
        let store = InMemoryStore()
        try store.append(try written.entries(after: 0, limit: 1_000), expectingLastSequence: 0)
        try store.saveSnapshot(StoreSnapshot(sequence: 23, state: versionFour))
        let engine = try FissionEngine(store: store)
        #expect(await engine.lastSequence == 23)
        #expect(await fingerprint(engine) == expected)
        // Equal states give equal bytes, whichever version they came from.
        #expect(try await engine.state.snapshot() == state.snapshot())
        try await engine.checkpoint()
        let rewritten = try #require(store.latestSnapshot())
        #expect(rewritten.state.prefix(4) == [5, 0, 0, 0])
        #expect(rewritten.state.count < versionFour.count)
        #expect(await fingerprint(try FissionEngine(store: store)) == expected)
    }

    @Test("a version-5 snapshot cut short anywhere, behind a valid checksum, is a corrupt snapshot")
    func truncationsAreCorrupt() async throws {
        let state = try await boardScenario(on: InMemoryStore()).state
        let bytes = try state.snapshot()
        let body = Array(bytes.dropLast(8))
        for length in stride(from: 4, to: body.count, by: 1) {
            let cut = EngineState.sealedSnapshot(Array(body.prefix(length)))
            let error = #expect(throws: FissionError.self) { try EngineState(snapshot: cut, configuration: .init()) }
            // Or a configuration mismatch where the cut falls in a campaign model's name, which then
            // reads the checksum's bytes as the rest of a name no configuration has.
            #expect(
                [.corruptSnapshot, .configurationMismatch].contains(error?.code),
                "at \(length) of \(body.count): \(error?.reason ?? "")"
            )
        }
    }

    @Test(
        "each byte of the boards' and logs' sections, changed behind a valid checksum, is refused or restores a state that writes the same bytes"
    )
    func damagedBytesAreRefusedOrCanonical() async throws {
        let state = try await boardScenario(on: InMemoryStore()).state
        let bytes = try state.snapshot()
        let body = Array(bytes.dropLast(8))
        // From the groups' settings to the end: the sections version 5 changed, and the rest.
        let settings = JSONCoding.encode(state.groups.settings)
        let from = try #require(
            body.indices.dropLast(settings.count - 1).first { Array(body[$0..<($0 + settings.count)]) == settings }
        )
        for offset in (from + settings.count)..<body.count {
            for change: UInt8 in [1, 0x80] {
                var damaged = body
                damaged[offset] ^= change
                let sealed = EngineState.sealedSnapshot(damaged)
                switch Result(catching: { () throws(FissionError) in
                    try EngineState(snapshot: sealed, configuration: .init())
                }) {
                case .success(let restored):
                    // Accepted: a state the engine can hold, which writes itself canonically.
                    let again = try restored.snapshot()
                    #expect(try EngineState(snapshot: again, configuration: .init()).snapshot() == again)
                case .failure(let error):
                    #expect([.corruptSnapshot, .configurationMismatch].contains(error.code), "at \(offset): \(error)")
                }
            }
        }
    }

    @Test("a string that is not UTF-8 in a membership log is a corrupt snapshot, not a repaired name")
    func invalidUTF8IsCorrupt() async throws {
        let state = try await boardScenario(on: InMemoryStore()).state
        let body = Array(try state.snapshot().dropLast(8))
        let settings = JSONCoding.encode(state.groups.settings)
        let logsAt =
            try #require(
                body.indices.dropLast(settings.count - 1).first { Array(body[$0..<($0 + settings.count)]) == settings }
            ) + settings.count
        let at = try #require((logsAt..<(body.count - 5)).first { Array(body[$0..<($0 + 5)]) == Array("alice".utf8) })
        var damaged = body
        damaged[at + 1] = 0xC3  // a lead byte with no continuation
        let error = #expect(throws: FissionError.self) {
            try EngineState(snapshot: EngineState.sealedSnapshot(damaged), configuration: .init())
        }
        #expect(error?.code == .corruptSnapshot)
        #expect(error?.reason.contains("not UTF-8") == true, "\(error?.reason ?? "")")
    }

}
