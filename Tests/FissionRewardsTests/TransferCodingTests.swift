@_spi(FissionCoding) import FissionCore
import Testing

@_spi(FissionCoding) @testable import FissionRewards

/// The binary form of a transfer (`ByteWriter.append(transfer:)`), which journal entries keep
/// their transfers in: every transfer reads back equal, including values no ledger makes, and
/// damaged structure is an error, never a different transfer or a crash.
@Suite("Transfer byte coding")
struct TransferCodingTests {
    static let at = try! Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
    static let stringCampaign: CampaignID = "spring-sale"
    static let stringMember: MemberID = "member-7"
    static let stringEvent: EventID = "order-42:paid"
    static let stringSKU: SKUID = "tea-gift-box"

    /// Every kind, every owner, every unit, keys with and without their optional parts, string
    /// and integer identifiers, with and without a hold.
    static var transfers: [Transfer] {
        let units: [LedgerUnit] = [
            .money(.cny), .money(try! Currency(code: "JPY", minorUnitDigits: 0)), .points, .coupon(Self.stringSKU),
            .gift(9), .virtualGood(Self.stringSKU), .cardDraw, .lotteryDraw,
        ]
        let owners: [(AccountOwner, AccountOwner)] = [
            (.outside, .budget(Self.stringCampaign)), (.budget(1), .wallet(Self.stringMember)),
            (.wallet(7), .receivable(7)), (.receivable(Self.stringMember), .outside),
        ]
        let kinds: [TransferKind] = [
            .posted, .pending, .postPending(TransferID(rawValue: 3)), .voidPending(TransferID(rawValue: Int64.max)),
            .reversal(TransferID(rawValue: 1)),
        ]
        let keys: [TransferKey?] = [
            nil,
            TransferKey(.funding, campaign: 1, source: 5),
            TransferKey(
                .grant,
                campaign: Self.stringCampaign,
                rule: 2,
                beneficiary: 7,
                source: Self.stringEvent,
                part: 2
            ),
            TransferKey(.reversal, campaign: 1, rule: "ladder", source: 8, part: -1),
            TransferKey(.withdrawal, campaign: 1, beneficiary: Self.stringMember, source: 9, part: Int32.max),
        ]
        var transfers: [Transfer] = []
        for (index, kind) in kinds.enumerated() {
            for (keyIndex, key) in keys.enumerated() {
                let unit = units[(index + keyIndex) % units.count]
                let (debit, credit) = owners[(index * 3 + keyIndex) % owners.count]
                transfers.append(
                    Transfer(
                        id: TransferID(rawValue: Int64(transfers.count + 1)),
                        key: key,
                        kind: kind,
                        debit: AccountKey(debit, unit),
                        credit: AccountKey(credit, unit),
                        amount: keyIndex == 0 ? Int64.max : Int64(1 + index * 100 + keyIndex),
                        reason: TransferReason(
                            command: keyIndex.isMultiple(of: 2) ? Self.stringEvent : 11,
                            rule: keyIndex == 3 ? nil : 2,
                            ruleVersion: Int32(keyIndex)
                        ),
                        at: keyIndex == 1 ? .earliest : Self.at,
                        holdUntil: index.isMultiple(of: 2) ? (keyIndex == 2 ? .latest : Self.at) : nil
                    )
                )
            }
        }
        return transfers
    }

    /// A posted funding with integer ids, no rule and no hold: its byte offsets are counted in
    /// the tests that damage it.
    static let funding = Transfer(
        id: TransferID(rawValue: 2),
        key: TransferKey(.funding, campaign: 1, source: 5),
        kind: .posted,
        debit: .outside(.money(.cny)),
        credit: .budget(1, .money(.cny)),
        amount: 500,
        reason: TransferReason(command: 11),
        at: Self.at,
        holdUntil: nil
    )

    static func encoded(_ transfers: [Transfer]) -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        for transfer in transfers { writer.append(transfer: transfer) }
        return writer.finish()
    }

    static func corrupt(_ reason: String) -> FissionError {
        FissionError(code: .corruptSnapshot, reason: reason)
    }

    static func kindName(_ kind: TransferKind) -> String {
        switch kind {
        case .posted: "posted"
        case .pending: "pending"
        case .postPending: "postPending"
        case .voidPending: "voidPending"
        case .reversal: "reversal"
        }
    }

    /// Encodes `transfers` one after another and expects each to read back equal, and nothing
    /// after them.
    static func expectReadBackEqual(_ transfers: [Transfer]) throws {
        var reader = ByteReader(bytes: Self.encoded(transfers))
        for transfer in transfers {
            #expect(try reader.readTransfer(corrupt: Self.corrupt) == transfer)
        }
        #expect(reader.isAtEnd)
    }

    @Test func everyShapeReadsBackEqual() throws {
        let transfers = Self.transfers
        // Each shape actually differs from the others, so equality below is not trivially met.
        #expect(Set(transfers).count == transfers.count)
        try Self.expectReadBackEqual(transfers)
    }

    @Test func aLedgersOwnTransfersReadBackEqual() throws {
        // What a ledger makes, rather than values built by hand: a funding, a held grant, its
        // posting and a reversal.
        var ledger = Ledger()
        let unit = LedgerUnit.money(.cny)
        try ledger.transfer(
            key: TransferKey(.funding, campaign: 1, source: 1),
            debit: .outside(unit),
            credit: .budget(1, unit),
            amount: 1_000,
            reason: TransferReason(command: 1),
            at: Self.at
        )
        let pending = try ledger.transfer(
            key: TransferKey(.grant, campaign: 1, rule: 1, beneficiary: Self.stringMember, source: 2, part: 1),
            debit: .budget(1, unit),
            credit: .wallet(Self.stringMember, unit),
            amount: 100,
            holdUntil: try Self.at.adding(days: 7),
            reason: TransferReason(command: 2, rule: 1, ruleVersion: 3),
            at: Self.at
        )
        try ledger.post(
            try #require(pending.first),
            reason: TransferReason(command: 3),
            at: try Self.at.adding(days: 8)
        )
        let transfers = ledger.transfers(after: nil, limit: 10)
        #expect(transfers.count == 3)
        try Self.expectReadBackEqual(transfers)
    }

    @Test func everyTruncationThrows() throws {
        let transfer = try #require(Self.transfers.first { $0.key?.rule != nil && $0.holdUntil != nil })
        let bytes = Self.encoded([transfer])
        for length in 0..<bytes.count {
            var reader = ByteReader(bytes: Array(bytes[0..<length]))
            #expect(throws: FissionError.self) { try reader.readTransfer(corrupt: Self.corrupt) }
        }
    }

    @Test func impossibleValuesAreTheCallersError() throws {
        let bytes = Self.encoded([Self.funding])
        let flags = 8  // the byte after the id
        func reading(_ change: (inout [UInt8]) -> Void) -> FissionError? {
            var damaged = bytes
            change(&damaged)
            var reader = ByteReader(bytes: damaged)
            do {
                _ = try reader.readTransfer(corrupt: Self.corrupt)
                return nil
            } catch {
                return error
            }
        }
        for kind: UInt8 in 5...7 {
            let error = reading { $0[flags] = $0[flags] & ~0b111 | kind }
            #expect(error?.code == .corruptSnapshot)
            #expect(error?.reason.contains("kind \(kind)") == true)
        }
        // The key's operation follows the flags (a posted transfer resolves nothing).
        let operation = reading { $0[flags + 1] = 9 }
        #expect(operation?.code == .corruptSnapshot)
        #expect(operation?.reason.contains("operation 9") == true)
        // The debit owner's tag follows the key: operation, campaign (tag and integer), source
        // (tag and integer), part.
        let owner = reading { $0[flags + 1 + 1 + 9 + 9 + 4] = 4 }
        #expect(owner?.code == .corruptSnapshot)
        #expect(owner?.reason.contains("owner tag 4") == true)
    }

    /// Values no ledger makes, which a host can still build (decoding a transfer from JSON): a
    /// non-positive amount, times past the accepted range, a credit in another unit.
    static var unusual: [Transfer] {
        let beyond = Timestamp(unchecked: Timestamp.latest.millisecondsSinceEpoch + 86_400_000)
        return [
            Self.funding.replacing(amount: 0),
            Self.funding.replacing(amount: Int64.min),
            Self.funding.replacing(at: beyond, holdUntil: Timestamp(unchecked: Int64.max)),
            Self.funding.replacing(at: Timestamp(unchecked: Int64.min)),
            Transfer(
                id: TransferID(rawValue: 9),
                key: nil,
                kind: .posted,
                debit: .outside(.points),
                credit: .wallet(7, .coupon(Self.stringSKU)),
                amount: 3,
                reason: TransferReason(command: 1),
                at: Self.at,
                holdUntil: nil
            ),
        ]
    }

    @Test func valuesNoLedgerMakesReadBackEqual() throws {
        let transfers = Self.unusual
        #expect(Set(transfers).count == transfers.count)
        try Self.expectReadBackEqual(transfers)
        // Another credit unit is not the debit's: the two transfers differ only there.
        let otherUnit = Self.funding.replacing(credit: .budget(1, .points))
        #expect(Self.encoded([Self.funding]) != Self.encoded([otherUnit]))
    }
}

/// The two other readers and writers of the binary form: a ledger writes its transfers straight
/// from its records (the engine's journal), and a store scans them without rebuilding them.
@Suite("Transfer bytes from the ledger, and scanned")
struct TransferBytesTests {
    /// A ledger with every kind a settlement makes: fundings, held grants to integer and string
    /// members, a posting, a void and a reversal, in two units.
    static func ledger() throws -> Ledger {
        var ledger = Ledger()
        let money = LedgerUnit.money(.cny)
        let points = LedgerUnit.points
        let at = TransferCodingTests.at
        for unit in [money, points] {
            try ledger.transfer(
                key: TransferKey(.funding, campaign: "spring", source: unit == money ? 1 : 2),
                debit: .outside(unit),
                credit: .budget("spring", unit),
                amount: 10_000,
                reason: TransferReason(command: unit == money ? 1 : 2),
                at: at
            )
        }
        var held: [TransferID] = []
        for (index, member) in [MemberID(7), "member-8", 9].enumerated() {
            let outcome = try ledger.transfer(
                key: TransferKey(
                    .grant,
                    campaign: "spring",
                    rule: "commission",
                    beneficiary: member,
                    source: "order-1"
                ),
                debit: .budget("spring", money),
                credit: .wallet(member, money),
                amount: Int64(100 + index),
                holdUntil: try at.adding(days: 7),
                reason: TransferReason(command: "order-1", rule: "commission", ruleVersion: 2),
                at: at
            )
            held.append(try #require(outcome.first))
        }
        try ledger.transfer(
            key: TransferKey(.grant, campaign: "spring", beneficiary: 7, source: 3),
            debit: .budget("spring", points),
            credit: .wallet(7, points),
            amount: 5,
            reason: TransferReason(command: 3),
            at: at
        )
        try ledger.post(held[0], reason: TransferReason(command: 4), at: try at.adding(days: 8))
        try ledger.void(held[1], reason: TransferReason(command: 5), at: try at.adding(days: 8))
        try ledger.reverse(
            try #require(ledger.transfers(limit: 20).last { $0.kind == .posted && $0.unit == points }?.id),
            amount: 2,
            key: TransferKey(.reversal, campaign: "spring", beneficiary: 7, source: "refund-1"),
            reason: TransferReason(command: "refund-1"),
            at: try at.adding(days: 9)
        )
        return ledger
    }

    @Test func aLedgerWritesTheBytesItsTransfersEncodeTo() throws {
        let ledger = try Self.ledger()
        let transfers = ledger.transfers(limit: 50)
        #expect(Set(transfers.map { TransferCodingTests.kindName($0.kind) }).count == 5)
        for start in [0, 2, transfers.count - 1, transfers.count] {
            var direct = ByteWriter(capacity: 64)
            ledger.encodeTransfers(after: start, into: &direct)
            var values = ByteWriter(capacity: 64)
            values.append(transfers: Array(transfers[start...]))
            let fromRecords = direct.finish()
            let fromValues = values.finish()
            #expect(fromRecords == fromValues, "from transfer \(start)")
        }
    }

    @Test func aScanFindsWhatReadingFinds() throws {
        let transfers =
            try Self.ledger().transfers(limit: 50) + TransferCodingTests.transfers + TransferCodingTests.unusual
        var writer = ByteWriter(capacity: 64)
        writer.append(transfers: transfers)
        let bytes = writer.finish()
        var shapes: [TransferShape] = []
        try bytes.withUnsafeBytes { raw in
            var offset = 4
            for _ in transfers {
                shapes.append(try TransferShape.scan(raw, at: &offset, corrupt: TransferCodingTests.corrupt))
            }
            #expect(offset == raw.count)
            for index in [0, 3, transfers.count - 1] {
                let one = try TransferShape.scan(
                    raw,
                    transfer: index,
                    ofListAt: 0,
                    corrupt: TransferCodingTests.corrupt
                )
                #expect(one.keyBytes == shapes[index].keyBytes)
            }
        }
        for (shape, transfer) in zip(shapes, transfers) {
            #expect(shape.id == transfer.id)
            #expect((shape.keyFlags != 0) == (transfer.key != nil))
            switch transfer.kind {
            case .postPending(let pending): #expect(shape.postsPending && shape.resolved == pending)
            case .voidPending(let pending), .reversal(let pending):
                #expect(!shape.postsPending && shape.resolved == pending)
            case .posted, .pending: #expect(!shape.postsPending && shape.resolved == nil)
            }
        }
        // Two keys are equal exactly when their presence bits and bytes are.
        for (left, leftShape) in zip(transfers, shapes) {
            for (right, rightShape) in zip(transfers, shapes) {
                let sameBytes =
                    leftShape.keyFlags == rightShape.keyFlags
                    && bytes[leftShape.keyBytes].elementsEqual(bytes[rightShape.keyBytes])
                #expect(sameBytes == (left.key == right.key), "\(left.id) and \(right.id)")
            }
        }
    }

    @Test func keysWithTheSameBytesInAnotherPlaceDiffer() throws {
        // One identifier as the rule in one key and as the beneficiary in the other: the same
        // bytes, told apart by the presence bits.
        let asRule = TransferKey(.grant, campaign: 1, rule: 5, source: 9)
        let asBeneficiary = TransferKey(.grant, campaign: 1, beneficiary: 5, source: 9)
        var writer = ByteWriter(capacity: 64)
        writer.append(transfers: [
            TransferCodingTests.funding.replacing(key: asRule),
            TransferCodingTests.funding.replacing(key: asBeneficiary),
        ])
        let bytes = writer.finish()
        try bytes.withUnsafeBytes { raw in
            var offset = 4
            let first = try TransferShape.scan(raw, at: &offset, corrupt: TransferCodingTests.corrupt)
            let second = try TransferShape.scan(raw, at: &offset, corrupt: TransferCodingTests.corrupt)
            #expect(bytes[first.keyBytes].elementsEqual(bytes[second.keyBytes]))
            #expect(first.keyFlags != second.keyFlags)
        }
    }

    @Test func everyTruncationOfAScanThrows() throws {
        var writer = ByteWriter(capacity: 64)
        writer.append(transfers: [TransferCodingTests.transfers[7]])
        let bytes = writer.finish()
        for length in 4..<bytes.count {
            Array(bytes[0..<length]).withUnsafeBytes { raw in
                var offset = 4
                #expect(throws: FissionError.self) {
                    try TransferShape.scan(raw, at: &offset, corrupt: TransferCodingTests.corrupt)
                }
            }
        }
    }
}

extension Transfer {
    /// This transfer with the given fields changed (a double optional's `nil` keeps the field).
    func replacing(
        key: TransferKey?? = nil,
        credit: AccountKey? = nil,
        amount: Int64? = nil,
        at: Timestamp? = nil,
        holdUntil: Timestamp?? = nil
    ) -> Transfer {
        Transfer(
            id: self.id,
            key: key ?? self.key,
            kind: self.kind,
            debit: self.debit,
            credit: credit ?? self.credit,
            amount: amount ?? self.amount,
            reason: self.reason,
            at: at ?? self.at,
            holdUntil: holdUntil ?? self.holdUntil
        )
    }
}
