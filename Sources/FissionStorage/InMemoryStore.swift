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

/// The journal and the indexes that enforce the contract's uniqueness rules.
///
/// An append indexes its keys as it checks them, counting each insertion; if a check fails, the
/// insertions are undone in the same order, so a refused append changes nothing and an accepted
/// one builds no temporary sets.
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
        let transfersBefore = self.transferCount
        var insertions = 0
        do {
            try self.index(batch, after: last, insertions: &insertions)
        } catch {
            self.unindex(batch, insertions: insertions)
            self.transferCount = transfersBefore
            throw error
        }
        self.entries.append(contentsOf: batch)
    }

    /// Checks every rule for `batch` and indexes its keys, counting what it inserted.
    private mutating func index(
        _ batch: [JournalEntry],
        after last: Int64,
        insertions: inout Int
    ) throws(FissionError) {
        var nextTransfer = self.transferCount + 1
        for (offset, entry) in batch.enumerated() {
            guard entry.sequence == last + Int64(offset) + 1 else {
                throw FissionError(
                    code: .invalidJournal,
                    reason: "entry \(entry.sequence) where \(last + Int64(offset) + 1) was next"
                )
            }
            guard self.positionByKey[entry.idempotencyKey] == nil else {
                throw FissionError(
                    code: .duplicateIdempotencyKey,
                    reason: "idempotency key \(entry.idempotencyKey) is already in the journal"
                )
            }
            self.positionByKey[entry.idempotencyKey] = Int(last) + offset
            insertions += 1
            for transfer in entry.transfers {
                guard transfer.id.rawValue == nextTransfer else {
                    throw FissionError(
                        code: transfer.id.rawValue < nextTransfer ? .duplicateTransfer : .invalidJournal,
                        reason: "transfer \(transfer.id) where #\(nextTransfer) was next"
                    )
                }
                if let key = transfer.key {
                    guard self.transferKeys.insert(key).inserted else {
                        throw FissionError(code: .duplicateTransfer, reason: "transfer key \(key) is already stored")
                    }
                    insertions += 1
                }
                if case .postPending(let pending) = transfer.kind {
                    guard self.postedPendings.insert(pending).inserted else {
                        throw FissionError(
                            code: .duplicateTransfer,
                            reason: "pending transfer \(pending) was posted already"
                        )
                    }
                    insertions += 1
                }
                nextTransfer += 1
                self.transferCount += 1
            }
        }
    }

    /// Removes the first `insertions` keys ``index(_:after:insertions:)`` inserted, walking the
    /// batch in the same order.
    private mutating func unindex(_ batch: [JournalEntry], insertions: Int) {
        var remaining = insertions
        for entry in batch {
            guard remaining > 0 else { break }
            self.positionByKey[entry.idempotencyKey] = nil
            remaining -= 1
            for transfer in entry.transfers {
                if let key = transfer.key {
                    guard remaining > 0 else { break }
                    self.transferKeys.remove(key)
                    remaining -= 1
                }
                if case .postPending(let pending) = transfer.kind {
                    guard remaining > 0 else { break }
                    self.postedPendings.remove(pending)
                    remaining -= 1
                }
            }
        }
    }
}
