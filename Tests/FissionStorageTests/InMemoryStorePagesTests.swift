import FissionCore
import FissionRewards
import FissionStorage
import Testing

/// The in-memory store keeps entries as bytes in pages of 1 MiB: entries that fill several
/// pages, and one bigger than a page, read back exactly as they were appended, and their keys
/// stay spent wherever they are stored.
@Suite("InMemoryStore pages")
struct InMemoryStorePagesTests {
    /// `count` fundings whose commands are `commandSize` bytes (a different byte in each entry),
    /// numbered from `first`, their transfers from `first` too.
    static func entries(_ count: Int, first: Int64, commandSize: Int) throws -> [JournalEntry] {
        let sources = (0..<count).map { "page-\(first + Int64($0))" }
        return try StoreReviewTests.fundings(sources, first: first, padding: Int(first) - 1).map { entry in
            JournalEntry(
                sequence: entry.sequence,
                idempotencyKey: entry.idempotencyKey,
                payloadDigest: entry.payloadDigest,
                command: Array(repeating: UInt8(truncatingIfNeeded: entry.sequence), count: commandSize),
                outcome: [UInt8(truncatingIfNeeded: entry.sequence &* 7), 1, 2],
                transfers: entry.transfers
            )
        }
    }

    @Test func entriesOverManyPagesReadBackEqual() throws {
        let store = InMemoryStore()
        // 40 entries of 100 KiB fill about four pages, with entries that do not fit a page's room
        // starting a new page; then one entry of 3 MiB, bigger than a page, then small ones.
        let small = try Self.entries(40, first: 1, commandSize: 100 << 10)
        let big = try Self.entries(1, first: 41, commandSize: 3 << 20)
        let after = try Self.entries(5, first: 42, commandSize: 10)
        try store.append(Array(small[0..<25]), expectingLastSequence: 0)
        try store.append(Array(small[25...]), expectingLastSequence: 25)
        try store.append(big, expectingLastSequence: 40)
        try store.append(after, expectingLastSequence: 41)
        let all = small + big + after
        #expect(store.lastSequence() == 46)
        #expect(try store.entries(after: 0, limit: 100) == all)
        for entry in all {
            #expect(store.entry(forKey: entry.idempotencyKey) == entry)
        }
        // Keys and transfer keys stored on every page stay spent.
        for entry in [all[0], all[30], all[40], all[45]] {
            let retry = JournalEntry(
                sequence: 47,
                idempotencyKey: entry.idempotencyKey,
                payloadDigest: 0,
                command: [],
                outcome: [],
                transfers: []
            )
            #expect(throws: FissionError(code: .duplicateIdempotencyKey, reason: "")) {
                try store.append([retry], expectingLastSequence: 46)
            }
            // A new key whose transfer repeats the stored entry's transfer key (with the next id).
            let source = "page-\(entry.sequence)"
            let twin = try #require(try StoreReviewTests.fundings([source], first: 47, padding: 46).first)
            #expect(twin.transfers.first?.key == entry.transfers.first?.key)
            let reused = JournalEntry(
                sequence: 47,
                idempotencyKey: "fresh",
                payloadDigest: 0,
                command: [],
                outcome: [],
                transfers: twin.transfers
            )
            #expect(throws: FissionError(code: .duplicateTransfer, reason: "")) {
                try store.append([reused], expectingLastSequence: 46)
            }
        }
        #expect(try store.entries(after: 0, limit: 100) == all)
    }
}
