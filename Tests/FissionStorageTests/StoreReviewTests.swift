import FissionCore
import FissionRewards
@_spi(FissionIndexing) import FissionStorage
import Testing

/// A refused append leaves an ``InMemoryStore`` exactly as it was, even when the append grew the
/// fingerprint indexes first: later appends and lookups behave as if it never happened.
@Suite("InMemoryStore after a refused append")
struct StoreReviewTests {
    /// Entries of one funding each, keyed `"<prefix>-<n>"`, numbered from `first`; the fundings
    /// carry the transfer keys `sources` and follow `padding` others, so their ids run on from
    /// `padding + 1`.
    static func fundings(_ sources: [String], first: Int64, padding: Int) throws -> [JournalEntry] {
        var ledger = Ledger()
        let unit = LedgerUnit.money(.cny)
        func fund(_ source: String) throws {
            let key = TransferKey(.funding, campaign: 1, source: try EventID(source))
            try ledger.transfer(
                key: key,
                debit: .outside(unit),
                credit: .budget(1, unit),
                amount: 5,
                reason: TransferReason(command: key.source),
                at: .earliest
            )
        }
        for index in 0..<padding { try fund("padding-\(index)") }
        return try sources.enumerated().map { offset, source in
            try fund(source)
            return JournalEntry(
                sequence: first + Int64(offset),
                idempotencyKey: try EventID("event-\(source)"),
                payloadDigest: UInt64(offset),
                command: [1, 2, 3],
                outcome: [],
                transfers: ledger.transfers(after: TransferID(rawValue: Int64(padding + offset)), limit: 1)
            )
        }
    }

    enum Broken: CaseIterable {
        case idempotencyKey, transferKey, sequence
    }

    @Test("a refused 300-entry append, which grew both indexes, changes nothing", arguments: Broken.allCases)
    func refusedAppendAfterGrowth(broken: Broken) throws {
        let store = InMemoryStore()
        let stored = try Self.fundings((1...5).map { "stored-\($0)" }, first: 1, padding: 0)
        try store.append(stored, expectingLastSequence: 0)
        let good = try Self.fundings((1...300).map { "new-\($0)" }, first: 6, padding: 5)
        var bad = good
        let last = good[299]
        switch broken {
        case .idempotencyKey:
            bad[299] = JournalEntry(
                sequence: last.sequence,
                idempotencyKey: stored[2].idempotencyKey,
                payloadDigest: 9,
                command: [],
                outcome: [],
                transfers: last.transfers
            )
        case .transferKey:
            // The last entry grants the key of stored entry 3's funding again, under its own id.
            var names = (1...299).map { "new-\($0)" }
            names.append("stored-3")
            let regrant = try Self.fundings(names, first: 6, padding: 5)[299]
            bad[299] = JournalEntry(
                sequence: last.sequence,
                idempotencyKey: last.idempotencyKey,
                payloadDigest: last.payloadDigest,
                command: last.command,
                outcome: last.outcome,
                transfers: regrant.transfers
            )
        case .sequence:
            bad[299] = JournalEntry(
                sequence: last.sequence + 1,
                idempotencyKey: last.idempotencyKey,
                payloadDigest: 9,
                command: [],
                outcome: [],
                transfers: last.transfers
            )
        }
        let refused = #expect(throws: FissionError.self) { try store.append(bad, expectingLastSequence: 5) }
        let expected: [Broken: FissionError.Code] = [
            .idempotencyKey: .duplicateIdempotencyKey, .transferKey: .duplicateTransfer, .sequence: .invalidJournal,
        ]
        #expect(refused?.code == expected[broken])
        #expect(store.lastSequence() == 5)
        for entry in bad {
            #expect(
                store.entry(forKey: entry.idempotencyKey) == stored.first { $0.idempotencyKey == entry.idempotencyKey }
            )
        }
        #expect(try store.entries(after: 0, limit: 1_000) == stored)
        // The keys and transfers of the refused append are free; the stored ones are not.
        try store.append(good, expectingLastSequence: 5)
        for entry in stored + good { #expect(store.entry(forKey: entry.idempotencyKey) == entry) }
        #expect(try store.entries(after: 0, limit: 1_000) == stored + good)
        let regrant = try Self.fundings(["stored-3"], first: 306, padding: 305)[0]
        let again = [
            JournalEntry(
                sequence: 306,
                idempotencyKey: "another-event",
                payloadDigest: 0,
                command: [],
                outcome: [],
                transfers: regrant.transfers
            )
        ]
        let error = #expect(throws: FissionError.self) { try store.append(again, expectingLastSequence: 305) }
        #expect(error?.code == .duplicateTransfer)
        #expect(store.lastSequence() == 305)
    }

    @Test("the same key twice in one append is refused, and neither occurrence is kept")
    func keyTwiceInOneAppend() throws {
        let store = InMemoryStore()
        var batch = try Self.fundings((1...40).map { "once-\($0)" }, first: 1, padding: 0)
        let twin = batch[39]
        batch[39] = JournalEntry(
            sequence: twin.sequence,
            idempotencyKey: batch[10].idempotencyKey,
            payloadDigest: twin.payloadDigest,
            command: twin.command,
            outcome: twin.outcome,
            transfers: twin.transfers
        )
        let error = #expect(throws: FissionError.self) { try store.append(batch, expectingLastSequence: 0) }
        #expect(error?.code == .duplicateIdempotencyKey)
        #expect(store.entry(forKey: batch[10].idempotencyKey) == nil)
        #expect(store.lastSequence() == 0)
        try store.append(Array(batch.prefix(39)), expectingLastSequence: 0)
        #expect(store.entry(forKey: batch[10].idempotencyKey) == batch[10])
    }
}

/// Growth of a ``FingerprintIndex`` whose keys all collide, with undo after the growth.
@Suite("FingerprintIndex growth")
struct FingerprintGrowthReviewTests {
    @Test("colliding fingerprints survive every resize, and undo after a resize restores the lookups")
    func collidingAcrossResizes() {
        let keys: [EventID] = (0..<300).map { EventID(Int64($0)) }
        var index = FingerprintIndex()
        // Two fingerprints only, inserted one reserve at a time so the table grows six times.
        for (position, key) in keys.enumerated().prefix(200) {
            index.reserve(1)
            let slot = index.insert(UInt64(position % 2), position: UInt64(position)) { keys[Int($0)] == key }
            #expect(slot != nil)
        }
        index.reserve(100)
        var slots: [Int] = []
        for (position, key) in keys.enumerated().dropFirst(200) {
            if let slot = index.insert(
                UInt64(position % 2),
                position: UInt64(position),
                unlessMatching: { keys[Int($0)] == key }
            ) {
                slots.append(slot)
            }
        }
        #expect(slots.count == 100)
        for slot in slots.reversed() { index.undoInsertion(at: slot) }
        #expect(index.count == 200)
        for (position, key) in keys.enumerated() {
            let found = index.find(UInt64(position % 2)) { keys[Int($0)] == key }
            #expect(found == (position < 200 ? UInt64(position) : nil))
            // A stored key is refused under its fingerprint; an undone one can go in again.
            index.reserve(1)
            let again = index.insert(UInt64(position % 2), position: UInt64(position)) { keys[Int($0)] == key }
            #expect((again == nil) == (position < 200))
        }
    }

    @Test("probe runs that wrap past the table's end are found, grown and undone")
    func wrappingProbeRuns() {
        let keys: [EventID] = (0..<40).map { EventID(Int64($0)) }
        var index = FingerprintIndex(capacity: 20)
        // Every fingerprint's home is the last slot, so all but one wrap to the start.
        for (position, key) in keys.enumerated().prefix(20) {
            #expect(index.insert(.max, position: UInt64(position)) { keys[Int($0)] == key } != nil)
        }
        index.reserve(20)
        var slots: [Int] = []
        for (position, key) in keys.enumerated().dropFirst(20) {
            if let slot = index.insert(.max, position: UInt64(position), unlessMatching: { keys[Int($0)] == key }) {
                slots.append(slot)
            }
        }
        for slot in slots.dropFirst(10).reversed() { index.undoInsertion(at: slot) }
        #expect(index.count == 30)
        for (position, key) in keys.enumerated() {
            #expect(index.find(.max) { keys[Int($0)] == key } == (position < 30 ? UInt64(position) : nil))
        }
    }
}
