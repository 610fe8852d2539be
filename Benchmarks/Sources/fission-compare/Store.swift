// The SQLite store (issue 6) against its floor: the same journal rows inserted through the bare C
// API into plain tables (same columns, same values, no CHECKs, triggers or unique indexes) with the
// same pragmas (WAL, synchronous=FULL). The ratio shows what our schema and checks cost.

import CSQLite
import FissionCore
import FissionRewards
import FissionSQLite
import FissionStorage
import FissionStorageTesting

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fresh folder in the system's temporary directory, removed with its files by `remove()`.
struct StoreBenchFolder {
    let path: String

    init() {
        let base = String(cString: getenv("TMPDIR") ?? strdup("/tmp"))
        var template = Array("\(base)/fission-store-bench-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("mkdtemp failed") }
        self.path = String(cString: made)
    }

    func remove() {
        for suffix in ["", "-wal", "-shm"] {
            unlink("\(self.path)/store.sqlite\(suffix)")
            unlink("\(self.path)/floor.sqlite\(suffix)")
        }
        rmdir(self.path)
    }
}

/// Bare inserts of journal rows and their transfers, no checks: the floor.
final class FloorStore {
    private var database: OpaquePointer?
    private var begin: OpaquePointer?
    private var commit: OpaquePointer?
    private var insertEntry: OpaquePointer?
    private var insertTransfer: OpaquePointer?

    init(path: String) {
        guard sqlite3_open(path, &self.database) == SQLITE_OK else { fatalError("sqlite3_open failed") }
        self.execute("PRAGMA journal_mode = WAL")
        self.execute("PRAGMA synchronous = FULL")
        self.execute(
            "CREATE TABLE journal (sequence INTEGER PRIMARY KEY, idempotency_key ANY, payload_digest INTEGER, "
                + "command BLOB, outcome BLOB) STRICT"
        )
        self.execute(
            "CREATE TABLE transfers (id INTEGER PRIMARY KEY, entry INTEGER, kind TEXT, resolves INTEGER, "
                + "key_operation TEXT, key_campaign ANY, key_rule ANY, key_beneficiary ANY, key_source ANY, "
                + "key_part INTEGER, debit_owner TEXT, debit_owner_id ANY, credit_owner TEXT, credit_owner_id ANY, "
                + "unit TEXT, unit_currency TEXT, unit_minor_digits INTEGER, unit_sku ANY, amount INTEGER, "
                + "command ANY, rule ANY, rule_version INTEGER, at INTEGER, hold_until INTEGER) STRICT"
        )
        self.prepare("BEGIN IMMEDIATE", &self.begin)
        self.prepare("COMMIT", &self.commit)
        self.prepare(
            "INSERT INTO journal (sequence, idempotency_key, payload_digest, command, outcome) VALUES (?1, ?2, ?3, ?4, ?5)",
            &self.insertEntry
        )
        self.prepare(
            "INSERT INTO transfers VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                + "?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
            &self.insertTransfer
        )
    }

    deinit {
        for statement in [self.begin, self.commit, self.insertEntry, self.insertTransfer] {
            sqlite3_finalize(statement)
        }
        sqlite3_close(self.database)
    }

    private func execute(_ sql: String) {
        guard sqlite3_exec(self.database, sql, nil, nil, nil) == SQLITE_OK else { fatalError("floor: \(sql) failed") }
    }

    private func prepare(_ sql: String, _ statement: inout OpaquePointer?) {
        guard sqlite3_prepare_v2(self.database, sql, -1, &statement, nil) == SQLITE_OK else {
            fatalError("floor: preparing \(sql) failed")
        }
    }

    private func run(_ statement: OpaquePointer?) {
        guard sqlite3_step(statement) == SQLITE_DONE else {
            fatalError("floor: step failed: \(String(cString: sqlite3_errmsg(self.database)))")
        }
        sqlite3_reset(statement)
    }

    /// Inserts the entries in one transaction.
    func append(_ entries: ArraySlice<JournalEntry>) {
        self.run(self.begin)
        for entry in entries {
            let statement = self.insertEntry
            sqlite3_bind_int64(statement, 1, entry.sequence)
            Self.bind(statement, 2, entry.idempotencyKey)
            sqlite3_bind_int64(statement, 3, Int64(bitPattern: entry.payloadDigest))
            Self.bind(statement, 4, blob: entry.command)
            Self.bind(statement, 5, blob: entry.outcome)
            self.run(statement)
            for transfer in entry.transfers { self.insert(transfer, entry: entry.sequence) }
        }
        self.run(self.commit)
    }

    private func insert(_ transfer: Transfer, entry: Int64) {
        let statement = self.insertTransfer
        sqlite3_clear_bindings(statement)
        sqlite3_bind_int64(statement, 1, transfer.id.rawValue)
        sqlite3_bind_int64(statement, 2, entry)
        switch transfer.kind {
        case .posted: Self.bind(statement, 3, "posted")
        case .pending: Self.bind(statement, 3, "pending")
        case .postPending(let id):
            Self.bind(statement, 3, "postPending")
            sqlite3_bind_int64(statement, 4, id.rawValue)
        case .voidPending(let id):
            Self.bind(statement, 3, "voidPending")
            sqlite3_bind_int64(statement, 4, id.rawValue)
        case .reversal(let id):
            Self.bind(statement, 3, "reversal")
            sqlite3_bind_int64(statement, 4, id.rawValue)
        }
        if let key = transfer.key {
            Self.bind(statement, 5, "\(key.operation)")
            Self.bind(statement, 6, key.campaign)
            if let rule = key.rule { Self.bind(statement, 7, rule) }
            if let beneficiary = key.beneficiary { Self.bind(statement, 8, beneficiary) }
            Self.bind(statement, 9, key.source)
            sqlite3_bind_int64(statement, 10, Int64(key.part))
        }
        Self.bind(statement, 11, transfer.debit.owner)
        Self.bind(statement, 13, transfer.credit.owner)
        switch transfer.unit {
        case .money(let currency):
            Self.bind(statement, 15, "money")
            Self.bind(statement, 16, currency.code)
            sqlite3_bind_int64(statement, 17, Int64(currency.minorUnitDigits))
        case .points: Self.bind(statement, 15, "points")
        case .coupon(let sku):
            Self.bind(statement, 15, "coupon")
            Self.bind(statement, 18, sku)
        case .gift(let sku):
            Self.bind(statement, 15, "gift")
            Self.bind(statement, 18, sku)
        case .virtualGood(let sku):
            Self.bind(statement, 15, "virtualGood")
            Self.bind(statement, 18, sku)
        case .cardDraw: Self.bind(statement, 15, "cardDraw")
        case .lotteryDraw: Self.bind(statement, 15, "lotteryDraw")
        }
        sqlite3_bind_int64(statement, 19, transfer.amount)
        Self.bind(statement, 20, transfer.reason.command)
        if let rule = transfer.reason.rule { Self.bind(statement, 21, rule) }
        sqlite3_bind_int64(statement, 22, Int64(transfer.reason.ruleVersion))
        sqlite3_bind_int64(statement, 23, transfer.at.millisecondsSinceEpoch)
        if let hold = transfer.holdUntil { sqlite3_bind_int64(statement, 24, hold.millisecondsSinceEpoch) }
        self.run(statement)
    }

    private static func bind(_ statement: OpaquePointer?, _ index: Int32, _ owner: AccountOwner) {
        switch owner {
        case .budget(let campaign):
            Self.bind(statement, index, "budget")
            Self.bind(statement, index + 1, campaign)
        case .wallet(let member):
            Self.bind(statement, index, "wallet")
            Self.bind(statement, index + 1, member)
        case .receivable(let member):
            Self.bind(statement, index, "receivable")
            Self.bind(statement, index + 1, member)
        case .outside:
            Self.bind(statement, index, "outside")
        }
    }

    private static func bind<Kind>(_ statement: OpaquePointer?, _ index: Int32, _ identifier: Identifier<Kind>) {
        switch identifier.value {
        case .integer(let integer): sqlite3_bind_int64(statement, index, integer)
        case .string(let string): Self.bind(statement, index, string)
        }
    }

    private static func bind(_ statement: OpaquePointer?, _ index: Int32, _ text: String) {
        var owned = text
        owned.withUTF8 { bytes in
            _ = bytes.withMemoryRebound(to: CChar.self) { characters in
                sqlite3_bind_text(statement, index, characters.baseAddress, Int32(characters.count), floorTransient)
            }
        }
    }

    private static func bind(_ statement: OpaquePointer?, _ index: Int32, blob: [UInt8]) {
        blob.withUnsafeBytes { bytes in
            _ = sqlite3_bind_blob(
                statement,
                index,
                bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1),
                Int32(bytes.count),
                floorTransient
            )
        }
    }
}

/// SQLITE_TRANSIENT, which the C macro hides from Swift.
let floorTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// Appends `entries` in batches of `batch` to a fresh store and to a fresh floor, `rounds` times
/// each, and reports the best time per entry. With `prefill` the entries after the first
/// `prefill` are timed: the first ones are appended, in batches of 1,000, before the clock starts.
func runStoreCase(_ name: String, entries: [JournalEntry], batch: Int, rounds: Int, prefill: Int = 0) {
    let timed = entries.count - prefill
    let ours = measureFresh(rounds: rounds, operations: timed) { folder, startClock in
        let store = try! SQLiteStore(path: "\(folder)/store.sqlite")
        var last: Int64 = 0
        var start = 0
        while start < entries.count {
            if start == prefill { startClock() }
            let slice = Array(entries[start..<min(start + (start < prefill ? 1_000 : batch), entries.count)])
            try! store.append(slice, expectingLastSequence: last)
            last += Int64(slice.count)
            start += slice.count
        }
        check(try! store.lastSequence() == Int64(entries.count), "\(name): stored entries")
        store.close()
    }
    let floor = measureFresh(rounds: rounds, operations: timed) { folder, startClock in
        let store = FloorStore(path: "\(folder)/floor.sqlite")
        var start = 0
        while start < entries.count {
            if start == prefill { startClock() }
            let end = min(start + (start < prefill ? 1_000 : batch), entries.count)
            store.append(entries[start..<end])
            start = end
        }
    }
    report(name, ours: ours.wall, peer: "floor", floor.wall)
    note(
        "fission-compare: \(name): CPU ns per entry ours \(format(ours.cpu, decimals: 0)) "
            + "floor \(format(floor.cpu, decimals: 0)) (the rest of the wall time waits for the disk)"
    )
}

/// The best of `rounds` runs of `body` on a fresh folder each, in nanoseconds per operation;
/// creating and removing the folder is not timed, nor what `body` does before it calls its
/// second argument (the clock restarts there). Also returns the process's CPU time in that best
/// run, to tell computing from waiting for the disk.
func measureFresh(
    rounds: Int,
    operations: Int,
    _ body: (String, _ startClock: () -> Void) -> Void
) -> (wall: Double, cpu: Double) {
    var best = UInt64.max
    var bestCPU = UInt64.max
    for _ in 0..<rounds {
        let folder = StoreBenchFolder()
        var start = nanoseconds()
        var startCPU = cpuNanoseconds()
        body(folder.path) {
            start = nanoseconds()
            startCPU = cpuNanoseconds()
        }
        let elapsed = nanoseconds() - start
        if elapsed < best {
            best = elapsed
            bestCPU = cpuNanoseconds() - startCPU
        }
        folder.remove()
    }
    return (Double(best) / Double(operations), Double(bestCPU) / Double(operations))
}

func cpuNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// The store suite: batches of 1,000 and single entries, durable (synchronous=FULL), to a fresh
/// store and to one that already holds 200,000 entries.
func runStoreComparison(rounds: Int, batchEntries: Int, singleEntries: Int) {
    var journal = DeterministicJournal(seed: 42)
    let entries = journal.next(batchEntries)
    let transfers = entries.reduce(0) { $0 + $1.transfers.count }
    note(
        "fission-compare: store: \(entries.count) entries, \(transfers) transfers, best of \(rounds) rounds, "
            + "synchronous=FULL, folder in \(String(cString: getenv("TMPDIR") ?? strdup("/tmp")))\n"
    )
    runStoreCase("store-sqlite-batch1000", entries: entries, batch: 1_000, rounds: rounds)
    runStoreCase(
        "store-sqlite-single",
        entries: Array(entries.prefix(singleEntries)),
        batch: 1,
        rounds: max(1, min(rounds, 3))
    )
    // A store in use: 20,000 more entries after 200,000 others (not timed), where an index
    // whose inserts land all over it rewrites most of its pages at every commit.
    let grown = 200_000
    var longer = DeterministicJournal(seed: 42)
    let history = longer.next(grown + batchEntries)
    note(
        "fission-compare: store-sqlite-batch1000-grown: the last \(batchEntries) of \(history.count) entries, "
            + "\(history.dropFirst(grown).reduce(0) { $0 + $1.transfers.count }) transfers, "
            + "after \(history.prefix(grown).reduce(0) { $0 + $1.transfers.count }) stored"
    )
    runStoreCase("store-sqlite-batch1000-grown", entries: history, batch: 1_000, rounds: 1, prefill: grown)
}
