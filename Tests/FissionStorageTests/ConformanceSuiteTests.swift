import FissionCore
import FissionRewards
import FissionStorage
import FissionStorageTesting
import Synchronization
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

    @Test("a store that drops the entries a snapshot covers fails snapshots")
    func dropsEntriesAtSnapshot() async throws {
        let suite = StoreConformance(makeStore: { LeakyStore(.dropsEntriesAtSnapshot) })
        await #expect(throws: StoreConformanceFailure.self) { try await suite.run(.snapshots) }
    }

    @Test("a store that frees the keys a snapshot covers fails snapshots")
    func forgetsKeysAtSnapshot() async throws {
        let suite = StoreConformance(makeStore: { LeakyStore(.forgetsKeysAtSnapshot) })
        await #expect(throws: StoreConformanceFailure.self) { try await suite.run(.snapshots) }
    }

    @Test("a store that writes only when it is closed passes reopenDurability and fails crashDurability")
    func writesOnlyOnClose() async throws {
        let suite = LeakyStore.suite(.writesOnlyOnClose)
        #expect(try await suite.run(.reopenDurability) == .passed)
        await #expect(throws: StoreConformanceFailure.self) { try await suite.run(.crashDurability) }
        // The same store without the defect passes every check, as does one whose snapshots
        // (not appends) reach the disk only when it is closed.
        for defect: LeakyStore.Defect? in [nil, .snapshotsOnlyOnClose] {
            let sound = LeakyStore.suite(defect)
            for check in StoreCheck.allCases {
                #expect(try await sound.run(check) == .passed, "\(String(describing: defect)): \(check)")
            }
        }
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
        // Withdrawals: payouts and repayments of a debt, posted without a key; and in the first 60
        // entries, which the append-and-read check stores.
        let payouts = transfers.filter { $0.key == nil && $0.kind == .posted && $0.credit.owner == .outside }
        let repayments = transfers.filter {
            guard $0.key == nil, $0.kind == .posted, case .receivable = $0.credit.owner else { return false }
            return true
        }
        #expect(payouts.count >= 5 && !repayments.isEmpty, "\(payouts.count) payouts, \(repayments.count) repayments")
        #expect(transfers.contains { $0.key == nil && $0.kind == .posted && $0.debit.owner == .outside })
        let first60 = DeterministicJournal.entries(seed: 7, through: 60).flatMap(\.transfers)
        #expect(first60.contains { $0.key == nil && $0.kind == .posted })
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

/// A store over a shared "disk" (its journal and snapshot), with at most one deliberate defect
/// about snapshots or durability. Every rule of the contract but the defect's is the inner
/// in-memory store's.
private final class LeakyStore: FissionStore {
    enum Defect {
        /// Saving a snapshot removes the entries it covers.
        case dropsEntriesAtSnapshot
        /// Saving a snapshot frees the keys of the entries it covers.
        case forgetsKeysAtSnapshot
        /// Appends reach the disk only in `close()`.
        case writesOnlyOnClose
        /// Snapshots (not appends) reach the disk only in `close()`: no defect, since a snapshot is
        /// a shortcut the contract lets a crash lose.
        case snapshotsOnlyOnClose
    }

    final class Disk: Sendable {
        let journal = Mutex<[JournalEntry]>([])
        let snapshot = Mutex<StoreSnapshot?>(nil)
    }

    let defect: Defect?
    let disk: Disk
    private let inner: Mutex<InMemoryStore>
    /// The journal as this store reads it back, which a defect may make differ from `inner`'s.
    private let journal: Mutex<[JournalEntry]>

    init(_ defect: Defect?, disk: Disk = Disk()) {
        self.defect = defect
        self.disk = disk
        let journal = disk.journal.withLock { $0 }
        let inner = InMemoryStore()
        if !journal.isEmpty { try! inner.append(journal, expectingLastSequence: 0) }
        if let snapshot = disk.snapshot.withLock({ $0 }) { try! inner.saveSnapshot(snapshot) }
        self.inner = Mutex(inner)
        self.journal = Mutex(journal)
    }

    func close() {
        let journal = self.journal.withLock { $0 }
        self.disk.journal.withLock { $0 = journal }
        self.disk.snapshot.withLock { $0 = self.inner.withLock { $0.latestSnapshot() } }
    }

    var maximumPageSize: Int { 1_000 }

    func append(_ entries: [JournalEntry], expectingLastSequence: Int64) throws {
        // Under the inner store's lock, so racing appends reach the journal in sequence order.
        try self.inner.withLock { inner in
            try inner.append(entries, expectingLastSequence: expectingLastSequence)
            let journal = self.journal.withLock { journal in
                journal += entries
                return journal
            }
            if self.defect != .writesOnlyOnClose { self.disk.journal.withLock { $0 = journal } }
        }
    }

    func lastSequence() -> Int64 { self.inner.withLock { $0.lastSequence() } }

    func entry(forKey key: EventID) -> JournalEntry? {
        self.journal.withLock { journal in journal.first { $0.idempotencyKey == key } }
    }

    func entries(after sequence: Int64, limit: Int) throws -> [JournalEntry] {
        guard (1...self.maximumPageSize).contains(limit) else {
            throw FissionError(code: .invalidPageSize, reason: "limit \(limit)")
        }
        return self.journal.withLock { journal in Array(journal.filter { $0.sequence > sequence }.prefix(limit)) }
    }

    func saveSnapshot(_ snapshot: StoreSnapshot) throws {
        try self.inner.withLock { try $0.saveSnapshot(snapshot) }
        if self.defect != .writesOnlyOnClose && self.defect != .snapshotsOnlyOnClose {
            self.disk.snapshot.withLock { $0 = self.inner.withLock { $0.latestSnapshot() } }
        }
        switch self.defect {
        case .dropsEntriesAtSnapshot:
            self.journal.withLock { journal in journal.removeAll { $0.sequence <= snapshot.sequence } }
        case .forgetsKeysAtSnapshot:
            // A fresh index that knows only the entries after the snapshot (renumbered keys stand
            // in for the ones it forgot), so a key from before it is accepted again.
            let journal = self.journal.withLock { $0 }
            let fresh = InMemoryStore()
            let renamed = try journal.map { entry in
                guard entry.sequence <= snapshot.sequence else { return entry }
                return JournalEntry(
                    sequence: entry.sequence,
                    idempotencyKey: try EventID("forgotten-\(entry.sequence)-\(snapshot.sequence)"),
                    payloadDigest: entry.payloadDigest,
                    command: entry.command,
                    outcome: entry.outcome,
                    transfers: entry.transfers
                )
            }
            if !renamed.isEmpty { try fresh.append(renamed, expectingLastSequence: 0) }
            try fresh.saveSnapshot(snapshot)
            self.inner.withLock { $0 = fresh }
        case .writesOnlyOnClose, .snapshotsOnlyOnClose, nil:
            break
        }
    }

    func latestSnapshot() -> StoreSnapshot? { self.inner.withLock { $0.latestSnapshot() } }

    /// The suite over stores with `defect`, reopened (closed first) and opened again (not closed)
    /// on the same disk.
    static func suite(_ defect: Defect?) -> StoreConformance<LeakyStore> {
        StoreConformance(
            makeStore: { LeakyStore(defect) },
            reopen: { store in
                store.close()
                return LeakyStore(defect, disk: store.disk)
            },
            openAgain: { store in LeakyStore(defect, disk: store.disk) }
        )
    }
}
