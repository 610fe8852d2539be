import FissionCore
import FissionRewards
import Testing

private let campaignID: CampaignID = "payouts"

private func wallet(_ settlement: Settlement, _ member: MemberID) -> AccountBalance {
    settlement.ledger.balance(of: .wallet(member, cny))
}

private func receivable(_ settlement: Settlement, _ member: MemberID) -> AccountBalance {
    settlement.ledger.balance(of: .receivable(member, cny))
}

private func refund(_ settlement: inout Settlement, yuan amount: Int64, id: EventID, day: Int64 = 3) throws {
    try settlement.settle(
        .orderRefunded(order: "o1", amount: yuan(amount), at: at(days: day)),
        id: id,
        campaign: campaignID
    )
}

struct SettlementWithdrawalTests {
    @Test func aWithdrawalPaysOutOfTheWalletExactlyOnce() throws {
        var settlement = try payoutSettlement(campaignID)
        #expect(wallet(settlement, "bob").available == 3_000)
        let first = try settlement.withdraw(.money(yuan(20)), from: "bob", id: "w1", at: at(days: 2))
        #expect(!first.isDuplicate && first.repaid == nil && first.repayment == nil)
        #expect(first.amount == (try .money(yuan(20))) && first.member == "bob")
        #expect(wallet(settlement, "bob").available == 1_000)
        #expect(settlement.ledger.balance(of: .outside(cny)).posted == -100_000 + 2_000)
        let payout = try #require(settlement.ledger.transfer(first.payout))
        #expect(payout.debit == .wallet("bob", cny) && payout.credit == .outside(cny))
        #expect(payout.kind == .posted && payout.key == nil && payout.reason.command == "w1")

        // The same id again: the first withdrawal, nothing new, even though the wallet changed.
        let before = settlement.snapshot()
        let again = try settlement.withdraw(.money(yuan(20)), from: "bob", id: "w1", at: at(days: 5))
        #expect(again.isDuplicate && again.payout == first.payout)
        #expect(settlement.snapshot() == before)
        #expect(settlement.withdrawal("w1") == first)
        #expect(settlement.withdrawal("w2") == nil)

        // The same id for another withdrawal is a conflict, and changes nothing.
        #expect(throws: FissionError(code: .idempotencyConflict)) {
            try settlement.withdraw(.money(yuan(5)), from: "bob", id: "w1", at: at(days: 5))
        }
        #expect(throws: FissionError(code: .idempotencyConflict)) {
            try settlement.withdraw(.money(yuan(20)), from: "carol", id: "w1", at: at(days: 5))
        }
        #expect(settlement.snapshot() == before)
        #expect(settlement.ledger.audit().isEmpty)
    }

    @Test func aWithdrawalBeyondTheAvailableBalanceIsRefusedAndChangesNothing() throws {
        var settlement = try payoutSettlement(campaignID)
        let before = settlement.snapshot()
        let tooMuch = #expect(throws: FissionError(code: .insufficientFunds)) {
            try settlement.withdraw(.money(yuan(31)), from: "bob", id: "w1", at: at(days: 2))
        }
        // The reason reads amounts as money, not as minor units.
        #expect(tooMuch?.reason.contains("has 30.00 CNY available; withdrawing 31.00 CNY needs 31.00 CNY") == true)
        // No wallet at all: a member who earned nothing, another currency, another unit.
        #expect(throws: FissionError(code: .insufficientFunds)) {
            try settlement.withdraw(.money(yuan(1)), from: "carol", id: "w1", at: at(days: 2))
        }
        #expect(throws: FissionError(code: .insufficientFunds)) {
            try settlement.withdraw(
                .money(Money(minorUnits: 100, currency: .usd)),
                from: "bob",
                id: "w1",
                at: at(days: 2)
            )
        }
        #expect(throws: FissionError(code: .insufficientFunds)) {
            try settlement.withdraw(try RewardAmount(1, .points), from: "bob", id: "w1", at: at(days: 2))
        }
        #expect(settlement.snapshot() == before)
        #expect(settlement.withdrawal("w1") == nil)
        // The refused id is still free.
        #expect(try !settlement.withdraw(.money(yuan(30)), from: "bob", id: "w1", at: at(days: 2)).isDuplicate)
        #expect(wallet(settlement, "bob").available == 0)
    }

    @Test func heldGrantsAreNotAvailableUntilTheyPost() throws {
        let rule = try RewardRule(
            id: "distribution",
            shape: .commission(levelRates: [.percent(30)], skuOverrides: []),
            holdDays: 7
        )
        var settlement = try fundedSettlement([rule], campaigns: [campaignID], budgetYuan: 1_000)
        try settlement.settle(
            try paidOrder("o1", buyer: "carol", inviters: ["bob"], paidYuan: 100),
            id: "o1:paid",
            campaign: campaignID
        )
        #expect(throws: FissionError(code: .insufficientFunds)) {
            try settlement.withdraw(.money(yuan(1)), from: "bob", id: "w1", at: at(days: 2))
        }
        settlement.advance(to: at(days: 9))
        #expect(
            try settlement.withdraw(.money(yuan(30)), from: "bob", id: "w1", at: at(days: 9)).amount.quantity == 3_000
        )
    }

    @Test func aRefundAfterAWithdrawalBecomesADebtThatTheNextWithdrawalRepaysFirst() throws {
        var settlement = try payoutSettlement(campaignID)
        try settlement.withdraw(.money(yuan(25)), from: "bob", id: "w1", at: at(days: 2))
        // The whole order refunded: 30 yuan to take back, 5 in the wallet, 25 owed.
        try refund(&settlement, yuan: 100, id: "o1:refund")
        #expect(wallet(settlement, "bob").total == 0)
        #expect(receivable(settlement, "bob").posted == -2_500)
        #expect(settlement.ledger.audit().isEmpty)

        // Bob earns 40 yuan on another order; withdrawing 20 needs 45 (20 and the 25 owed).
        try settlement.settle(
            try paidOrder("o2", buyer: "dave", inviters: ["bob"], paidYuan: 100),
            id: "o2:paid",
            campaign: campaignID
        )
        try settlement.settle(
            try paidOrder("o3", buyer: "erin", inviters: ["bob"], paidYuan: 34),
            id: "o3:paid",
            campaign: campaignID
        )
        #expect(wallet(settlement, "bob").available == 3_000 + 1_020)
        #expect(settlement.owed(by: "bob", in: cny) == 2_500)
        #expect(settlement.withdrawable(by: "bob", in: cny) == 1_520)
        #expect(settlement.withdrawable(by: "bob", in: .points) == 0 && settlement.owed(by: "carol", in: cny) == 0)
        let before = settlement.snapshot()
        #expect(throws: FissionError(code: .insufficientFunds)) {
            try settlement.withdraw(.money(yuan(16)), from: "bob", id: "w2", at: at(days: 4))
        }
        #expect(settlement.snapshot() == before)
        let second = try settlement.withdraw(.money(yuan(15)), from: "bob", id: "w2", at: at(days: 4))
        #expect(second.repaid == (try .money(yuan(25))))
        let repayment = try #require(second.repayment.flatMap { settlement.ledger.transfer($0) })
        #expect(repayment.debit == .wallet("bob", cny) && repayment.credit == .receivable("bob", cny))
        #expect(repayment.amount == 2_500 && second.payout.rawValue == repayment.id.rawValue + 1)
        #expect(receivable(settlement, "bob").posted == 0)
        #expect(wallet(settlement, "bob").available == 20)
        #expect(settlement.owed(by: "bob", in: cny) == 0 && settlement.withdrawable(by: "bob", in: cny) == 20)
        #expect(settlement.withdrawal("w2") == second)
        // Its repeat returns both transfers; nothing is repaid twice.
        let again = try settlement.withdraw(.money(yuan(15)), from: "bob", id: "w2", at: at(days: 5))
        #expect(again.isDuplicate && again.repayment == second.repayment && again.repaid == second.repaid)
        #expect(settlement.ledger.audit().isEmpty)
    }

    @Test func withdrawalsSurviveASnapshotAndStayExactlyOnce() throws {
        var settlement = try payoutSettlement(campaignID)
        try settlement.withdraw(.money(yuan(25)), from: "bob", id: "w1", at: at(days: 2))
        try refund(&settlement, yuan: 100, id: "o1:refund")
        try settlement.settle(
            try paidOrder("o2", buyer: "dave", inviters: ["bob"], paidYuan: 110),
            id: "o2:paid",
            campaign: campaignID
        )
        let second = try settlement.withdraw(.money(yuan(5)), from: "bob", id: "w2", at: at(days: 4))
        var restored = try Settlement(snapshot: settlement.snapshot())
        #expect(restored == settlement)
        #expect(restored.withdrawal("w2") == second)
        #expect(try restored.withdraw(.money(yuan(5)), from: "bob", id: "w2", at: at(days: 6)).isDuplicate)
        #expect(try restored.withdraw(.money(yuan(25)), from: "bob", id: "w1", at: at(days: 6)).isDuplicate)
        #expect(throws: FissionError(code: .idempotencyConflict)) {
            try restored.withdraw(.money(yuan(1)), from: "bob", id: "w2", at: at(days: 6))
        }
        // Both go on alike.
        let fen = try RewardAmount.money(Money(minorUnits: 1, currency: .cny))
        let next = try settlement.withdraw(fen, from: "bob", id: "w3", at: at(days: 7))
        let restoredNext = try restored.withdraw(fen, from: "bob", id: "w3", at: at(days: 7))
        #expect(next == restoredNext)
        #expect(restored == settlement)
    }

    @Test func damagedSnapshotsNeverRestoreAnUnsoundWithdrawal() throws {
        var settlement = try payoutSettlement(campaignID, inDebt: true, earningAgain: true)
        try settlement.withdraw(.money(yuan(5)), from: "bob", id: "w2", at: at(days: 4))
        let bytes = settlement.snapshot()
        #expect(try Settlement(snapshot: bytes) == settlement)
        // Every single-byte change either fails to decode or decodes to a sound settlement whose
        // withdrawals are still exactly once (spot-checked over the ledger's part of the bytes).
        for offset in stride(from: 8, to: min(bytes.count, 2_000), by: 7) {
            var damaged = bytes
            damaged[offset] ^= 0x5A
            guard var restored = try? Settlement(snapshot: damaged) else { continue }
            #expect(restored.ledger.audit().isEmpty)
            if let earlier = restored.withdrawal("w2") {
                #expect(
                    try restored.withdraw(earlier.amount, from: earlier.member, id: "w2", at: at(days: 9)).isDuplicate
                )
            }
        }
    }

    @Test func aWriteOffForgivesADebtExactlyOnce() throws {
        var settlement = try payoutSettlement(campaignID)
        // Nothing owed yet: nothing to forgive.
        #expect(throws: FissionError(code: .invalidAmount)) {
            try settlement.writeOffDebt(.money(yuan(1)), of: "bob", id: "f0", at: at(days: 2))
        }
        try settlement.withdraw(.money(yuan(25)), from: "bob", id: "w1", at: at(days: 2))
        try refund(&settlement, yuan: 100, id: "o1:refund")
        #expect(receivable(settlement, "bob").posted == -2_500)
        let before = settlement.snapshot()
        for (amount, id) in [(yuan(26), "f1"), (Money(minorUnits: 1, currency: .usd), "f1")] {
            #expect(throws: FissionError(code: .invalidAmount)) {
                try settlement.writeOffDebt(.money(amount), of: "bob", id: try EventID(id), at: at(days: 4))
            }
        }
        let overWriteOff = #expect(throws: FissionError(code: .invalidAmount)) {
            try settlement.writeOffDebt(.money(yuan(26)), of: "bob", id: "f1", at: at(days: 4))
        }
        #expect(overWriteOff?.reason == "member bob owes 25.00 CNY; 26.00 CNY cannot be written off")
        #expect(throws: FissionError(code: .invalidAmount)) {
            try settlement.writeOffDebt(.money(yuan(1)), of: "carol", id: "f1", at: at(days: 4))
        }
        // An id that made a withdrawal cannot forgive, and the reverse.
        #expect(throws: FissionError(code: .idempotencyConflict)) {
            try settlement.writeOffDebt(.money(yuan(1)), of: "bob", id: "w1", at: at(days: 4))
        }
        #expect(settlement.snapshot() == before)

        let forgiven = try settlement.writeOffDebt(.money(yuan(10)), of: "bob", id: "f1", at: at(days: 4))
        #expect(!forgiven.isDuplicate && forgiven.member == "bob")
        #expect(forgiven.amount == (try .money(yuan(10))))
        let transfer = try #require(settlement.ledger.transfer(forgiven.transfer))
        #expect(transfer.debit == .outside(cny) && transfer.credit == .receivable("bob", cny))
        #expect(transfer.key == nil && settlement.ledger.reversibleAmount(of: forgiven.transfer) == 0)
        #expect(receivable(settlement, "bob").posted == -1_500)
        #expect(settlement.debtWriteOff("f1") == forgiven && settlement.withdrawal("f1") == nil)
        #expect(throws: FissionError(code: .idempotencyConflict)) {
            try settlement.withdraw(.money(yuan(1)), from: "bob", id: "f1", at: at(days: 4))
        }
        #expect(throws: FissionError(code: .idempotencyConflict)) {
            try settlement.writeOffDebt(.money(yuan(5)), of: "bob", id: "f1", at: at(days: 4))
        }
        // The repeat, even for more than is owed now, returns the first.
        try settlement.writeOffDebt(.money(yuan(15)), of: "bob", id: "f2", at: at(days: 5))
        #expect(receivable(settlement, "bob").posted == 0)
        #expect(try settlement.writeOffDebt(.money(yuan(10)), of: "bob", id: "f1", at: at(days: 6)).isDuplicate)
        #expect(settlement.ledger.audit().isEmpty)

        // Restored, both are known; and a withdrawal now repays nothing.
        var restored = try Settlement(snapshot: settlement.snapshot())
        #expect(restored == settlement)
        #expect(try restored.writeOffDebt(.money(yuan(15)), of: "bob", id: "f2", at: at(days: 6)).isDuplicate)
        #expect(restored.debtWriteOff("f2")?.transfer == settlement.debtWriteOff("f2")?.transfer)
        try restored.settle(
            try paidOrder("o2", buyer: "dave", inviters: ["bob"], paidYuan: 100),
            id: "o2:paid",
            campaign: campaignID
        )
        #expect(try restored.withdraw(.money(yuan(30)), from: "bob", id: "w2", at: at(days: 7)).repaid == nil)
    }
}
