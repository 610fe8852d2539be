@_spi(FissionCoding) import FissionCore
import Testing

@_spi(FissionCoding) @testable import FissionRewards

/// The binary form of a transfer (`ByteWriter.append(transfer:)`), which the in-memory store keeps
/// its journal's transfers in: every shape a ledger makes reads back equal, and damaged bytes are
/// an error, never a different transfer or a crash.
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

    @Test func everyShapeReadsBackEqual() throws {
        let transfers = Self.transfers
        // Each shape actually differs from the others, so equality below is not trivially met.
        #expect(Set(transfers).count == transfers.count)
        var reader = ByteReader(bytes: Self.encoded(transfers))
        for transfer in transfers {
            #expect(try reader.readTransfer(corrupt: Self.corrupt) == transfer)
        }
        #expect(reader.isAtEnd)
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
        var reader = ByteReader(bytes: Self.encoded(transfers))
        for transfer in transfers {
            #expect(try reader.readTransfer(corrupt: Self.corrupt) == transfer)
        }
        #expect(reader.isAtEnd)
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

    @Test func aTransferThatIsNotPositiveIsRefused() throws {
        let transfer = Self.funding
        var bytes = Self.encoded([transfer])
        // The amount is the 8 bytes before the reason's command (tag and integer), rule version
        // and time: 9 + 4 + 8 = 21 bytes from the end, since this transfer has no rule in its reason
        // and no hold.
        let amount = bytes.count - 21 - 8
        #expect(bytes[amount..<amount + 8].elementsEqual(withUnsafeBytes(of: transfer.amount.littleEndian, Array.init)))
        for position in amount..<amount + 8 { bytes[position] = 0 }
        var reader = ByteReader(bytes: bytes)
        #expect(throws: FissionError(code: .corruptSnapshot, reason: "transfer #2: amount 0")) {
            try reader.readTransfer(corrupt: Self.corrupt)
        }
    }
}
