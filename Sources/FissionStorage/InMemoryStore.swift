@_spi(FissionCoding) public import FissionCore
@_spi(FissionCoding) import FissionRewards
import Synchronization

/// A store that keeps everything in this process's memory: the default for tests, simulations
/// and hosts that persist elsewhere.
///
/// It gives the whole ``FissionStore`` contract except surviving the process: what it holds is
/// gone when the last reference to it goes. Share one instance between engines to model several
/// writers on one database.
///
/// Entries are kept as bytes, packed into pages of 1 MiB, and rebuilt as ``JournalEntry`` values
/// when read: an engine command that pays a two-level commission takes about 500 bytes of entry
/// and 580 with its index slots, against about 1,100 for the entry values with their arrays and
/// transfers.
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
        self.state.withLock { Int64($0.journal.count) }
    }

    /// The entry with this idempotency key, or `nil`.
    public func entry(forKey key: EventID) -> JournalEntry? {
        self.state.withLock { state in state.position(of: key).map { state.journal.entry(at: $0) } }
    }

    /// The entries with these keys, in order, `nil` for a key not in the journal; under one lock,
    /// with the index slots read in one pass first so their cache misses overlap.
    public func entries(forKeys keys: [EventID]) -> [JournalEntry?] {
        self.state.withLock { state in
            let prints = keys.map { Fingerprint.of($0, seed: state.seed) }
            state.warmth = state.keyIndex.touch(prints)
            return keys.indices.map { index in
                state.position(of: keys[index], fingerprint: prints[index]).map { state.journal.entry(at: $0) }
            }
        }
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
            guard start < state.journal.count else { return [] }
            return (start..<min(start + limit, state.journal.count)).map { state.journal.entry(at: $0) }
        }
    }

    /// Keeps the snapshot, replacing any with the same or a lower sequence.
    ///
    /// - Throws: ``FissionError/Code/invalidJournal`` for a sequence outside 0...``lastSequence()``.
    public func saveSnapshot(_ snapshot: StoreSnapshot) throws {
        try self.state.withLock { state throws(FissionError) in
            guard (0...Int64(state.journal.count)).contains(snapshot.sequence) else {
                throw FissionError(
                    code: .invalidJournal,
                    reason: "snapshot at \(snapshot.sequence) is past the journal's end (\(state.journal.count))"
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
/// the entries already. An append checks and indexes its entries first, noting each slot it
/// fills, and stores them only when every check passed; if a check fails, the insertions are
/// undone from the latest back, so a refused append changes nothing and an accepted one builds no
/// temporary sets.
private struct JournalState: ~Copyable {
    var journal = PackedJournal()
    /// Scratch room for one entry's bytes.
    var writer = ByteWriter(capacity: 1_024)
    /// One append's key fingerprints, transfer shapes and transfer-key fingerprints, in order;
    /// kept to reuse their storage.
    var keyPrints: [UInt64] = []
    var shapes: [TransferShape] = []
    var transferPrints: [UInt64] = []
    /// What ``FingerprintIndex/touch(_:)`` read, kept so its reads stay.
    var warmth: UInt64 = 0
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
        self.position(of: key, fingerprint: Fingerprint.of(key, seed: self.seed))
    }

    func position(of key: EventID, fingerprint: UInt64) -> Int? {
        let found = self.keyIndex.find(fingerprint) { position in
            self.journal.key(at: Int(position)) == key
        }
        return found.map { Int($0) }
    }

    mutating func append(_ batch: [JournalEntry], expectingLastSequence: Int64) throws(FissionError) {
        let last = Int64(self.journal.count)
        guard expectingLastSequence == last else {
            throw FissionError(
                code: .storeConflict,
                reason: "the journal ends at \(last), not at \(expectingLastSequence): another writer appended"
            )
        }
        let transfersBefore = self.transferCount
        self.undoLog.removeAll(keepingCapacity: true)
        do {
            try self.index(batch, from: Int(last))
        } catch {
            self.undo()
            self.transferCount = transfersBefore
            throw error
        }
        for entry in batch { self.journal.append(entry, writer: &self.writer) }
    }

    /// Checks every rule for `batch`, whose first entry goes at position `first`, and indexes its
    /// keys, noting each insertion in ``undoLog``.
    ///
    /// Transfers are checked in their encoded form (``JournalEntry/withTransferBytes(_:)``): their ids,
    /// the pending transfers they post, and their keys as bytes, which are equal exactly when the
    /// keys are. No transfer is rebuilt.
    private mutating func index(_ batch: [JournalEntry], from first: Int) throws(FissionError) {
        // First every key's fingerprint and every transfer's shape, then one pass that reads each
        // fingerprint's slot, then the checks and insertions: at 1M entries the indexes are tens
        // of megabytes, and reading the slots in a loop of their own overlaps their cache misses.
        self.keyPrints.removeAll(keepingCapacity: true)
        self.shapes.removeAll(keepingCapacity: true)
        self.transferPrints.removeAll(keepingCapacity: true)
        for entry in batch {
            self.keyPrints.append(Fingerprint.of(entry.idempotencyKey, seed: self.seed))
            try entry.withTransferBytes { (bytes) throws(FissionError) in
                var cursor = 4
                guard bytes.count >= cursor else { throw Self.corrupt("no transfer count") }
                let count = Int(UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)))
                for _ in 0..<count {
                    let shape = try TransferShape.scan(bytes, at: &cursor, corrupt: Self.corrupt)
                    self.shapes.append(shape)
                    if shape.keyFlags != 0 {
                        self.transferPrints.append(
                            Fingerprint.of(
                                tag: shape.keyFlags,
                                bytes: UnsafeRawBufferPointer(rebasing: bytes[shape.keyBytes]),
                                seed: self.seed
                            )
                        )
                    }
                }
                guard cursor == bytes.count else {
                    throw Self.corrupt("\(bytes.count - cursor) bytes after the transfers")
                }
            }
        }
        self.keyIndex.reserve(batch.count)
        self.transferKeyIndex.reserve(self.shapes.count)
        self.warmth = self.keyIndex.touch(self.keyPrints) &+ self.transferKeyIndex.touch(self.transferPrints)
        var nextTransfer = self.transferCount + 1
        var nextShape = 0
        var nextTransferPrint = 0
        // A copy (sharing its storage) that the key comparisons read while the indexes change.
        let journal = self.journal
        for offset in batch.indices {
            let position = first + offset
            let sequence = batch[offset].sequence
            guard sequence == Int64(position) + 1 else {
                throw FissionError(code: .invalidJournal, reason: "entry \(sequence) where \(position + 1) was next")
            }
            let key = batch[offset].idempotencyKey
            let keySlot = self.keyIndex.insert(self.keyPrints[offset], position: UInt64(position)) {
                let candidate = Int($0)
                return candidate >= first
                    ? batch[candidate - first].idempotencyKey == key : journal.key(at: candidate) == key
            }
            guard let keySlot else {
                throw FissionError(
                    code: .duplicateIdempotencyKey,
                    reason: "idempotency key \(key) is already in the journal"
                )
            }
            self.undoLog.append(.key(slot: keySlot))
            let count = batch[offset].transferCount
            for index in 0..<count {
                let shape = self.shapes[nextShape]
                nextShape += 1
                guard shape.id.rawValue == nextTransfer else {
                    throw FissionError(
                        code: shape.id.rawValue < nextTransfer ? .duplicateTransfer : .invalidJournal,
                        reason: "transfer \(shape.id) where #\(nextTransfer) was next"
                    )
                }
                if shape.keyFlags != 0 {
                    precondition(position <= UInt32.max && index <= UInt32.max, "a journal past 2^32 entries")
                    try self.indexTransferKey(
                        shape,
                        fingerprint: self.transferPrints[nextTransferPrint],
                        of: batch[offset],
                        at: UInt64(position) << 32 | UInt64(index),
                        batch: batch,
                        first: first,
                        journal: journal
                    )
                    nextTransferPrint += 1
                }
                if shape.postsPending, let pending = shape.resolved {
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

    /// An entry whose transfers do not scan (only a bug can make one: entries encode their own).
    private static func corrupt(_ reason: String) -> FissionError {
        FissionError(code: .invalidJournal, reason: "a journal entry's transfers do not read: \(reason)")
    }

    /// Indexes the key of a transfer of `entry` (`shape`, filed under `fingerprint`) at `location`.
    private mutating func indexTransferKey(
        _ shape: TransferShape,
        fingerprint: UInt64,
        of entry: JournalEntry,
        at location: UInt64,
        batch: [JournalEntry],
        first: Int,
        journal: PackedJournal
    ) throws(FissionError) {
        let slot = entry.withTransferBytes { bytes in
            let keyBytes = UnsafeRawBufferPointer(rebasing: bytes[shape.keyBytes])
            return self.transferKeyIndex.insert(fingerprint, position: location) {
                let position = Int($0 >> 32)
                let index = Int($0 & 0xFFFF_FFFF)
                guard position >= first else {
                    return journal.transfer(index, at: position, hasKey: shape, bytes: keyBytes)
                }
                return batch[position - first].withTransferBytes { bytes in
                    // Scanned already in this append, so it reads.
                    (try? shape.isKey(
                        ofTransfer: index,
                        inListAt: 0,
                        of: bytes,
                        keyBytes: keyBytes,
                        corrupt: Self.corrupt
                    ))
                        ?? false
                }
            }
        }
        guard let slot else {
            // Rebuilt only to name the key in the error.
            let key = entry.transfers[Int(location & 0xFFFF_FFFF)].key
            throw FissionError(
                code: .duplicateTransfer,
                reason: "transfer key \(key.map(String.init(describing:)) ?? "-") is already stored"
            )
        }
        self.undoLog.append(.transferKey(slot: slot))
    }

    /// Undoes the insertions ``index(_:from:)`` made, from the latest back.
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
