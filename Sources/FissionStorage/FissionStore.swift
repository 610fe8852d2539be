public import FissionCore

/// Where an engine keeps what it has accepted: an append-only journal of commands with the
/// ledger transfers they made, plus snapshots of the state.
///
/// This protocol's documentation is its contract. Every store, the shipped ``InMemoryStore``,
/// `SQLiteStore` and any store a host writes, must give all of it; `FissionStorageTesting`'s
/// conformance suite checks it.
///
/// **Atomic appends.** ``append(_:expectingLastSequence:)`` writes all of its entries, with every
/// transfer they carry, or none of them. A failed append leaves the store exactly as it was.
///
/// **Optimistic concurrency.** An append names the journal's last sequence as the writer saw it;
/// if another writer has appended since, the append fails with
/// ``FissionError/Code/storeConflict`` and writes nothing. The writer catches up by reading the
/// entries it missed and tries again. So two engines sharing one store never both write what they
/// each computed from the same earlier state.
///
/// **Uniqueness the store enforces itself**, whatever the writer does, so a bug in an engine cannot
/// grant a reward twice:
/// - entry sequences are contiguous from 1: the entries of one append are numbered
///   `expectingLastSequence + 1`, `+ 2`, ... (else ``FissionError/Code/invalidJournal``);
/// - an idempotency key appears in at most one entry (``FissionError/Code/duplicateIdempotencyKey``);
/// - a transfer id appears at most once, and transfer ids are contiguous from 1 across the journal
///   in entry order (``FissionError/Code/duplicateTransfer`` or ``FissionError/Code/invalidJournal``);
/// - a transfer key (a reward's identity: campaign, rule, beneficiary, source event, part) appears
///   at most once (``FissionError/Code/duplicateTransfer``);
/// - a pending transfer is posted at most once (``FissionError/Code/duplicateTransfer``).
///
/// **Durability.** Once `append` returns, its entries are kept: reading the store again, from this
/// process or after reopening it (for a store on disk, after a crash), gives them back unchanged,
/// and an idempotency key once appended stays spent. Nothing a store returns was not appended.
/// Entries and transfers are never changed or removed.
///
/// **Snapshots.** ``saveSnapshot(_:)`` keeps a snapshot of the state as of a journal position that
/// has been appended; ``latestSnapshot()`` returns the one with the highest sequence (saving
/// another at the same sequence replaces it). Snapshots are an optimisation: a store may keep only
/// the latest.
///
/// **Errors.** The contract's own failures are ``FissionError``s with the codes above; a store
/// throws its own errors for anything else (a disk that is full, a file that is locked or corrupt).
/// Either way a failed call has no effect, with one exception no durable store can avoid: when
/// the failure comes while committing an append (an I/O error at the write or sync that makes it
/// durable), the append may have been committed all the same, perhaps visible only after a
/// restart. The writer treats such an outcome as unknown and submits the same entries again under
/// the same keys, never others in their place: committed, they are recognised by their keys; not,
/// they are appended then. The engine does this: it rebuilds its state from the store after any
/// failed append and asks the host to resubmit the same keys (Engine.md, "Failure semantics").
///
/// **Threads.** Calls may block (a store on disk does I/O). A store is `Sendable` and must be safe
/// to call from several threads; an engine calls it from one task at a time.
public protocol FissionStore: AnyObject, Sendable {
    /// The most entries one read returns.
    var maximumPageSize: Int { get }

    /// Appends entries atomically, if the journal still ends where the writer saw it end.
    ///
    /// - Parameters:
    ///   - entries: The entries, numbered from `expectingLastSequence + 1` without gaps. May be
    ///     empty, which checks the sequence and writes nothing.
    ///   - expectingLastSequence: The sequence of the journal's last entry as the writer saw it
    ///     (0 for an empty journal).
    /// - Throws: ``FissionError/Code/storeConflict`` if the journal's last sequence is not
    ///   `expectingLastSequence`; ``FissionError/Code/invalidJournal``,
    ///   ``FissionError/Code/duplicateIdempotencyKey`` or ``FissionError/Code/duplicateTransfer`` as
    ///   the contract says; the store's own errors. Nothing is written when it throws, except that
    ///   a store's own failure while committing may leave the append committed (see "Errors").
    func append(_ entries: [JournalEntry], expectingLastSequence: Int64) throws

    /// The sequence of the journal's last entry, 0 when it is empty.
    func lastSequence() throws -> Int64

    /// The entry with this idempotency key, or `nil`.
    func entry(forKey key: EventID) throws -> JournalEntry?

    /// The entries with these idempotency keys, in the keys' order: `nil` for a key not in the
    /// journal (a key may repeat). The engine reads every key of a batch with one call.
    ///
    /// A default implementation calls ``entry(forKey:)`` for each key; a store that reads many
    /// keys faster at once implements it (the SQLite store reads them in one read transaction,
    /// the in-memory store under one lock).
    func entries(forKeys keys: [EventID]) throws -> [JournalEntry?]

    /// Entries in journal order, starting after `sequence`.
    ///
    /// - Parameters:
    ///   - sequence: The last entry the reader already has (0 to read from the start).
    ///   - limit: How many entries at most, 1 to ``maximumPageSize``.
    /// - Returns: Up to `limit` entries with sequences `sequence + 1`, `sequence + 2`, ...
    /// - Throws: ``FissionError/Code/invalidPageSize`` for a `limit` out of range; the store's own errors.
    func entries(after sequence: Int64, limit: Int) throws -> [JournalEntry]

    /// Keeps a snapshot of the state as of `snapshot.sequence`.
    ///
    /// - Throws: ``FissionError/Code/invalidJournal`` if `snapshot.sequence` is negative or past the
    ///   journal's last entry; the store's own errors.
    func saveSnapshot(_ snapshot: StoreSnapshot) throws

    /// The snapshot with the highest sequence, or `nil` if none was saved.
    func latestSnapshot() throws -> StoreSnapshot?
}

extension FissionStore {
    /// Calls ``entry(forKey:)`` for each key.
    public func entries(forKeys keys: [EventID]) throws -> [JournalEntry?] {
        try keys.map { try self.entry(forKey: $0) }
    }
}

extension FissionError.Code {
    /// An append expected the journal to end at another sequence: another writer appended first.
    public static let storeConflict = Self("storeConflict")
    /// Entries or transfers out of sequence, or a snapshot past the journal's end.
    public static let invalidJournal = Self("invalidJournal")
    /// An idempotency key that is already in the journal.
    public static let duplicateIdempotencyKey = Self("duplicateIdempotencyKey")
    /// A transfer whose id or key is already stored, or a second posting of one pending transfer.
    public static let duplicateTransfer = Self("duplicateTransfer")
}
