public import FissionCore
import FissionRewards
import Synchronization

/// A store that keeps everything in this process's memory: the default for tests, simulations
/// and hosts that persist elsewhere.
///
/// It gives the whole ``FissionStore`` contract except surviving the process: what it holds is
/// gone when the last reference to it goes. Share one instance between engines to model several
/// writers on one database.
public final class InMemoryStore: FissionStore {
    /// The most entries one read returns: 10,000.
    public var maximumPageSize: Int { 10_000 }

    private let state = Mutex(JournalState())

    /// Creates an empty store.
    public init() {}

    /// Appends entries atomically; see ``FissionStore/append(_:expectingLastSequence:)``.
    ///
    /// - Complexity: O(entries and transfers appended).
    public func append(_ entries: [JournalEntry], expectingLastSequence: Int64) throws {
        try self.state.withLock { state throws(FissionError) in
            try state.append(entries, expectingLastSequence: expectingLastSequence)
        }
    }

    /// The sequence of the journal's last entry, 0 when it is empty.
    public func lastSequence() -> Int64 {
        self.state.withLock { Int64($0.entries.count) }
    }

    /// The entry with this idempotency key, or `nil`.
    public func entry(forKey key: EventID) -> JournalEntry? {
        self.state.withLock { state in state.positionByKey[key].map { state.entries[$0] } }
    }

    /// Entries in journal order, starting after `sequence`.
    ///
    /// - Throws: ``FissionError/Code/invalidPageSize`` for a `limit` outside 1...``maximumPageSize``.
    /// - Complexity: O(`limit`).
    public func entries(after sequence: Int64, limit: Int) throws -> [JournalEntry] {
        guard (1...self.maximumPageSize).contains(limit) else {
            throw FissionError(code: .invalidPageSize, reason: "limit \(limit) is outside 1...\(self.maximumPageSize)")
        }
        return self.state.withLock { state in
            let start = Int(clamping: max(sequence, 0))
            guard start < state.entries.count else { return [] }
            return Array(state.entries[start..<min(start + limit, state.entries.count)])
        }
    }

    /// Keeps the snapshot, replacing any with the same or a lower sequence.
    ///
    /// - Throws: ``FissionError/Code/invalidJournal`` for a sequence outside 0...``lastSequence()``.
    public func saveSnapshot(_ snapshot: StoreSnapshot) throws {
        try self.state.withLock { state throws(FissionError) in
            guard (0...Int64(state.entries.count)).contains(snapshot.sequence) else {
                throw FissionError(
                    code: .invalidJournal,
                    reason: "snapshot at \(snapshot.sequence) is past the journal's end (\(state.entries.count))"
                )
            }
            if let latest = state.snapshot, latest.sequence > snapshot.sequence { return }
            state.snapshot = snapshot
        }
    }

    /// The snapshot with the highest sequence, or `nil`.
    public func latestSnapshot() -> StoreSnapshot? {
        self.state.withLock { $0.snapshot }
    }
}

/// The journal and the indexes that enforce the contract's uniqueness rules, checked before
/// anything is written so a refused append changes nothing.
private struct JournalState: ~Copyable {
    var entries: [JournalEntry] = []
    var positionByKey: [EventID: Int] = [:]
    var transferKeys: Set<TransferKey> = []
    var postedPendings: Set<TransferID> = []
    var transferCount: Int64 = 0
    var snapshot: StoreSnapshot?

    mutating func append(_ batch: [JournalEntry], expectingLastSequence: Int64) throws(FissionError) {
        let last = Int64(self.entries.count)
        guard expectingLastSequence == last else {
            throw FissionError(
                code: .storeConflict,
                reason: "the journal ends at \(last), not at \(expectingLastSequence): another writer appended"
            )
        }
        var newKeys: Set<EventID> = []
        var newTransferKeys: Set<TransferKey> = []
        var newPostings: Set<TransferID> = []
        var nextTransfer = self.transferCount + 1
        for (offset, entry) in batch.enumerated() {
            guard entry.sequence == last + Int64(offset) + 1 else {
                throw FissionError(
                    code: .invalidJournal,
                    reason: "entry \(entry.sequence) where \(last + Int64(offset) + 1) was next"
                )
            }
            guard self.positionByKey[entry.idempotencyKey] == nil, newKeys.insert(entry.idempotencyKey).inserted else {
                throw FissionError(
                    code: .duplicateIdempotencyKey,
                    reason: "idempotency key \(entry.idempotencyKey) is already in the journal"
                )
            }
            for transfer in entry.transfers {
                guard transfer.id.rawValue == nextTransfer else {
                    throw FissionError(
                        code: transfer.id.rawValue < nextTransfer ? .duplicateTransfer : .invalidJournal,
                        reason: "transfer \(transfer.id) where #\(nextTransfer) was next"
                    )
                }
                nextTransfer += 1
                if let key = transfer.key {
                    guard !self.transferKeys.contains(key), newTransferKeys.insert(key).inserted else {
                        throw FissionError(code: .duplicateTransfer, reason: "transfer key \(key) is already stored")
                    }
                }
                if case .postPending(let pending) = transfer.kind {
                    guard !self.postedPendings.contains(pending), newPostings.insert(pending).inserted else {
                        throw FissionError(
                            code: .duplicateTransfer,
                            reason: "pending transfer \(pending) was posted already"
                        )
                    }
                }
            }
        }
        for entry in batch {
            self.positionByKey[entry.idempotencyKey] = self.entries.count
            self.entries.append(entry)
        }
        self.transferKeys.formUnion(newTransferKeys)
        self.postedPendings.formUnion(newPostings)
        self.transferCount = nextTransfer - 1
    }
}
