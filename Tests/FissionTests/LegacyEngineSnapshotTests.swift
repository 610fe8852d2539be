@_spi(FissionCoding) import FissionCore
import FissionRewards
import Foundation
import Testing

@testable import Fission

// An engine snapshot holds the whole state. A host upgrading Fission opens a store whose latest
// snapshot an earlier version wrote: the engine must restore it exactly (and then write its own
// version at the next checkpoint). These bytes, written once by an earlier version, pin that.

/// The engine snapshot after `scenario(moderated: false)` (27 entries), written by the code of
/// b5acffc (engine snapshot version 1, members as sorted-key JSON), kept in `Tests/Fixtures/engine-snapshot-v1.bin` (the fuzz
/// seeds start from it too). If the scenario changes, this fixture no longer matches it: regenerate it with that commit's code.
private func loadVersionOneSnapshot() throws -> [UInt8] {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    return Array(try Data(contentsOf: fixtures.appendingPathComponent("Fixtures/engine-snapshot-v1.bin")))
}

struct LegacyEngineSnapshotTests {
    /// Where the members section starts: after the version, the clock, and the graph's and the
    /// settlement's snapshots (each a 4-byte little-endian length, then its bytes).
    static func membersSectionStart(_ bytes: [UInt8]) -> Int { Self.blobStart(2, of: bytes) }

    /// Where the `index`th length-prefixed snapshot after the version and the clock starts
    /// (0 is the graph's, 1 the settlement's).
    static func blobStart(_ index: Int, of bytes: [UInt8]) -> Int {
        var offset = 12
        for _ in 0..<index { offset += 4 + Self.length(at: offset, of: bytes) }
        return offset
    }

    static func length(at offset: Int, of bytes: [UInt8]) -> Int {
        bytes[offset..<(offset + 4)].reversed().reduce(0) { $0 << 8 | Int($1) }
    }

    /// The bytes of the length-prefixed snapshot at `offset`.
    static func blob(at offset: Int, of bytes: [UInt8]) -> [UInt8] {
        Array(bytes[(offset + 4)..<(offset + 4 + Self.length(at: offset, of: bytes))])
    }

    /// `entries` as the Fission that wrote the fixture journaled them: a series added with tag 9,
    /// whose groups' check-ins count on the community board (the same JSON after the tag).
    static func beforeGroupBoards(_ entries: [JournalEntry]) -> [JournalEntry] {
        entries.map { entry in
            guard entry.command[8] == 22 else { return entry }
            var command = entry.command
            command[8] = 9
            return entry.replacing(payloadDigest: stableDigest(command[8...]), command: command)
        }
    }

    @Test func aVersionOneSnapshotRestoresTheSameStateAndIsRewrittenAsTheCurrentVersion() async throws {
        let versionOneSnapshot = try loadVersionOneSnapshot()
        #expect(versionOneSnapshot.prefix(4) == [1, 0, 0, 0], "the fixture is version 1")
        // The journal of the same scenario as the Fission of the fixture wrote it, with the old
        // snapshot as the latest.
        let written = InMemoryStore()
        _ = try await runScenario(on: written, moderated: false)
        let fresh = InMemoryStore()
        try fresh.append(Self.beforeGroupBoards(try written.entries(after: 0, limit: 1_000)), expectingLastSequence: 0)
        let replayed = try FissionEngine(store: fresh)
        let expected = await fingerprint(replayed)
        #expect(await replayed.state.seriesOnTheCommunityBoard == ["welcome"])
        #expect(await replayed.state.groupCheckIns.isEmpty)
        let store = InMemoryStore()
        try store.append(try fresh.entries(after: 0, limit: 1_000), expectingLastSequence: 0)
        try store.saveSnapshot(StoreSnapshot(sequence: 27, state: versionOneSnapshot))
        let engine = try FissionEngine(store: store)
        #expect(await fingerprint(engine) == expected)
        #expect(await engine.lastSequence == 27)
        // The next checkpoint writes the current version, which restores to the same state.
        try await engine.checkpoint()
        let rewritten = try #require(store.latestSnapshot())
        #expect(rewritten.state.prefix(4) == [5, 0, 0, 0])
        #expect(await fingerprint(try FissionEngine(store: store)) == expected)
        // Only the version, the settlement's snapshot and what follows the graph changed: the
        // clock and the graph's snapshot are the same bytes.
        let settlementStart = Self.blobStart(1, of: versionOneSnapshot)
        #expect(settlementStart == Self.blobStart(1, of: rewritten.state))
        #expect(rewritten.state[4..<settlementStart] == versionOneSnapshot[4..<settlementStart])
        // The settlement's snapshot is its version 3, holding the same state, with one campaign
        // that keeps the fingerprints of version 1 (Decision 0021) and settles under revision one
        // (Decision 0027).
        let oldSettlement = Self.blob(at: settlementStart, of: versionOneSnapshot)
        let newSettlement = Self.blob(at: settlementStart, of: rewritten.state)
        #expect(oldSettlement[4] == 1 && newSettlement[4] == 3)
        #expect(newSettlement.count == oldSettlement.count + 2)
        #expect(try Settlement(snapshot: newSettlement) == Settlement(snapshot: oldSettlement))
        #expect(Self.membersSectionStart(rewritten.state) == Self.membersSectionStart(versionOneSnapshot) + 2)
        // It ends with version 4's sections: the series on the community board (all of them, as
        // in every snapshot from before group boards) and no group boards; then the checksum.
        var tail = ByteWriter(capacity: 32)
        tail.append(UInt32(1))
        tail.append(identifier: GroupSeriesID("welcome"))
        tail.append(UInt32(0))
        let sections = tail.finish()
        #expect(rewritten.state.dropLast(8).suffix(sections.count) == sections[...])
        #expect(rewritten.state.count < versionOneSnapshot.count)
    }
}
