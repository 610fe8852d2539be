/// One step of the schema's history: the statements that take a store from `version - 1` to
/// `version`, run in one transaction with the version bump.
package struct SchemaMigration: Sendable {
    /// The schema version this step produces, from 1.
    package let version: Int32
    /// The statements, in order.
    package let statements: [String]

    /// Creates a step.
    package init(version: Int32, statements: [String]) {
        self.version = version
        self.statements = statements
    }
}

/// The store's schema and every statement it runs: all of its SQL is here, so a test can read it.
///
/// Journal and transfer rows are only ever inserted. Triggers refuse an UPDATE or a DELETE of
/// them, or a gap in the journal's sequences or the transfer ids, on every connection a host
/// opens; the store's own connection runs without triggers and guards the same rules itself (see
/// `StoreConnection`). The constraints refuse what the ``FissionStore`` contract forbids (a reused
/// idempotency key, transfer id or transfer key, a second posting of one pending transfer) on
/// every connection, the store's included, so even a faulty writer cannot grant a reward twice.
package enum SQLiteSchema {
    /// `PRAGMA application_id` of a Fission store: "FiSS" in ASCII.
    package static let applicationID: Int32 = 0x4669_5353

    /// The schema's history; the last step's version is the current version.
    package static let migrations: [SchemaMigration] = [
        SchemaMigration(version: 1, statements: version1),
        SchemaMigration(version: 2, statements: version2),
        SchemaMigration(version: 3, statements: version3),
        SchemaMigration(version: 4, statements: version4),
        SchemaMigration(version: 5, statements: version5),
    ]

    /// The current schema version, kept in `PRAGMA user_version`.
    package static var currentVersion: Int32 { migrations.last?.version ?? 0 }

    /// Version 1: the journal, its transfers in queryable columns, snapshots.
    //
    // Lists of allowed values are written as `=` comparisons joined by OR, not `IN (...)`: SQLite
    // builds a temporary b-tree for every constant IN list of more than two values, on every row
    // a CHECK evaluates it for, which made inserting a transfer about ten times slower than the
    // insert itself (measured by `fission-compare --suite store`). NULL behaves the same either
    // way (a NULL operand makes both NULL, which a CHECK lets pass).
    package static let version1: [String] = [
        """
        CREATE TABLE journal (
            sequence INTEGER PRIMARY KEY CHECK (sequence > 0),
            idempotency_key ANY NOT NULL UNIQUE CHECK (typeof(idempotency_key) IN ('integer', 'text')),
            payload_digest INTEGER NOT NULL,
            command BLOB NOT NULL,
            outcome BLOB NOT NULL
        ) STRICT
        """,
        """
        CREATE TABLE transfers (
            id INTEGER PRIMARY KEY CHECK (id > 0),
            entry INTEGER NOT NULL REFERENCES journal (sequence),
            kind TEXT NOT NULL CHECK ((kind = 'posted' OR kind = 'pending' OR kind = 'postPending' OR kind = 'voidPending' OR kind = 'reversal')),
            resolves INTEGER REFERENCES transfers (id)
                CHECK ((resolves IS NULL) = (kind IN ('posted', 'pending')) AND (resolves IS NULL OR resolves < id)),
            key_operation TEXT CHECK ((key_operation = 'funding' OR key_operation = 'grant' OR key_operation = 'reversal' OR key_operation = 'withdrawal')),
            key_campaign ANY CHECK ((typeof(key_campaign) = 'integer' OR typeof(key_campaign) = 'text' OR typeof(key_campaign) = 'null')),
            key_rule ANY CHECK ((typeof(key_rule) = 'integer' OR typeof(key_rule) = 'text' OR typeof(key_rule) = 'null')),
            key_beneficiary ANY CHECK ((typeof(key_beneficiary) = 'integer' OR typeof(key_beneficiary) = 'text' OR typeof(key_beneficiary) = 'null')),
            key_source ANY CHECK ((typeof(key_source) = 'integer' OR typeof(key_source) = 'text' OR typeof(key_source) = 'null')),
            key_part INTEGER,
            debit_owner TEXT NOT NULL CHECK ((debit_owner = 'budget' OR debit_owner = 'wallet' OR debit_owner = 'receivable' OR debit_owner = 'outside')),
            debit_owner_id ANY CHECK ((debit_owner = 'outside') = (debit_owner_id IS NULL)),
            credit_owner TEXT NOT NULL CHECK ((credit_owner = 'budget' OR credit_owner = 'wallet' OR credit_owner = 'receivable' OR credit_owner = 'outside')),
            credit_owner_id ANY CHECK ((credit_owner = 'outside') = (credit_owner_id IS NULL)),
            unit TEXT NOT NULL
                CHECK ((unit = 'money' OR unit = 'points' OR unit = 'coupon' OR unit = 'gift' OR unit = 'virtualGood' OR unit = 'cardDraw' OR unit = 'lotteryDraw')),
            unit_currency TEXT CHECK ((unit = 'money') = (unit_currency IS NOT NULL)),
            unit_minor_digits INTEGER CHECK ((unit = 'money') = (unit_minor_digits IS NOT NULL)),
            unit_sku ANY CHECK (((unit = 'coupon' OR unit = 'gift' OR unit = 'virtualGood')) = (unit_sku IS NOT NULL)),
            amount INTEGER NOT NULL CHECK (amount > 0),
            command ANY NOT NULL CHECK (typeof(command) IN ('integer', 'text')),
            rule ANY CHECK ((typeof(rule) = 'integer' OR typeof(rule) = 'text' OR typeof(rule) = 'null')),
            rule_version INTEGER NOT NULL,
            at INTEGER NOT NULL,
            hold_until INTEGER,
            CHECK ((key_operation IS NULL) = (key_campaign IS NULL)),
            CHECK ((key_operation IS NULL) = (key_source IS NULL)),
            CHECK ((key_operation IS NULL) = (key_part IS NULL)),
            CHECK (key_operation IS NOT NULL OR (key_rule IS NULL AND key_beneficiary IS NULL))
        ) STRICT
        """,
        "CREATE INDEX transfers_by_entry ON transfers (entry)",
        // With foreign keys on, inserting a transfer (a possible parent of `resolves`) makes SQLite
        // look for child rows by `resolves` (the triggers make the insert a multi-write statement, so
        // the shortcut for single-row parent inserts does not apply): without this index that is a
        // scan of the whole table per transfer, quadratic in the ledger's size.
        "CREATE INDEX transfers_by_resolves ON transfers (resolves) WHERE resolves IS NOT NULL",
        // A reward's identity is granted at most once. NULL parts of a key become an empty BLOB,
        // which no identifier (an INTEGER or a TEXT) can equal, so two keys without a rule collide.
        """
        CREATE UNIQUE INDEX transfers_key_unique ON transfers (
            key_operation, key_campaign, ifnull(key_rule, x''), ifnull(key_beneficiary, x''), key_source, key_part
        ) WHERE key_operation IS NOT NULL
        """,
        // A pending transfer is posted at most once.
        "CREATE UNIQUE INDEX transfers_one_posting ON transfers (resolves) WHERE kind = 'postPending'",
        """
        CREATE TABLE snapshots (
            sequence INTEGER PRIMARY KEY CHECK (sequence >= 0),
            state BLOB NOT NULL
        ) STRICT
        """,
        // Sequences and transfer ids run on without gaps, whoever inserts.
        """
        CREATE TRIGGER journal_contiguous BEFORE INSERT ON journal
        WHEN NEW.sequence IS NOT (SELECT ifnull(max(sequence), 0) + 1 FROM journal)
        BEGIN SELECT RAISE(ABORT, 'journal sequences run on from the last entry without gaps'); END
        """,
        """
        CREATE TRIGGER transfers_contiguous BEFORE INSERT ON transfers
        WHEN NEW.id IS NOT (SELECT ifnull(max(id), 0) + 1 FROM transfers)
        BEGIN SELECT RAISE(ABORT, 'transfer ids run on from the last transfer without gaps'); END
        """,
        // The journal and the ledger are append-only.
        """
        CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
        BEGIN SELECT RAISE(ABORT, 'journal entries are never changed'); END
        """,
        """
        CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
        BEGIN SELECT RAISE(ABORT, 'journal entries are never removed'); END
        """,
        """
        CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers
        BEGIN SELECT RAISE(ABORT, 'transfers are never changed'); END
        """,
        """
        CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers
        BEGIN SELECT RAISE(ABORT, 'transfers are never removed'); END
        """,
    ]

    /// Version 2: the transfer-key index leads with the source event and the part.
    //
    // Version 1 led with the operation, the campaign, the rule and the beneficiary, so one batch's
    // keys (one source event each, beneficiaries all over the member table) landed on pages all
    // over the index: every commit rewrote most of its pages, and with 200,000 entries stored an
    // append took about four times the CPU it takes with this order (Benchmarks/Tools/sqlite-cost,
    // Documentation/Storage.md). Events arrive roughly in order, so keys led by their source land
    // together near the end. The columns are the same, so the index refuses exactly the same keys;
    // a version-1 store satisfies it already, so rebuilding it cannot fail.
    package static let version2: [String] = [
        "DROP INDEX transfers_key_unique",
        """
        CREATE UNIQUE INDEX transfers_key_unique ON transfers (
            key_source, key_part, key_operation, key_campaign, ifnull(key_rule, x''), ifnull(key_beneficiary, x'')
        ) WHERE key_operation IS NOT NULL
        """,
    ]

    /// Version 3: an insert that would replace a stored entry or transfer is refused.
    //
    // `INSERT OR REPLACE` (or `REPLACE`) resolves a UNIQUE conflict by deleting the stored row, and
    // that delete fires no DELETE trigger unless the connection turned `recursive_triggers` on. A
    // host's connection could so remove a journal entry (a new sequence with a stored idempotency
    // key) or a granted transfer (a new id with a stored transfer key, or a second posting of a
    // pending one). These triggers refuse such an insert before any conflict is resolved, with the
    // same comparisons as the unique indexes (a NULL key part never conflicts). Like the other
    // triggers they are off on the store's own connection, whose statements are plain INSERTs.
    package static let version3: [String] = [
        """
        CREATE TRIGGER journal_key_once BEFORE INSERT ON journal
        WHEN EXISTS (SELECT 1 FROM journal WHERE idempotency_key = NEW.idempotency_key)
        BEGIN SELECT RAISE(ABORT, 'an idempotency key is used once'); END
        """,
        """
        CREATE TRIGGER transfers_key_once BEFORE INSERT ON transfers
        WHEN (NEW.key_operation IS NOT NULL AND EXISTS (
                SELECT 1 FROM transfers WHERE key_operation IS NOT NULL
                AND key_source = NEW.key_source AND key_part = NEW.key_part
                AND key_operation = NEW.key_operation AND key_campaign = NEW.key_campaign
                AND ifnull(key_rule, x'') = ifnull(NEW.key_rule, x'')
                AND ifnull(key_beneficiary, x'') = ifnull(NEW.key_beneficiary, x'')))
            OR (NEW.kind = 'postPending' AND EXISTS (
                SELECT 1 FROM transfers WHERE kind = 'postPending' AND resolves = NEW.resolves))
        BEGIN SELECT RAISE(ABORT, 'a transfer key is granted once and a pending transfer posted once'); END
        """,
    ]

    /// Version 4: a snapshot is kept in parts, so it may be bigger than one SQLite value, and a
    /// host's insert cannot add a transfer to an earlier entry.
    //
    // SQLite stores at most `SQLITE_MAX_LENGTH` bytes in a value (1,000,000,000 in its standard
    // build), and an engine snapshot grows with the members (273 MB at 1M): `snapshots.state`
    // keeps the first part, `snapshot_parts` the rest, numbered from 1. A version-3 snapshot is a
    // snapshot of one part. The contiguity trigger checked a new transfer's id but not its entry,
    // so a host's connection could file a transfer under an entry appended long before; the store
    // reads an entry's transfers as a run of ids, and such a row changed what that entry read back
    // as. Like the other triggers it is off on the store's own connection (which inserts a batch's
    // entries before their transfers).
    package static let version4: [String] = [
        // How many parts follow the first: a missing last part then reads as damage, not as a
        // shorter snapshot. A version-3 snapshot has none.
        "ALTER TABLE snapshots ADD COLUMN parts INTEGER NOT NULL DEFAULT 0 CHECK (parts >= 0)",
        """
        CREATE TRIGGER transfers_of_last_entry BEFORE INSERT ON transfers
        WHEN NEW.entry IS NOT (SELECT max(sequence) FROM journal)
        BEGIN SELECT RAISE(ABORT, 'a transfer belongs to the last journal entry'); END
        """,
        """
        CREATE TABLE snapshot_parts (
            sequence INTEGER NOT NULL REFERENCES snapshots (sequence),
            part INTEGER NOT NULL CHECK (part >= 1),
            bytes BLOB NOT NULL,
            PRIMARY KEY (sequence, part)
        ) STRICT, WITHOUT ROWID
        """,
    ]

    /// Version 5 (2026-12-06, session 15): withdrawals and debt write-offs are posted transfers
    /// without a key (Decision 0031), so the key index does not cover them. One command makes at
    /// most one of them into each kind of account: a withdrawal's repayment (into a receivable)
    /// and its payout (to outside), or a write-off (into a receivable). This index makes a second
    /// payout or write-off under one command impossible in the database too, whatever the writer.
    package static let version5: [String] = [
        """
        CREATE UNIQUE INDEX transfers_member_move_once ON transfers (command, credit_owner)
        WHERE kind = 'posted' AND key_operation IS NULL
        """
    ]

    /// The most bytes of a snapshot in one value: 64 MiB.
    package static let snapshotPartBytes = 64 << 20

    /// The tables a current store has.
    package static let tables = ["journal", "transfers", "snapshots", "snapshot_parts"]

    // MARK: - Statements, each prepared once per connection

    static let beginWrite = "BEGIN IMMEDIATE"
    static let beginRead = "BEGIN DEFERRED"
    static let commit = "COMMIT"
    static let rollback = "ROLLBACK"
    static let lastSequence = "SELECT ifnull(max(sequence), 0) FROM journal"
    static let lastTransfer = "SELECT ifnull(max(id), 0) FROM transfers"
    /// Rows one multi-row INSERT writes. One statement per row runs SQLite's per-statement work
    /// (opening a cursor on the table and each index, ending the statement) for every row; in
    /// statements of 32 rows a batch of 1,000 entries took about a quarter fewer instructions.
    static let rowsPerInsert = 32
    /// The parameters of one journal row, and of one transfer row.
    static let entryParameters: Int32 = 5
    static let transferParameters: Int32 = 24
    static let entryColumns = "sequence, idempotency_key, payload_digest, command, outcome"
    static let insertEntry = insertEntries(rows: 1)
    static let insertEntryChunk = insertEntries(rows: rowsPerInsert)
    static let transferColumns = """
        id, entry, kind, resolves, key_operation, key_campaign, key_rule, key_beneficiary, key_source, key_part, \
        debit_owner, debit_owner_id, credit_owner, credit_owner_id, unit, unit_currency, unit_minor_digits, unit_sku, \
        amount, command, rule, rule_version, at, hold_until
        """
    static let insertTransfer = insertTransfers(rows: 1)
    static let insertTransferChunk = insertTransfers(rows: rowsPerInsert)
    static let entryForKey = "SELECT \(entryColumns) FROM journal WHERE idempotency_key = ?1"
    static let entriesAfter = """
        SELECT \(entryColumns) FROM journal WHERE sequence > ?1 ORDER BY sequence LIMIT ?2
        """
    static let transfersOfEntries = """
        SELECT \(transferColumns) FROM transfers WHERE entry BETWEEN ?1 AND ?2 ORDER BY id
        """
    static let latestSnapshotSequence = "SELECT max(sequence) FROM snapshots"
    /// The latest snapshot's sequence, its first part, how many parts follow it as saved and as
    /// stored, and their length.
    static let latestSnapshot = """
        SELECT sequence, state, parts,
            (SELECT count(*) FROM snapshot_parts WHERE snapshot_parts.sequence = snapshots.sequence),
            (SELECT ifnull(sum(length(bytes)), 0) FROM snapshot_parts WHERE snapshot_parts.sequence = snapshots.sequence)
        FROM snapshots ORDER BY sequence DESC LIMIT 1
        """
    static let snapshotParts = "SELECT part, bytes FROM snapshot_parts WHERE sequence = ?1 ORDER BY part"
    static let insertSnapshot = "INSERT INTO snapshots (sequence, state, parts) VALUES (?1, ?2, ?3)"
    static let insertSnapshotPart = "INSERT INTO snapshot_parts (sequence, part, bytes) VALUES (?1, ?2, ?3)"
    // Only the latest snapshot is worth keeping: it can be large, and replay starts from it.
    static let pruneSnapshotParts = "DELETE FROM snapshot_parts WHERE sequence <= ?1"
    static let pruneSnapshots = "DELETE FROM snapshots WHERE sequence <= ?1"

    /// Every statement the store runs after opening, for the test that reads them.
    package static let runtimeStatements: [String] = [
        beginWrite, commit, rollback, lastSequence, lastTransfer, insertEntry, insertEntryChunk, insertTransfer,
        insertTransferChunk, entryForKey, entriesAfter, transfersOfEntries, latestSnapshotSequence, latestSnapshot,
        snapshotParts,
        insertSnapshot, insertSnapshotPart, pruneSnapshotParts, pruneSnapshots,
    ]

    /// `INSERT INTO journal` of `rows` rows: row `r` binds parameters `5r + 1 ... 5r + 5`.
    static func insertEntries(rows: Int) -> String {
        "INSERT INTO journal (\(entryColumns)) VALUES " + values(rows: rows, parameters: entryParameters)
    }

    /// `INSERT INTO transfers` of `rows` rows: row `r` binds parameters `24r + 1 ... 24r + 24`, in
    /// the order of ``transferColumns``.
    static func insertTransfers(rows: Int) -> String {
        "INSERT INTO transfers (\(transferColumns)) VALUES " + values(rows: rows, parameters: transferParameters)
    }

    /// `(?1, ?2), (?3, ?4)` for two rows of two parameters.
    private static func values(rows: Int, parameters: Int32) -> String {
        (0..<Int32(rows)).map { row in
            "(" + (1...parameters).map { "?\(row * parameters + $0)" }.joined(separator: ", ") + ")"
        }.joined(separator: ", ")
    }
}
