import CSQLite

/// The SQLite peer: an in-memory database with the usual adjacency table, an index on the parent
/// column, and recursive CTEs, through the C API with statements prepared once.
final class SQLiteForest {
    private var database: OpaquePointer?
    private var ancestors: OpaquePointer?
    private var downline: OpaquePointer?

    init(parents: [Int32]) {
        guard sqlite3_open(":memory:", &self.database) == SQLITE_OK else { fatalError("sqlite3_open failed") }
        self.execute("CREATE TABLE member(id INTEGER PRIMARY KEY, parent INTEGER)")
        self.execute("BEGIN")
        var insert: OpaquePointer?
        self.prepare("INSERT INTO member(id, parent) VALUES (?1, ?2)", &insert)
        for (member, parent) in parents.enumerated() {
            sqlite3_bind_int64(insert, 1, Int64(member))
            if parent < 0 { sqlite3_bind_null(insert, 2) } else { sqlite3_bind_int64(insert, 2, Int64(parent)) }
            guard sqlite3_step(insert) == SQLITE_DONE else { fatalError("insert failed") }
            sqlite3_reset(insert)
        }
        sqlite3_finalize(insert)
        self.execute("COMMIT")
        self.execute("CREATE INDEX member_parent ON member(parent)")
        self.prepare(
            """
            WITH RECURSIVE up(id, depth) AS (
                SELECT parent, 1 FROM member WHERE id = ?1
                UNION ALL
                SELECT member.parent, up.depth + 1 FROM member JOIN up ON member.id = up.id WHERE up.depth < ?2
            )
            SELECT id FROM up WHERE id IS NOT NULL
            """,
            &self.ancestors
        )
        self.prepare(
            """
            WITH RECURSIVE down(id, depth) AS (
                SELECT id, 1 FROM member WHERE parent = ?1
                UNION ALL
                SELECT member.id, down.depth + 1 FROM member JOIN down ON member.parent = down.id
                WHERE down.depth < ?2
            )
            SELECT id, depth FROM down
            """,
            &self.downline
        )
    }

    deinit {
        sqlite3_finalize(self.ancestors)
        sqlite3_finalize(self.downline)
        sqlite3_close(self.database)
    }

    /// The sum of the member's ancestor ids up to `levels` levels.
    func ancestorSum(of member: Int32, levels: Int) -> Int {
        sqlite3_bind_int64(self.ancestors, 1, Int64(member))
        sqlite3_bind_int64(self.ancestors, 2, Int64(levels))
        var sum = 0
        while sqlite3_step(self.ancestors) == SQLITE_ROW {
            sum &+= Int(sqlite3_column_int64(self.ancestors, 0))
        }
        sqlite3_reset(self.ancestors)
        return sum
    }

    /// The number of members up to `levels` levels below `member`.
    func downlineCount(of member: Int32, levels: Int) -> Int {
        sqlite3_bind_int64(self.downline, 1, Int64(member))
        sqlite3_bind_int64(self.downline, 2, Int64(levels))
        var count = 0
        while sqlite3_step(self.downline) == SQLITE_ROW {
            count += 1
        }
        sqlite3_reset(self.downline)
        return count
    }

    private func execute(_ sql: String) {
        guard sqlite3_exec(self.database, sql, nil, nil, nil) == SQLITE_OK else { fatalError("failed: \(sql)") }
    }

    private func prepare(_ sql: String, _ statement: inout OpaquePointer?) {
        guard sqlite3_prepare_v2(self.database, sql, -1, &statement, nil) == SQLITE_OK else {
            fatalError("prepare failed: \(String(cString: sqlite3_errmsg(self.database)))")
        }
    }
}
