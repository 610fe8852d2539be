import FissionCore
import FissionRewards
import FissionStorage
import FissionStorageTesting
import Testing

/// The suite must catch broken stores, or passing it would mean nothing.
@Suite("The conformance suite catches broken stores")
struct ConformanceSuiteTests {
    @Test("a store that appends a batch entry by entry fails atomicBatch")
    func nonAtomic() async throws {
        let suite = StoreConformance(makeStore: { BrokenStore(.entryByEntry) })
        await #expect(throws: StoreConformanceFailure.self) { try await suite.run(.atomicBatch) }
    }

    @Test("a store that ignores the expected sequence fails storeConflict")
    func ignoresExpectation() async throws {
        let suite = StoreConformance(makeStore: { BrokenStore(.ignoresExpectation) })
        await #expect(throws: StoreConformanceFailure.self) { try await suite.run(.storeConflict) }
    }

    @Test("a store that returns one entry too many per page fails paging")
    func longPages() async throws {
        let suite = StoreConformance(makeStore: { BrokenStore(.longPages) })
        await #expect(throws: StoreConformanceFailure.self) { try await suite.run(.paging) }
    }

    @Test("a store that forgets everything on reopening fails reopenDurability")
    func forgetful() async throws {
        let suite = StoreConformance(
            makeStore: { BrokenStore(.entryByEntry) },
            reopen: { _ in BrokenStore(.entryByEntry) }
        )
        await #expect(throws: StoreConformanceFailure.self) { try await suite.run(.reopenDurability) }
    }

    @Test("the deterministic journal is reproducible and covers every kind and unit")
    func deterministicJournal() {
        let entries = DeterministicJournal.entries(seed: 42, through: 400)
        #expect(entries == DeterministicJournal.entries(seed: 42, through: 400))
        #expect(entries != DeterministicJournal.entries(seed: 43, through: 400))
        #expect(entries.map(\.sequence) == Array(1...400))
        let transfers = entries.flatMap(\.transfers)
        #expect(transfers.map(\.id.rawValue) == Array(1...Int64(transfers.count)))
        var kinds: Set<String> = []
        for transfer in transfers {
            switch transfer.kind {
            case .posted: kinds.insert("posted")
            case .pending: kinds.insert("pending")
            case .postPending: kinds.insert("postPending")
            case .voidPending: kinds.insert("voidPending")
            case .reversal: kinds.insert("reversal")
            }
        }
        #expect(kinds.count == 5, "kinds made: \(kinds.sorted())")
        #expect(Set(transfers.map(\.unit)).count == 7)
        #expect(entries.contains { $0.idempotencyKey.stringValue != nil })
        #expect(entries.contains { $0.idempotencyKey.integerValue != nil })
        #expect(entries.contains { $0.command.isEmpty } && entries.contains { $0.transfers.isEmpty })
        #expect((1...100).allSatisfy { (1...4).contains(DeterministicJournal.batchSize(seed: 42, startingAt: $0)) })
        #expect(DeterministicJournal.snapshot(seed: 1, at: 5) == DeterministicJournal.snapshot(seed: 1, at: 5))
    }
}

/// An in-memory store with one deliberate defect.
private final class BrokenStore: FissionStore {
    enum Defect {
        case entryByEntry
        case ignoresExpectation
        case longPages
    }

    let defect: Defect
    let inner = InMemoryStore()

    init(_ defect: Defect) {
        self.defect = defect
    }

    var maximumPageSize: Int { self.inner.maximumPageSize }

    func append(_ entries: [JournalEntry], expectingLastSequence: Int64) throws {
        switch self.defect {
        case .entryByEntry:
            for (offset, entry) in entries.enumerated() {
                try self.inner.append([entry], expectingLastSequence: expectingLastSequence + Int64(offset))
            }
        case .ignoresExpectation:
            try self.inner.append(entries, expectingLastSequence: self.inner.lastSequence())
        case .longPages:
            try self.inner.append(entries, expectingLastSequence: expectingLastSequence)
        }
    }

    func lastSequence() -> Int64 { self.inner.lastSequence() }

    func entry(forKey key: EventID) -> JournalEntry? { self.inner.entry(forKey: key) }

    func entries(after sequence: Int64, limit: Int) throws -> [JournalEntry] {
        let extra = self.defect == .longPages && limit < self.maximumPageSize ? 1 : 0
        return try self.inner.entries(after: sequence, limit: limit + extra)
    }

    func saveSnapshot(_ snapshot: StoreSnapshot) throws { try self.inner.saveSnapshot(snapshot) }

    func latestSnapshot() -> StoreSnapshot? { self.inner.latestSnapshot() }
}
