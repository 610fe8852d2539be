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
        self.state.withLock { state in state.position(of: key).map { state.entries[$0] } }
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
/// The indexes hold fingerprints and positions, not keys (``FingerprintIndex``): the keys are in
/// the entries already. An append makes room for all of its keys first, then indexes them as it
/// checks them, noting each slot it fills; if a check fails, the insertions are undone from the
/// latest back, so a refused append changes nothing and an accepted one builds no temporary sets.
private struct JournalState: ~Copyable {
    var entries: [JournalEntry] = []
    /// Idempotency keys: the position of their entry.
    var keyIndex = FingerprintIndex()
    /// Transfer keys: the entry's position in the high 32 bits, the transfer's in the low 32.
    var transferKeyIndex = FingerprintIndex()
    var postedPendings: Set<TransferID> = []
    var transferCount: Int64 = 0
    var snapshot: StoreSnapshot?
    /// The slots one append filled, for undoing them; kept to reuse its storage.
    var undoLog: [Undo] = []
    let seed = Fingerprint.seed

    enum Undo {
        case key(slot: Int)
        case transferKey(slot: Int)
        case posting(TransferID)
    }

    func position(of key: EventID) -> Int? {
        let found = self.keyIndex.find(Fingerprint.of(key, seed: self.seed)) { position in
            self.entries[Int(position)].idempotencyKey == key
        }
        return found.map { Int($0) }
    }

    mutating func append(_ batch: [JournalEntry], expectingLastSequence: Int64) throws(FissionError) {
        let last = Int64(self.entries.count)
        guard expectingLastSequence == last else {
            throw FissionError(
                code: .storeConflict,
                reason: "the journal ends at \(last), not at \(expectingLastSequence): another writer appended"
            )
        }
        let transfersBefore = self.transferCount
        self.undoLog.removeAll(keepingCapacity: true)
        // The entries go in first, so the indexes can compare keys against them; they are taken
        // out again if a check fails.
        self.entries.append(contentsOf: batch)
        do {
            try self.index(from: Int(last))
        } catch {
            self.undo()
            self.entries.removeSubrange(Int(last)...)
            self.transferCount = transfersBefore
            throw error
        }
    }

    /// Checks every rule for the entries from `first` on and indexes their keys, noting each
    /// insertion in ``undoLog``.
    private mutating func index(from first: Int) throws(FissionError) {
        var transfers = 0
        for position in first..<self.entries.count { transfers += self.entries[position].transfers.count }
        self.keyIndex.reserve(self.entries.count - first)
        self.transferKeyIndex.reserve(transfers)
        var nextTransfer = self.transferCount + 1
        let entries = self.entries
        for position in first..<entries.count {
            let sequence = entries[position].sequence
            guard sequence == Int64(position) + 1 else {
                throw FissionError(code: .invalidJournal, reason: "entry \(sequence) where \(position + 1) was next")
            }
            let key = entries[position].idempotencyKey
            let keySlot = self.keyIndex.insert(Fingerprint.of(key, seed: self.seed), position: UInt64(position)) {
                entries[Int($0)].idempotencyKey == key
            }
            guard let keySlot else {
                throw FissionError(
                    code: .duplicateIdempotencyKey,
                    reason: "idempotency key \(key) is already in the journal"
                )
            }
            self.undoLog.append(.key(slot: keySlot))
            // Through a buffer pointer, so each check reads the field it needs instead of copying
            // the whole transfer (two accounts, a key and a reason, with their identifiers).
            try entries[position].transfers.withUnsafeBufferPointer { transfers throws(FissionError) in
                for offset in transfers.indices {
                    let id = transfers[offset].id
                    guard id.rawValue == nextTransfer else {
                        throw FissionError(
                            code: id.rawValue < nextTransfer ? .duplicateTransfer : .invalidJournal,
                            reason: "transfer \(id) where #\(nextTransfer) was next"
                        )
                    }
                    if let transferKey = transfers[offset].key {
                        precondition(position <= UInt32.max && offset <= UInt32.max, "a journal past 2^32 entries")
                        try self.indexTransferKey(transferKey, at: UInt64(position) << 32 | UInt64(offset), in: entries)
                    }
                    if case .postPending(let pending) = transfers[offset].kind {
                        guard self.postedPendings.insert(pending).inserted else {
                            throw FissionError(
                                code: .duplicateTransfer,
                                reason: "pending transfer \(pending) was posted already"
                            )
                        }
                        self.undoLog.append(.posting(pending))
                    }
                    nextTransfer += 1
                    self.transferCount += 1
                }
            }
        }
    }

    private mutating func indexTransferKey(
        _ key: TransferKey,
        at location: UInt64,
        in entries: [JournalEntry]
    ) throws(FissionError) {
        let slot = self.transferKeyIndex.insert(Fingerprint.of(key, seed: self.seed), position: location) {
            entries[Int($0 >> 32)].transfers[Int($0 & 0xFFFF_FFFF)].key == key
        }
        guard let slot else {
            throw FissionError(code: .duplicateTransfer, reason: "transfer key \(key) is already stored")
        }
        self.undoLog.append(.transferKey(slot: slot))
    }

    /// Undoes the insertions ``index(from:)`` made, from the latest back.
    private mutating func undo() {
        for undo in self.undoLog.reversed() {
            switch undo {
            case .key(let slot): self.keyIndex.undoInsertion(at: slot)
            case .transferKey(let slot): self.transferKeyIndex.undoInsertion(at: slot)
            case .posting(let pending): self.postedPendings.remove(pending)
            }
        }
        self.undoLog.removeAll(keepingCapacity: true)
    }
}
