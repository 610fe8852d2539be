import FissionCore
import FissionRewards
import FissionSQLite
import FissionStorage
import FissionStorageTesting
import Foundation
import Testing

/// Schema version 5: withdrawals and debt write-offs have no transfer key, so a partial unique
/// index keeps one command from paying out (or writing off) twice in the database itself.
@Suite("SQLiteStore schema version 5: one withdrawal or write-off per command")
struct SQLiteSchemaVersion5Tests {
    @Test("a version-4 store with withdrawals migrates to version 5 and reads back the same")
    func migratesVersion4() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("version4.sqlite")
        let journal = DeterministicJournal.entries(seed: 21, through: 120)
        #expect(journal.flatMap(\.transfers).contains { $0.key == nil && $0.kind == .posted })
        do {
            let store = try SQLiteStore(
                path: path,
                options: .init(),
                migrations: Array(SQLiteSchema.migrations.prefix(4))
            )
            try store.append(Array(journal.prefix(80)), expectingLastSequence: 0)
            store.close()
        }
        #expect(RawDatabase(path).scalar("PRAGMA user_version") == "4")
        let store = try SQLiteStore(path: path)
        #expect(try store.query("PRAGMA user_version") == ["5"])
        #expect(
            try store.query("SELECT count(*) FROM sqlite_schema WHERE name = 'transfers_member_move_once'") == ["1"]
        )
        #expect(try store.entries(after: 0, limit: 200) == Array(journal.prefix(80)))
        try store.append(Array(journal.dropFirst(80)), expectingLastSequence: 80)
        #expect(try store.entries(after: 0, limit: 200) == journal)
    }

    @Test("a second payout under one command is refused by the database, and nothing is written")
    func aSecondPayoutUnderOneCommandIsRefused() throws {
        let unit = LedgerUnit.money(.cny)
        let at = try Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
        var settlement = Settlement()
        try settlement.addCampaign(
            RewardCampaign(
                id: "c",
                startsAt: at,
                endsAt: try at.adding(days: 30),
                offset: .utc,
                currency: .cny,
                rules: [try RewardRule(id: "invite", shape: .inviteFixed(RewardAmount(3_000, unit)))]
            )
        )
        try settlement.fund("c", amount: try RewardAmount(100_000, unit), id: "fund", at: at)
        try settlement.settle(.memberRegistered(member: "bob", inviter: "alice", at: at), id: "reg", campaign: "c")
        try settlement.withdraw(try RewardAmount(1_000, unit), from: "alice", id: "w1", at: at)
        try settlement.withdraw(try RewardAmount(500, unit), from: "alice", id: "w2", at: at)
        let transfers = settlement.ledger.transfers(limit: 10)
        #expect(transfers.count == 4)
        // The second payout, forged to name the first one's command.
        let encoder = JSONEncoder()
        var forged = try #require(
            try JSONSerialization.jsonObject(with: encoder.encode(transfers[3])) as? [String: Any]
        )
        let first = try #require(try JSONSerialization.jsonObject(with: encoder.encode(transfers[2])) as? [String: Any])
        forged["reason"] = first["reason"]
        let twin = try JSONDecoder().decode(Transfer.self, from: JSONSerialization.data(withJSONObject: forged))
        #expect(twin.reason.command == "w1" && twin.id == transfers[3].id)

        func entry(_ sequence: Int64, _ key: EventID, _ transfers: [Transfer]) -> JournalEntry {
            JournalEntry(
                sequence: sequence,
                idempotencyKey: key,
                payloadDigest: UInt64(sequence),
                command: [1],
                outcome: [],
                transfers: transfers
            )
        }
        let directory = TemporaryDirectory()
        let store = try SQLiteStore(path: directory.file("twice.sqlite"))
        try store.append(
            [entry(1, "fund-and-reg", Array(transfers[0...1])), entry(2, "w1", [transfers[2]])],
            expectingLastSequence: 0
        )
        let error = #expect(throws: FissionError.self) {
            try store.append([entry(3, "w2", [twin])], expectingLastSequence: 2)
        }
        #expect(error?.code == .duplicateTransfer, "\(String(describing: error))")
        #expect(try store.lastSequence() == 2)
        // The real second payout, under its own command, is stored.
        try store.append([entry(3, "w2", [transfers[3]])], expectingLastSequence: 2)
        #expect(try store.entries(after: 2, limit: 10).first?.transfers == [transfers[3]])
    }
}
