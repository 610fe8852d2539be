@_spi(FissionCoding) import FissionCore
import FissionStorage
import Testing

@_spi(FissionCoding) @testable import FissionRewards

/// A journal entry keeps its transfers in binary form: they read back as they were given, equal
/// entries are equal whichever way their transfers were written, and the in-memory store, which
/// checks transfer keys on those bytes, tells apart keys whose bytes only differ in which part
/// an identifier fills.
@Suite("Journal entries' transfers as bytes")
struct JournalEntryBytesTests {
    static let unit = LedgerUnit.money(.cny)

    /// A ledger with a funding, then one posted grant per key in `keys`, each of 5.
    static func ledger(grants keys: [TransferKey]) throws -> Ledger {
        var ledger = Ledger()
        try ledger.transfer(
            key: TransferKey(.funding, campaign: 1, source: "fund"),
            debit: .outside(Self.unit),
            credit: .budget(1, Self.unit),
            amount: 1_000,
            reason: TransferReason(command: "fund"),
            at: .earliest
        )
        for (index, key) in keys.enumerated() {
            try ledger.transfer(
                key: key,
                debit: .budget(1, Self.unit),
                credit: .wallet(MemberID(Int64(index)), Self.unit),
                amount: 5,
                reason: TransferReason(command: key.source),
                at: .earliest
            )
        }
        return ledger
    }

    static func entry(_ sequence: Int64, key: EventID, transfers: [Transfer]) -> JournalEntry {
        JournalEntry(
            sequence: sequence,
            idempotencyKey: key,
            payloadDigest: 1,
            command: [1],
            outcome: [2],
            transfers: transfers
        )
    }

    @Test func transfersReadBackAndEntriesCompareByThem() throws {
        let ledger = try Self.ledger(grants: [
            TransferKey(.grant, campaign: 1, rule: "r", beneficiary: "m", source: "order-1", part: 1),
            TransferKey(.grant, campaign: 1, rule: 2, beneficiary: 3, source: 4, part: 2),
        ])
        let transfers = ledger.transfers(limit: 10)
        let entry = Self.entry(1, key: "a", transfers: transfers)
        #expect(entry.transfers == transfers)
        #expect(entry.transferCount == 3)
        // The engine's way: the command and the outcome, each after its count, then the ledger
        // writes the transfers' bytes from its records, all into one body.
        var writer = ByteWriter(capacity: 64)
        writer.append(UInt32(1))
        writer.append(UInt8(1))
        writer.append(UInt32(1))
        writer.append(UInt8(2))
        ledger.encodeTransfers(after: 0, into: &writer)
        let fromLedger = JournalEntry(sequence: 1, idempotencyKey: "a", payloadDigest: 1, body: writer.finish())
        #expect(fromLedger.command == [1])
        #expect(fromLedger.outcome == [2])
        #expect(fromLedger == entry)
        #expect(fromLedger.hashValue == entry.hashValue)
        #expect(fromLedger.transfers == transfers)
        #expect(Self.entry(1, key: "a", transfers: Array(transfers.dropLast())) != entry)
        #expect(Self.entry(1, key: "a", transfers: []).transfers.isEmpty)
    }

    @Test func commandAndOutcomeReadBackWhateverTheirLengths() throws {
        let transfers = try Self.ledger(grants: []).transfers(limit: 1)
        let store = InMemoryStore()
        var written: [JournalEntry] = []
        let cases: [([UInt8], [UInt8])] = [
            ([], []), ([7], []), ([], [8]), (Array(0...255), Array(repeating: 9, count: 70_000)),
        ]
        for (index, (command, outcome)) in cases.enumerated() {
            let entry = JournalEntry(
                sequence: Int64(index) + 1,
                idempotencyKey: EventID(Int64(index)),
                payloadDigest: UInt64(index),
                command: command,
                outcome: outcome,
                transfers: index == 3 ? transfers : []
            )
            #expect(entry.command == command)
            #expect(entry.outcome == outcome)
            #expect(entry.transfers == (index == 3 ? transfers : []))
            written.append(entry)
        }
        // The command's bytes and the outcome's are told apart by their counts, not their sum.
        #expect(written[1] != written[2])
        try store.append(written, expectingLastSequence: 0)
        #expect(try store.entries(after: 0, limit: 10) == written)
    }

    @Test func anyTransferAHostBuildsReadsBack() throws {
        // Values no ledger makes (a host can decode any transfer from JSON): an amount of 0, a
        // hold past the accepted range, a credit in another unit.
        let base = try Self.ledger(grants: []).transfers(limit: 1)[0]
        let odd = Transfer(
            id: base.id,
            key: base.key,
            kind: .pending,
            debit: base.debit,
            credit: .wallet(3, .points),
            amount: 0,
            reason: base.reason,
            at: base.at,
            holdUntil: Timestamp(unchecked: Timestamp.latest.millisecondsSinceEpoch + 1)
        )
        let entry = Self.entry(1, key: "a", transfers: [odd])
        #expect(entry.transfers == [odd])
        #expect(entry != Self.entry(1, key: "a", transfers: [base]))
    }

    @Test func theStoreTellsApartKeysWithTheSameBytes() throws {
        // The identifier 5 as the rule, then as the beneficiary: the same bytes in each key.
        let asRule = TransferKey(.grant, campaign: 1, rule: 5, source: 9)
        let asBeneficiary = TransferKey(.grant, campaign: 1, beneficiary: 5, source: 9)
        let other = TransferKey(.grant, campaign: 1, rule: 6, source: 9)
        let transfers = try Self.ledger(grants: [asRule, asBeneficiary, other]).transfers(limit: 10)
        // Across appends: the second key is checked against the stored first one.
        let store = InMemoryStore()
        try store.append([Self.entry(1, key: "a", transfers: Array(transfers[0...1]))], expectingLastSequence: 0)
        try store.append([Self.entry(2, key: "b", transfers: [transfers[2]])], expectingLastSequence: 1)
        #expect(store.lastSequence() == 2)
        // Within one batch, on a fresh store.
        let fresh = InMemoryStore()
        try fresh.append(
            [
                Self.entry(1, key: "a", transfers: Array(transfers[0...1])),
                Self.entry(2, key: "b", transfers: [transfers[2]]),
            ],
            expectingLastSequence: 0
        )
        #expect(try fresh.entries(after: 0, limit: 10).flatMap(\.transfers) == Array(transfers[0...2]))
        // The first key again, on the next transfer, is refused: the bytes and the bits agree.
        let original = transfers[3]
        let repeated = Transfer(
            id: original.id,
            key: asRule,
            kind: original.kind,
            debit: original.debit,
            credit: original.credit,
            amount: original.amount,
            reason: original.reason,
            at: original.at,
            holdUntil: original.holdUntil
        )
        #expect(throws: FissionError(code: .duplicateTransfer, reason: "")) {
            try store.append([Self.entry(3, key: "c", transfers: [repeated])], expectingLastSequence: 2)
        }
        #expect(store.lastSequence() == 2)
    }
}
