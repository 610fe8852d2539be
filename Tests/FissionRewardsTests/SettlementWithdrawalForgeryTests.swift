import FissionCore
import Testing

@testable import FissionRewards

private let campaignID: CampaignID = "payouts"

/// A keyless posted record like a withdrawal's leg.
private func leg(_ like: Ledger.Record, debit: Int32, credit: Int32, amount: Int64, open: Int64 = 0) -> Ledger.Record {
    Ledger.Record(
        debit: debit,
        credit: credit,
        amount: amount,
        kind: .posted,
        related: -1,
        key: .none,
        hasKey: false,
        command: like.command,
        reasonRule: -1,
        ruleVersion: 0,
        at: like.at,
        holdUntil: Ledger.noHold,
        linkedCount: 1,
        open: open,
        resolution: 0
    )
}

/// Snapshots describing withdrawals no settlement makes are refused, and the public ledger does
/// not offer a withdrawal's legs for reversal (from the review of the withdrawal change).
struct SettlementWithdrawalForgeryTests {
    @Test func aWithdrawalLeavesNothingToReverse() throws {
        var settlement = try payoutSettlement(campaignID)
        let withdrawal = try settlement.withdraw(.money(yuan(20)), from: "bob", id: "w1", at: at(days: 2))
        #expect(settlement.ledger.reversibleAmount(of: withdrawal.payout) == 0)
        var ledger = settlement.ledger
        #expect(throws: FissionError(code: .invalidReversal)) {
            try ledger.reverse(
                withdrawal.payout,
                amount: 1,
                key: TransferKey(.reversal, campaign: campaignID, source: "x"),
                reason: TransferReason(command: "x"),
                at: at(days: 3)
            )
        }
    }

    @Test func aReversalOfAPayoutIsRefused() throws {
        var settlement = try payoutSettlement(campaignID)
        let withdrawal = try settlement.withdraw(.money(yuan(30)), from: "bob", id: "w1", at: at(days: 2))
        let payoutIndex = Int(withdrawal.payout.rawValue - 1)
        let payout = settlement.ledger.records[payoutIndex]
        let command = settlement.ledger.events.intern("forged")
        settlement.ledger.records.append(
            Ledger.Record(
                debit: payout.credit,
                credit: payout.debit,
                amount: payout.amount,
                kind: .reversal,
                related: Int32(payoutIndex),
                key: .none,
                hasKey: false,
                command: command,
                reasonRule: -1,
                ruleVersion: 0,
                at: payout.at,
                holdUntil: Ledger.noHold,
                linkedCount: 1,
                open: 0,
                resolution: 0
            )
        )
        // Restored, the ledger would balance (bob's wallet holding the 30 yuan again, to withdraw
        // twice): only the rule that nothing reverses a withdrawal refuses it.
        #expect(throws: FissionError(code: .corruptSnapshot)) { _ = try Settlement(snapshot: settlement.snapshot()) }
    }

    @Test func aRepaymentWithoutADebtIsRefused() throws {
        var settlement = try payoutSettlement(campaignID)
        let withdrawal = try settlement.withdraw(.money(yuan(10)), from: "bob", id: "w1", at: at(days: 2))
        let payout = settlement.ledger.records[Int(withdrawal.payout.rawValue - 1)]
        let receivable = settlement.ledger.openAccount(.receivable("bob", cny))
        settlement.ledger.records.removeLast()
        settlement.ledger.records.append(leg(payout, debit: payout.debit, credit: receivable, amount: 1_000))
        settlement.ledger.records.append(payout)
        #expect(throws: FissionError(code: .corruptSnapshot)) { _ = try Settlement(snapshot: settlement.snapshot()) }
    }

    @Test func aLegThatLeavesSomethingToReverseOrChangesUnitIsRefused() throws {
        var settlement = try payoutSettlement(campaignID)
        try settlement.fund(campaignID, amount: try RewardAmount(1_000, .points), id: "fund-points", at: start)
        let withdrawal = try settlement.withdraw(.money(yuan(10)), from: "bob", id: "w1", at: at(days: 2))
        let index = Int(withdrawal.payout.rawValue - 1)
        let payout = settlement.ledger.records[index]
        #expect(try Settlement(snapshot: settlement.snapshot()) == settlement)

        var reversible = settlement
        reversible.ledger.records[index] = leg(
            payout,
            debit: payout.debit,
            credit: payout.credit,
            amount: 1_000,
            open: 1
        )
        #expect(throws: FissionError(code: .corruptSnapshot)) { _ = try Settlement(snapshot: reversible.snapshot()) }

        var crossUnit = settlement
        let outsidePoints = try #require(settlement.ledger.findAccount(.outside(.points)))
        crossUnit.ledger.records[index] = leg(payout, debit: payout.debit, credit: outsidePoints, amount: 1_000)
        #expect(throws: FissionError(code: .corruptSnapshot)) { _ = try Settlement(snapshot: crossUnit.snapshot()) }
    }

    @Test func rollingBackAWithdrawalForgetsIt() throws {
        // Bob owes 25 yuan and earns 30 more.
        var settlement = try payoutSettlement(campaignID, inDebt: true, earningAgain: true)
        let before = settlement.snapshot()
        let mark = settlement.ledger.mark
        let made = try settlement.withdraw(.money(yuan(5)), from: "bob", id: "w2", at: at(days: 4))
        #expect(made.repaid != nil, "a withdrawal of two legs")
        settlement.ledger.rollBack(to: mark)
        #expect(settlement.snapshot() == before)
        #expect(settlement.withdrawal("w2") == nil)
        #expect(settlement.ledger.audit().isEmpty)
        // The id is free again and pays as before.
        #expect(try settlement.withdraw(.money(yuan(5)), from: "bob", id: "w2", at: at(days: 4)) == made)
    }

    @Test func aForgedWriteOffIsRefused() throws {
        // Bob owes 25 and earns again, so a forged payout below would be covered: only the rules
        // refuse it.
        var settlement = try payoutSettlement(campaignID, inDebt: true, earningAgain: true)
        let writeOff = try settlement.writeOffDebt(.money(yuan(25)), of: "bob", id: "f1", at: at(days: 4))
        #expect(try Settlement(snapshot: settlement.snapshot()) == settlement)
        let index = Int(writeOff.transfer.rawValue - 1)
        let record = settlement.ledger.records[index]

        // Forgiving more than was owed leaves a receivable above zero.
        var tooMuch = settlement
        tooMuch.ledger.records[index] = leg(record, debit: record.debit, credit: record.credit, amount: 2_600)
        #expect(throws: FissionError(code: .corruptSnapshot)) { _ = try Settlement(snapshot: tooMuch.snapshot()) }

        // A payout under the write-off's id, as if it were a withdrawal's second leg.
        var withPayout = settlement
        let wallet = try #require(settlement.ledger.findAccount(.wallet("bob", cny)))
        withPayout.ledger.records.append(leg(record, debit: wallet, credit: record.debit, amount: 1))
        #expect(throws: FissionError(code: .corruptSnapshot)) { _ = try Settlement(snapshot: withPayout.snapshot()) }
    }

    /// Totals past `Int64.max`: restoring refused them as wrapped balances only when something
    /// later read them, and then the process stopped (found by review).
    @Test func balancesPastInt64MaxAreRefused() throws {
        // Two fundings of Int64.max into one budget: its credits overflow.
        var doubled = try payoutSettlement(campaignID)
        let funding = doubled.ledger.records[0]
        #expect(funding.hasKey && funding.kind == .posted)
        doubled.ledger.records[0] = copy(funding, amount: .max)
        let key = funding.key
        doubled.ledger.records.append(
            copy(
                funding,
                amount: .max,
                key: Ledger.CompactKey(
                    operation: key.operation,
                    part: 7,
                    campaign: key.campaign,
                    rule: key.rule,
                    beneficiary: key.beneficiary,
                    source: key.source
                )
            )
        )
        #expect(throws: FissionError(code: .corruptSnapshot)) { _ = try Settlement(snapshot: doubled.snapshot()) }

        // Write-offs whose credits wrap a receivable below Int64.min: a debt no call makes, which
        // a later write-off or withdrawal would negate.
        var settlement = try payoutSettlement(campaignID)
        try settlement.withdraw(.money(yuan(30)), from: "bob", id: "w1", at: at(days: 2))
        try settlement.settle(
            .orderRefunded(order: "o1", amount: yuan(100), at: at(days: 3)),
            id: "o1:refund",
            campaign: campaignID
        )
        let outside = try #require(settlement.ledger.findAccount(.outside(cny)))
        let receivable = try #require(settlement.ledger.findAccount(.receivable("bob", cny)))
        let template = settlement.ledger.records[0]
        for (index, amount) in [Int64.max, .max, 1].enumerated() {
            let record = Ledger.Record(
                debit: outside,
                credit: receivable,
                amount: amount,
                kind: .posted,
                related: -1,
                key: .none,
                hasKey: false,
                command: settlement.ledger.events.intern(try EventID("f\(index)")),
                reasonRule: -1,
                ruleVersion: 0,
                at: template.at,
                holdUntil: Ledger.noHold,
                linkedCount: 1,
                open: 0,
                resolution: 0
            )
            settlement.ledger.records.append(record)
        }
        #expect(throws: FissionError(code: .corruptSnapshot)) { _ = try Settlement(snapshot: settlement.snapshot()) }
    }
}

/// `record` with another amount (and key), reversible in full.
private func copy(_ record: Ledger.Record, amount: Int64, key: Ledger.CompactKey? = nil) -> Ledger.Record {
    Ledger.Record(
        debit: record.debit,
        credit: record.credit,
        amount: amount,
        kind: record.kind,
        related: record.related,
        key: key ?? record.key,
        hasKey: record.hasKey,
        command: record.command,
        reasonRule: record.reasonRule,
        ruleVersion: record.ruleVersion,
        at: record.at,
        holdUntil: record.holdUntil,
        linkedCount: record.linkedCount,
        open: amount,
        resolution: record.resolution
    )
}
