import FissionCore
import FissionRewards
public import FissionStorage

/// One check of the ``StoreConformance`` suite: each is one rule of the `FissionStore` contract.
///
/// Run them all as parameterised tests, so each shows up, passes and fails on its own:
///
/// ```swift
/// @Test(arguments: StoreCheck.allCases)
/// func conformance(_ check: StoreCheck) async throws {
///     try await StoreConformance(makeStore: { MyStore() }).run(check)
/// }
/// ```
public enum StoreCheck: String, CaseIterable, Sendable, CustomStringConvertible {
    /// A new store is empty: last sequence 0, no entries, no keys, no snapshot.
    case emptyStore
    /// Appended entries read back equal, transfers included, across several appends.
    case appendAndRead
    /// An empty append checks the expected sequence and writes nothing.
    case emptyAppend
    /// An append that expects another last sequence fails with `storeConflict` and writes nothing.
    case storeConflict
    /// Entry sequences must run on from the expected last sequence without gaps (`invalidJournal`).
    case contiguousSequences
    /// A batch with one bad entry in the middle, for every rule, writes none of its entries.
    case atomicBatch
    /// An idempotency key is used at most once, across appends and within one batch.
    case duplicateIdempotencyKey
    /// A transfer id that is already stored is refused (`duplicateTransfer`).
    case duplicateTransferID
    /// Transfer ids run on from the last one without gaps (`invalidJournal`).
    case nonContiguousTransferID
    /// A transfer key is used at most once, across appends and within one batch.
    case duplicateTransferKey
    /// A pending transfer is posted at most once, across appends and within one batch.
    case doublePosting
    /// Reading pages of every size gives back the journal in order, and nothing past its end.
    case paging
    /// A page limit outside 1...maximumPageSize is refused (`invalidPageSize`).
    case invalidPageSize
    /// Every entry is found by its key, one at a time and many at once; a key never appended, or
    /// refused, is not.
    case entryByKey
    /// Odd but valid values read back equal: string keys that differ only in their Unicode
    /// normalisation stay two keys, as do an integer id and a string id that spells it (`7` and
    /// `"7"`), integer ids at `Int64`'s extremes, every ledger unit, transfer
    /// keys that differ only in which optional part they lack, empty and multi-megabyte commands
    /// and outcomes; a key asked for twice in one call is answered twice.
    case oddValues
    /// Snapshots: none at first, the highest sequence wins, the same sequence replaces, past the
    /// end and negative are refused; saving one keeps every entry it covers, and their keys,
    /// transfer keys and postings stay spent.
    case snapshots
    /// After reopening, everything is there unchanged, keys stay spent and appending continues
    /// (persistent stores; not applicable without a `reopen` closure).
    case reopenDurability
    /// Writers racing on one store with optimistic concurrency: every entry lands exactly once.
    case concurrentWriters
    /// What an append acknowledged is there for a second opening of the data while the first is
    /// still open and never closed, as after a crash (persistent stores; not applicable without an
    /// `openAgain` closure). A snapshot may be missing there, never different.
    case crashDurability

    public var description: String { self.rawValue }
}

/// What a check found when it did not throw.
public enum StoreCheckResult: Hashable, Sendable {
    /// The store kept the rule.
    case passed
    /// The check does not apply to this store (for example durability without `reopen`).
    case notApplicable(String)
}

/// A check that the store failed: which rule, and what the store did instead.
public struct StoreConformanceFailure: Error, Hashable, Sendable, CustomStringConvertible {
    /// The check that failed.
    public let check: StoreCheck
    /// What was expected and what the store did.
    public let message: String

    public var description: String { "\(self.check): \(self.message)" }
}

/// The conformance suite for ``FissionStore``: checks any store, the shipped ones or a host's own,
/// against every rule of the contract.
///
/// Each check makes a fresh store with the factory, so checks are independent and can run in
/// parallel. A check throws ``StoreConformanceFailure`` saying what the store did wrong; any other
/// error a store throws where the contract expects success propagates as it is.
///
/// ```swift
/// let suite = StoreConformance(
///     makeStore: { try SQLiteStore(path: temporaryPath()) },
///     reopen: { store in
///         store.close()
///         return try SQLiteStore(path: store.path)
///     }
/// )
/// try await suite.run(.atomicBatch)
/// ```
public struct StoreConformance<Store: FissionStore>: Sendable {
    private let makeStore: @Sendable () throws -> Store
    private let reopen: (@Sendable (Store) throws -> Store)?
    private let openAgain: (@Sendable (Store) throws -> Store)?

    /// Creates the suite.
    ///
    /// - Parameters:
    ///   - makeStore: Makes a new, empty store; called at the start of every check (and once more
    ///     by ``StoreCheck/appendAndRead``, which fills a second store with a longer journal).
    ///   - reopen: For a store that persists: closes `store` and opens its data again, as a
    ///     restarted process would. `nil` for a store that does not persist, which makes
    ///     ``StoreCheck/reopenDurability`` not applicable.
    ///   - openAgain: For a store that persists: opens `store`'s data a second time *without*
    ///     closing `store`, as a process restarted after a crash finds it (for a file, a second
    ///     store on the same path). A store that writes only when it is closed fails
    ///     ``StoreCheck/crashDurability``; `nil` makes that check not applicable (for a store that
    ///     locks its data against a second opening, copy the data and open the copy instead).
    public init(
        makeStore: @escaping @Sendable () throws -> Store,
        reopen: (@Sendable (Store) throws -> Store)? = nil,
        openAgain: (@Sendable (Store) throws -> Store)? = nil
    ) {
        self.makeStore = makeStore
        self.reopen = reopen
        self.openAgain = openAgain
    }

    /// Runs one check on a new store.
    ///
    /// - Returns: ``StoreCheckResult/passed``, or ``StoreCheckResult/notApplicable(_:)``.
    /// - Throws: ``StoreConformanceFailure`` when the store breaks the rule; a store's own error
    ///   where the contract expects success.
    @discardableResult
    public func run(_ check: StoreCheck) async throws -> StoreCheckResult {
        let store = try self.makeStore()
        let probe = Probe(check: check, fixtures: try ConformanceFixtures())
        switch check {
        case .emptyStore: try probe.emptyStore(store)
        case .appendAndRead: try probe.appendAndRead(store, fresh: try self.makeStore())
        case .emptyAppend: try probe.emptyAppend(store)
        case .storeConflict: try probe.storeConflict(store)
        case .contiguousSequences: try probe.contiguousSequences(store)
        case .atomicBatch: try probe.atomicBatch(store)
        case .duplicateIdempotencyKey: try probe.duplicateIdempotencyKey(store)
        case .duplicateTransferID: try probe.duplicateTransferID(store)
        case .nonContiguousTransferID: try probe.nonContiguousTransferID(store)
        case .duplicateTransferKey: try probe.duplicateTransferKey(store)
        case .doublePosting: try probe.doublePosting(store)
        case .paging: try probe.paging(store)
        case .invalidPageSize: try probe.invalidPageSize(store)
        case .entryByKey: try probe.entryByKey(store)
        case .oddValues: try probe.oddValues(store)
        case .snapshots: try probe.snapshots(store)
        case .reopenDurability:
            guard let reopen = self.reopen else {
                return .notApplicable("no reopen closure: the store does not persist")
            }
            try probe.reopenDurability(store, reopen: reopen)
        case .concurrentWriters: try await probe.concurrentWriters(store)
        case .crashDurability:
            guard let openAgain = self.openAgain else {
                return .notApplicable("no openAgain closure: the store does not persist")
            }
            try probe.crashDurability(store, openAgain: openAgain)
        }
        return .passed
    }

    /// Runs every check, each on a new store, and returns what each found.
    ///
    /// - Throws: The first ``StoreConformanceFailure`` (or store error), in ``StoreCheck`` order.
    public func runAll() async throws -> [StoreCheck: StoreCheckResult] {
        var results: [StoreCheck: StoreCheckResult] = [:]
        for check in StoreCheck.allCases {
            results[check] = try await self.run(check)
        }
        return results
    }
}

/// The checks themselves, with the helpers that turn a broken rule into a failure message.
private struct Probe: Sendable {
    let check: StoreCheck
    let fixtures: ConformanceFixtures

    // MARK: Entries

    func entry(_ sequence: Int64, key: EventID? = nil, _ transfers: [Transfer] = []) -> JournalEntry {
        JournalEntry(
            sequence: sequence,
            idempotencyKey: key
                ?? (sequence % 2 == 0 ? EventID(sequence * 1_000) : (try? EventID("key-\(sequence)")) ?? 0),
            payloadDigest: UInt64(bitPattern: sequence) &* 0x9E37_79B9_7F4A_7C15,
            command: sequence % 3 == 0 ? [] : [UInt8(truncatingIfNeeded: sequence), 0, 255],
            outcome: sequence % 2 == 0 ? [] : [1, 2, UInt8(truncatingIfNeeded: sequence)],
            transfers: transfers
        )
    }

    /// Entries 1...`count`, entry `n` carrying main transfer #`n` for `n` up to 7.
    func mainEntries(_ count: Int64) -> [JournalEntry] {
        (1...max(count, 1)).prefix(Int(count)).map { self.entry($0, $0 <= 7 ? [self.fixtures.main($0)] : []) }
    }

    // MARK: Assertions

    func fail(_ message: String) -> StoreConformanceFailure {
        StoreConformanceFailure(check: self.check, message: message)
    }

    func expect<Value: Equatable>(_ actual: Value, _ expected: Value, _ what: String) throws {
        guard actual == expected else { throw self.fail("\(what): expected \(expected), got \(actual)") }
    }

    func expect(_ condition: Bool, _ what: String) throws {
        guard condition else { throw self.fail(what) }
    }

    /// Runs `body`, which must throw a `FissionError` with `code`.
    func expectError(_ code: FissionError.Code, _ what: String, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as FissionError {
            guard error.code == code else {
                throw self.fail("\(what): expected a \(code) error, got \(error.code) (\(error.reason))")
            }
            return
        }
        throw self.fail("\(what): expected a \(code) error, but it succeeded")
    }

    /// Appends `batch`, which must fail with `code` and leave the store as it was.
    func expectRefused(
        _ store: some FissionStore,
        _ batch: [JournalEntry],
        expecting last: Int64,
        _ code: FissionError.Code,
        _ what: String
    ) throws {
        let before = try self.observe(store)
        try self.expectError(code, what) { try store.append(batch, expectingLastSequence: last) }
        try self.expectUnchanged(store, before, after: what)
        for entry in batch where !before.entries.contains(where: { $0.idempotencyKey == entry.idempotencyKey }) {
            try self.expect(
                try store.entry(forKey: entry.idempotencyKey) == nil,
                "\(what): refused entry \(entry.sequence)'s key \(entry.idempotencyKey) is found in the store"
            )
        }
    }

    struct Observation: Equatable {
        let lastSequence: Int64
        let entries: [JournalEntry]
        let snapshot: StoreSnapshot?
    }

    func observe(_ store: some FissionStore) throws -> Observation {
        Observation(
            lastSequence: try store.lastSequence(),
            entries: try self.readAll(store),
            snapshot: try store.latestSnapshot()
        )
    }

    func expectUnchanged(_ store: some FissionStore, _ before: Observation, after what: String) throws {
        let now = try self.observe(store)
        try self.expect(now.lastSequence, before.lastSequence, "\(what): last sequence afterwards")
        try self.expect(
            now.entries == before.entries,
            "\(what): the journal changed: \(before.entries.count) entries before, \(now.entries.count) after"
        )
        try self.expect(now.snapshot, before.snapshot, "\(what): latest snapshot afterwards")
    }

    func readAll(_ store: some FissionStore) throws -> [JournalEntry] {
        var entries: [JournalEntry] = []
        let limit = min(store.maximumPageSize, 1_000)
        while true {
            let page = try store.entries(after: entries.last?.sequence ?? 0, limit: limit)
            entries.append(contentsOf: page)
            if page.count < limit { return entries }
        }
    }

    func expectJournal(_ store: some FissionStore, _ expected: [JournalEntry], _ what: String) throws {
        try self.expect(try store.lastSequence(), expected.last?.sequence ?? 0, "\(what): last sequence")
        let stored = try self.readAll(store)
        try self.expect(stored.count, expected.count, "\(what): number of entries read back")
        for (read, written) in zip(stored, expected) where read != written {
            throw self.fail("\(what): entry \(written.sequence) reads back as \(read), appended as \(written)")
        }
        for entry in expected {
            try self.expect(
                try store.entry(forKey: entry.idempotencyKey),
                entry,
                "\(what): entry for key \(entry.idempotencyKey)"
            )
        }
    }

    // MARK: Checks

    func emptyStore(_ store: some FissionStore) throws {
        try self.expect(try store.lastSequence(), 0, "a new store's last sequence")
        try self.expect(try store.entries(after: 0, limit: 1), [], "a new store's entries")
        try self.expect(try store.entry(forKey: "anything"), nil, "a new store's entry for a key")
        try self.expect(try store.latestSnapshot(), nil, "a new store's snapshot")
        try self.expect(store.maximumPageSize >= 1, "maximumPageSize is \(store.maximumPageSize), below 1")
    }

    func appendAndRead(_ store: some FissionStore, fresh: some FissionStore) throws {
        let entries =
            self.mainEntries(3) + [self.entry(4, [self.fixtures.main(4), self.fixtures.main(5)])]
            + [self.entry(5, [self.fixtures.main(6), self.fixtures.main(7)]), self.entry(6), self.entry(7)]
        try store.append([entries[0]], expectingLastSequence: 0)
        try self.expectJournal(store, Array(entries[..<1]), "after one append")
        try store.append(Array(entries[1..<4]), expectingLastSequence: 1)
        try self.expectJournal(store, Array(entries[..<4]), "after a batch of three")
        try store.append(Array(entries[4...]), expectingLastSequence: 4)
        try self.expectJournal(store, entries, "after a batch with an entry without transfers")
        // The deterministic journal covers every unit, owner and kind, and string and integer keys.
        // It needs a store of its own: its transfer ids start at 1.
        let journal = DeterministicJournal.entries(seed: 7, through: 60)
        try fresh.append(Array(journal[..<45]), expectingLastSequence: 0)
        try fresh.append(Array(journal[45...]), expectingLastSequence: 45)
        try self.expectJournal(fresh, journal, "after appending a 60-entry deterministic journal")
    }

    func emptyAppend(_ store: some FissionStore) throws {
        try store.append([], expectingLastSequence: 0)
        try self.expectJournal(store, [], "after an empty append")
        try store.append(self.mainEntries(2), expectingLastSequence: 0)
        try store.append([], expectingLastSequence: 2)
        try self.expectJournal(store, self.mainEntries(2), "after an empty append at 2")
        try self.expectRefused(store, [], expecting: 1, .storeConflict, "an empty append expecting 1 at 2")
        try self.expectRefused(store, [], expecting: 3, .storeConflict, "an empty append expecting 3 at 2")
    }

    func storeConflict(_ store: some FissionStore) throws {
        try self.expectRefused(
            store,
            self.mainEntries(1),
            expecting: 1,
            .storeConflict,
            "expecting 1 on an empty journal"
        )
        try store.append(self.mainEntries(2), expectingLastSequence: 0)
        let next = [self.entry(3, [self.fixtures.main(3)])]
        try self.expectRefused(store, next, expecting: 1, .storeConflict, "expecting 1 when the journal ends at 2")
        try self.expectRefused(store, next, expecting: 0, .storeConflict, "expecting 0 when the journal ends at 2")
        try self.expectRefused(store, next, expecting: 3, .storeConflict, "expecting 3 when the journal ends at 2")
        try store.append(next, expectingLastSequence: 2)
        try self.expectJournal(store, self.mainEntries(3), "after the right expectation")
    }

    func contiguousSequences(_ store: some FissionStore) throws {
        try self.expectRefused(store, [self.entry(2)], expecting: 0, .invalidJournal, "a first entry numbered 2")
        try self.expectRefused(store, [self.entry(0)], expecting: 0, .invalidJournal, "a first entry numbered 0")
        try self.expectRefused(store, [self.entry(-1)], expecting: 0, .invalidJournal, "a first entry numbered -1")
        try self.expectRefused(
            store,
            [self.entry(1), self.entry(3)],
            expecting: 0,
            .invalidJournal,
            "a batch numbered 1, 3"
        )
        try self.expectRefused(
            store,
            [self.entry(1), self.entry(1, key: "other")],
            expecting: 0,
            .invalidJournal,
            "a batch numbered 1, 1"
        )
        try store.append([self.entry(1), self.entry(2)], expectingLastSequence: 0)
        try self.expectRefused(
            store,
            [self.entry(2, key: "again")],
            expecting: 2,
            .invalidJournal,
            "entry 2 again at 2"
        )
        try self.expectRefused(store, [self.entry(4)], expecting: 2, .invalidJournal, "entry 4 at 2")
        try store.append([self.entry(3)], expectingLastSequence: 2)
        try self.expectJournal(store, [self.entry(1), self.entry(2), self.entry(3)], "after contiguous appends")
    }

    func atomicBatch(_ store: some FissionStore) throws {
        let main = self.fixtures.main
        let stored = self.mainEntries(3)
        try store.append(stored, expectingLastSequence: 0)
        let first = self.entry(4, [main[3]])
        let last = self.entry(6)
        let bad: [(String, FissionError.Code, JournalEntry)] = [
            ("a middle entry numbered 6", .invalidJournal, self.entry(6, key: "middle", [main[4]])),
            (
                "a middle entry reusing a stored key", .duplicateIdempotencyKey,
                self.entry(5, key: stored[0].idempotencyKey, [main[4]])
            ),
            (
                "a middle entry reusing the batch's first key", .duplicateIdempotencyKey,
                self.entry(5, key: first.idempotencyKey, [main[4]])
            ),
            ("a middle entry skipping transfer #5", .invalidJournal, self.entry(5, [main[5]])),
            (
                "a middle entry repeating transfer #3's id", .duplicateTransfer,
                self.entry(5, [try ConformanceFixtures.unrelated(id: 3)])
            ),
            (
                "a middle entry repeating transfer #1's key", .duplicateTransfer,
                self.entry(5, [try ConformanceFixtures.keyTwin(of: try self.key(of: main[0]), id: 5)])
            ),
            (
                "a middle entry posting pending #2 again", .duplicateTransfer,
                self.entry(5, [try ConformanceFixtures.postingTwin(id: 5)])
            ),
        ]
        for (what, code, middle) in bad {
            try self.expectRefused(store, [first, middle, last], expecting: 3, code, what)
        }
        let good = [first, self.entry(5, [main[4]]), last]
        try store.append(good, expectingLastSequence: 3)
        try self.expectJournal(store, stored + good, "after the corrected batch")
    }

    func duplicateIdempotencyKey(_ store: some FissionStore) throws {
        try self.expectRefused(
            store,
            [self.entry(1, key: "twice"), self.entry(2, key: "twice")],
            expecting: 0,
            .duplicateIdempotencyKey,
            "one key twice in a batch"
        )
        try store.append([self.entry(1, key: "once")], expectingLastSequence: 0)
        try self.expectRefused(
            store,
            [self.entry(2, key: "once")],
            expecting: 1,
            .duplicateIdempotencyKey,
            "a stored key"
        )
        // Integer and string keys with the same digits are different keys.
        try store.append([self.entry(2, key: 42), self.entry(3, key: "42")], expectingLastSequence: 1)
        try self.expectRefused(
            store,
            [self.entry(4, key: 42)],
            expecting: 3,
            .duplicateIdempotencyKey,
            "a stored integer key"
        )
        try self.expectJournal(
            store,
            [self.entry(1, key: "once"), self.entry(2, key: 42), self.entry(3, key: "42")],
            "after distinct keys"
        )
    }

    func duplicateTransferID(_ store: some FissionStore) throws {
        try store.append(self.mainEntries(2), expectingLastSequence: 0)
        for id: Int64 in [1, 2] {
            try self.expectRefused(
                store,
                [self.entry(3, [try ConformanceFixtures.unrelated(id: id)])],
                expecting: 2,
                .duplicateTransfer,
                "a new transfer numbered #\(id), already stored"
            )
        }
        try self.expectRefused(
            store,
            [self.entry(3, [self.fixtures.main(3)]), self.entry(4, [try ConformanceFixtures.unrelated(id: 3)])],
            expecting: 2,
            .duplicateTransfer,
            "transfer #3 twice in one batch"
        )
    }

    func nonContiguousTransferID(_ store: some FissionStore) throws {
        try self.expectRefused(
            store,
            [self.entry(1, [self.fixtures.main(2)])],
            expecting: 0,
            .invalidJournal,
            "a first transfer #2"
        )
        try self.expectRefused(
            store,
            [self.entry(1, [self.fixtures.main(2), self.fixtures.main(1)])],
            expecting: 0,
            .invalidJournal,
            "transfers #2, #1 in one entry"
        )
        try store.append(self.mainEntries(1), expectingLastSequence: 0)
        try self.expectRefused(
            store,
            [self.entry(2, [self.fixtures.main(3)])],
            expecting: 1,
            .invalidJournal,
            "transfer #3 after #1"
        )
        try self.expectRefused(
            store,
            [self.entry(2, [self.fixtures.main(2)]), self.entry(3, [self.fixtures.main(4)])],
            expecting: 1,
            .invalidJournal,
            "a batch with transfers #2, #4"
        )
        try store.append([self.entry(2, [self.fixtures.main(2)])], expectingLastSequence: 1)
        try self.expectJournal(store, self.mainEntries(2), "after contiguous transfers")
    }

    func duplicateTransferKey(_ store: some FissionStore) throws {
        let fundingKey = try self.key(of: self.fixtures.main(1))
        try self.expectRefused(
            store,
            [
                self.entry(1, [self.fixtures.main(1)]),
                self.entry(2, [try ConformanceFixtures.keyTwin(of: fundingKey, id: 2)]),
            ],
            expecting: 0,
            .duplicateTransfer,
            "one transfer key twice in a batch"
        )
        try store.append(self.mainEntries(4), expectingLastSequence: 0)
        try self.expectRefused(
            store,
            [self.entry(5, [try ConformanceFixtures.keyTwin(of: fundingKey, id: 5)])],
            expecting: 4,
            .duplicateTransfer,
            "a stored transfer key"
        )
        try store.append([self.entry(5, [try ConformanceFixtures.unrelated(id: 5)])], expectingLastSequence: 4)
    }

    func doublePosting(_ store: some FissionStore) throws {
        try store.append(self.mainEntries(2), expectingLastSequence: 0)
        try self.expectRefused(
            store,
            [self.entry(3, [self.fixtures.main(3)]), self.entry(4, [try ConformanceFixtures.postingTwin(id: 4)])],
            expecting: 2,
            .duplicateTransfer,
            "pending #2 posted twice in one batch"
        )
        try store.append([self.entry(3, [self.fixtures.main(3)])], expectingLastSequence: 2)
        try self.expectRefused(
            store,
            [self.entry(4, [try ConformanceFixtures.postingTwin(id: 4)])],
            expecting: 3,
            .duplicateTransfer,
            "pending #2, posted already, posted again"
        )
        try self.expectJournal(store, self.mainEntries(3), "after the refused postings")
    }

    func paging(_ store: some FissionStore) throws {
        try self.expect(try store.entries(after: 0, limit: 1), [], "a page of an empty store")
        let entries = self.mainEntries(25)
        try store.append(Array(entries[..<10]), expectingLastSequence: 0)
        try store.append(Array(entries[10...]), expectingLastSequence: 10)
        for limit in [1, 2, 7, 24, 25, 26, store.maximumPageSize] where limit <= store.maximumPageSize {
            var read: [JournalEntry] = []
            while true {
                let page = try store.entries(after: read.last?.sequence ?? 0, limit: limit)
                try self.expect(page.count <= limit, "a page of limit \(limit) returned \(page.count) entries")
                try self.expect(
                    page.map(\.sequence) == Array(Int64(read.count + 1)..<Int64(read.count + 1 + page.count)),
                    "a page of limit \(limit) after \(read.count) returned sequences \(page.map(\.sequence))"
                )
                read.append(contentsOf: page)
                if page.count < limit { break }
            }
            try self.expect(read == entries, "reading in pages of \(limit) did not give back the journal")
        }
        try self.expect(try store.entries(after: 25, limit: 5), [], "a page after the last entry")
        try self.expect(try store.entries(after: 1_000, limit: 5), [], "a page far past the end")
        try self.expect(
            try store.entries(after: 20, limit: 100).map(\.sequence),
            [21, 22, 23, 24, 25],
            "the last page"
        )
        try self.expect(try store.entries(after: 7, limit: 1), [entries[7]], "the page after entry 7")
    }

    func invalidPageSize(_ store: some FissionStore) throws {
        try store.append(self.mainEntries(3), expectingLastSequence: 0)
        for limit in [0, -1, Int.min, store.maximumPageSize + 1] {
            try self.expectError(.invalidPageSize, "a page of limit \(limit)") {
                _ = try store.entries(after: 0, limit: limit)
            }
        }
        try self.expect(
            try store.entries(after: 0, limit: store.maximumPageSize).count,
            3,
            "a page of the maximum size"
        )
    }

    func entryByKey(_ store: some FissionStore) throws {
        let entries = self.mainEntries(5)
        try store.append(entries, expectingLastSequence: 0)
        for entry in entries {
            try self.expect(
                try store.entry(forKey: entry.idempotencyKey),
                entry,
                "the entry for key \(entry.idempotencyKey)"
            )
        }
        try self.expect(try store.entry(forKey: "never-appended"), nil, "the entry for a key never appended")
        try self.expect(try store.entry(forKey: 999_999), nil, "the entry for an integer key never appended")
        // Many keys at once: the same answers, in the keys' order, a key asked twice answered twice.
        let asked: [EventID] = [
            entries[3].idempotencyKey, "never-appended", entries[0].idempotencyKey, 999_999, entries[3].idempotencyKey,
        ]
        try self.expect(
            try store.entries(forKeys: asked),
            [entries[3], nil, entries[0], nil, entries[3]],
            "the entries for keys \(asked)"
        )
        try self.expect(try store.entries(forKeys: []), [], "the entries for no keys")
        let refused = self.entry(6, key: "refused", [self.fixtures.main(7)])
        try self.expectRefused(store, [refused], expecting: 5, .invalidJournal, "an entry whose transfer skips #6")
        try self.expect(try store.entry(forKey: "refused"), nil, "the key of a refused entry")
        try store.append([self.entry(6, key: "refused", [self.fixtures.main(6)])], expectingLastSequence: 5)
        try self.expect(try store.entry(forKey: "refused")?.sequence, 6, "a refused key appended later")
    }

    func oddValues(_ store: some FissionStore) throws {
        // Precomposed and decomposed "é", and other strings a `String` comparison or a text
        // collation would merge or mangle; then integers at the edges.
        let strings = [
            "\u{E9}", "e\u{301}", "\u{FEFF}bom", "a\u{2028}b", "\u{10FFFF}", "\u{200B}", " ", "7", "-0",
            String(repeating: "é", count: 64),
        ]
        let integers: [Int64] = [.min, .max, 0, -1, 7]
        let units: [LedgerUnit] = [
            .money(try Currency(code: "XAU", minorUnitDigits: 0)), .points, .coupon("c-\u{E9}"), .gift(7),
            .virtualGood("e\u{301}"), .cardDraw, .lotteryDraw,
        ]
        var ledger = Ledger()
        var entries: [JournalEntry] = []
        let ids: [Identifier<IdentifierKind.Event>] = try strings.map { try EventID($0) } + integers.map { EventID($0) }
        for (index, id) in ids.enumerated() {
            let unit = units[index % units.count]
            /// The same host value as an identifier of another kind.
            func same<Kind>(_: Kind.Type) throws -> Identifier<Kind> {
                switch id.value {
                case .integer(let integer): Identifier<Kind>(integer)
                case .string(let string): try Identifier<Kind>(string)
                }
            }
            let campaign = try same(IdentifierKind.Campaign.self)
            let member = try same(IdentifierKind.Member.self)
            let rule = try same(IdentifierKind.Rule.self)
            let before = ledger.transferCount
            try ledger.transfer(
                key: TransferKey(.funding, campaign: campaign, source: id, part: .min),
                debit: .outside(unit),
                credit: .budget(campaign, unit),
                amount: .max / 4,
                reason: TransferReason(command: id, rule: rule, ruleVersion: .min),
                at: .earliest
            )
            try ledger.transfer(
                key: TransferKey(.grant, campaign: campaign, rule: rule, beneficiary: member, source: id, part: .max),
                debit: .budget(campaign, unit),
                credit: .wallet(member, unit),
                amount: 1,
                holdUntil: .latest,
                reason: TransferReason(command: id, rule: rule, ruleVersion: -1),
                at: .latest
            )
            entries.append(
                JournalEntry(
                    sequence: Int64(index) + 1,
                    idempotencyKey: id,
                    payloadDigest: UInt64(index),
                    command: [UInt8(truncatingIfNeeded: index)],
                    outcome: [],
                    transfers: ledger.transfers(after: TransferID(rawValue: Int64(before)), limit: 2)
                )
            )
        }
        // Transfer keys that differ only in which optional part they lack, and a withdrawal.
        let campaign: CampaignID = 1
        let keys = [
            TransferKey(.grant, campaign: campaign, rule: "x", source: "s"),
            TransferKey(.grant, campaign: campaign, beneficiary: "x", source: "s"),
            TransferKey(.grant, campaign: campaign, source: "s"),
            TransferKey(.grant, campaign: campaign, rule: "x", beneficiary: "x", source: "s"),
            TransferKey(.withdrawal, campaign: campaign, source: "s"),
        ]
        try ledger.transfer(
            key: TransferKey(.funding, campaign: campaign, source: "odd-funding"),
            debit: .outside(.points),
            credit: .budget(campaign, .points),
            amount: 100,
            reason: TransferReason(command: "odd-funding"),
            at: .earliest
        )
        for (index, key) in keys.enumerated() {
            try ledger.transfer(
                key: key,
                debit: .budget(campaign, .points),
                credit: .wallet(MemberID(Int64(index)), .points),
                amount: 1,
                reason: TransferReason(command: "odd-grant"),
                at: .earliest
            )
        }
        let grants = ledger.transfers(
            after: TransferID(rawValue: Int64(ledger.transferCount - keys.count - 1)),
            limit: 10
        )
        let large = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        entries.append(
            JournalEntry(
                sequence: Int64(entries.count) + 1,
                idempotencyKey: "odd-keys",
                payloadDigest: 1,
                command: large,
                outcome: Array(large.prefix(1 << 20)),
                transfers: grants
            )
        )
        entries.append(
            JournalEntry(
                sequence: Int64(entries.count) + 1,
                idempotencyKey: "empty",
                payloadDigest: 2,
                command: [],
                outcome: [],
                transfers: []
            )
        )
        try store.append(entries, expectingLastSequence: 0)
        try self.expectJournal(store, entries, "entries with odd values")
        for entry in entries {
            try self.expect(
                try store.entry(forKey: entry.idempotencyKey),
                entry,
                "the entry for key \(entry.idempotencyKey)"
            )
        }
        try self.expect(
            try store.entries(forKeys: [ids[1], ids[0], ids[1], "e"]),
            [entries[1], entries[0], entries[1], nil],
            "the entries for \"e\u{301}\", \"\u{E9}\", \"e\u{301}\" again and \"e\""
        )
    }

    func snapshots(_ store: some FissionStore) throws {
        try self.expect(try store.latestSnapshot(), nil, "the snapshot of a new store")
        try store.saveSnapshot(StoreSnapshot(sequence: 0, state: [0]))
        try self.expect(try store.latestSnapshot(), StoreSnapshot(sequence: 0, state: [0]), "a snapshot at 0")
        try store.append(self.mainEntries(5), expectingLastSequence: 0)
        try store.saveSnapshot(StoreSnapshot(sequence: 3, state: [3, 3]))
        try self.expect(try store.latestSnapshot(), StoreSnapshot(sequence: 3, state: [3, 3]), "a snapshot at 3")
        try store.saveSnapshot(StoreSnapshot(sequence: 3, state: [3, 4, 5]))
        try self.expect(
            try store.latestSnapshot(),
            StoreSnapshot(sequence: 3, state: [3, 4, 5]),
            "a second snapshot at 3"
        )
        try store.saveSnapshot(StoreSnapshot(sequence: 2, state: [2]))
        try self.expect(
            try store.latestSnapshot(),
            StoreSnapshot(sequence: 3, state: [3, 4, 5]),
            "after saving an older one at 2"
        )
        let large = DeterministicJournal.snapshot(seed: 3, at: 5).state + Array(repeating: 0xAB, count: 100_000)
        try store.saveSnapshot(StoreSnapshot(sequence: 5, state: large))
        try self.expect(
            try store.latestSnapshot() == StoreSnapshot(sequence: 5, state: large),
            "a 100 kB snapshot at 5 reads back"
        )
        try store.saveSnapshot(StoreSnapshot(sequence: 5, state: []))
        try self.expect(try store.latestSnapshot(), StoreSnapshot(sequence: 5, state: []), "an empty snapshot at 5")
        let before = try self.observe(store)
        for sequence: Int64 in [6, 1_000, -1] {
            try self.expectError(.invalidJournal, "a snapshot at \(sequence) of a journal ending at 5") {
                try store.saveSnapshot(StoreSnapshot(sequence: sequence, state: [9]))
            }
        }
        try self.expectUnchanged(store, before, after: "refused snapshots")
        // A snapshot is a shortcut, not a truncation: what it covers stays, and stays spent.
        try self.expectJournal(store, self.mainEntries(5), "after saving snapshots")
        try self.expectSpent(self.mainEntries(5), in: store, "after saving a snapshot at 5")
    }

    /// Refuses, in `store` whose journal is `entries`, an entry reusing the first entry's key, one
    /// reusing a transfer key of transfer #1, and one posting pending #2 again.
    func expectSpent(_ entries: [JournalEntry], in store: some FissionStore, _ what: String) throws {
        let last = entries.last?.sequence ?? 0
        let next = last + 1
        let transfers = Int64(entries.reduce(0) { $0 + $1.transferCount }) + 1
        try self.expectRefused(
            store,
            [self.entry(next, key: entries[0].idempotencyKey)],
            expecting: last,
            .duplicateIdempotencyKey,
            "\(what), a key appended before"
        )
        try self.expectRefused(
            store,
            [
                self.entry(
                    next,
                    [try ConformanceFixtures.keyTwin(of: try self.key(of: self.fixtures.main(1)), id: transfers)]
                )
            ],
            expecting: last,
            .duplicateTransfer,
            "\(what), a transfer key appended before"
        )
        try self.expectRefused(
            store,
            [self.entry(next, [try ConformanceFixtures.postingTwin(id: transfers)])],
            expecting: last,
            .duplicateTransfer,
            "\(what), a second posting of pending #2"
        )
    }

    func reopenDurability<Store: FissionStore>(_ store: Store, reopen: (Store) throws -> Store) throws {
        let entries = self.mainEntries(3) + [self.entry(4, [self.fixtures.main(4)])]
        try store.append(Array(entries[..<2]), expectingLastSequence: 0)
        try store.append(Array(entries[2...]), expectingLastSequence: 2)
        try store.saveSnapshot(StoreSnapshot(sequence: 3, state: [1, 2, 3]))
        try self.expectRefused(
            store,
            [self.entry(5, [self.fixtures.main(6)])],
            expecting: 4,
            .invalidJournal,
            "a refused append"
        )
        let before = try self.observe(store)
        let reopened = try reopen(store)
        try self.expectUnchanged(reopened, before, after: "reopening")
        try self.expectJournal(reopened, entries, "after reopening")
        try self.expectSpent(entries, in: reopened, "after reopening")
        try self.expectRefused(
            reopened,
            [self.entry(5)],
            expecting: 3,
            .storeConflict,
            "after reopening, a stale expectation"
        )
        let more = [
            self.entry(5, [self.fixtures.main(5)]), self.entry(6, [self.fixtures.main(6), self.fixtures.main(7)]),
        ]
        try reopened.append(more, expectingLastSequence: 4)
        try reopened.saveSnapshot(StoreSnapshot(sequence: 6, state: [6]))
        let again = try reopen(reopened)
        try self.expectJournal(again, entries + more, "after appending and reopening again")
        try self.expect(
            try again.latestSnapshot(),
            StoreSnapshot(sequence: 6, state: [6]),
            "the snapshot after reopening again"
        )
        try again.append([self.entry(7)], expectingLastSequence: 6)
        try self.expectJournal(try reopen(again), entries + more + [self.entry(7)], "after a third reopening")
    }

    func crashDurability<Store: FissionStore>(_ store: Store, openAgain: (Store) throws -> Store) throws {
        let entries = self.mainEntries(5)
        try store.append(Array(entries[..<2]), expectingLastSequence: 0)
        try store.append(Array(entries[2...]), expectingLastSequence: 2)
        try store.saveSnapshot(StoreSnapshot(sequence: 4, state: [4, 4]))
        // `store` stays open and is never closed: the second opening sees only what the appends
        // themselves made durable.
        let other = try openAgain(store)
        try self.expectJournal(other, entries, "opened again while the first store is still open")
        // Snapshots are a shortcut: one saved but not yet durable may be missing, never different.
        if let snapshot = try other.latestSnapshot() {
            try self.expect(snapshot, StoreSnapshot(sequence: 4, state: [4, 4]), "the snapshot, opened again")
        }
        try self.expectSpent(entries, in: other, "opened again")
        withExtendedLifetime(store) {}
    }

    func concurrentWriters(_ store: some FissionStore) async throws {
        let writers = 4
        let perWriter = 25
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for index in 0..<perWriter {
                        let key = try EventID("writer-\(writer)-\(index)")
                        while true {
                            let last = try store.lastSequence()
                            do {
                                try store.append([self.entry(last + 1, key: key)], expectingLastSequence: last)
                                break
                            } catch let error as FissionError where error.code == .storeConflict {
                                await Task.yield()
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let stored = try self.readAll(store)
        try self.expect(stored.map(\.sequence), Array(1...Int64(writers * perWriter)), "sequences after racing writers")
        try self.expect(
            Set(stored.map(\.idempotencyKey)).count,
            writers * perWriter,
            "distinct keys after racing writers"
        )
    }

    func key(of transfer: Transfer) throws -> TransferKey {
        guard let key = transfer.key else { throw self.fail("fixture transfer \(transfer.id) has no key") }
        return key
    }
}
