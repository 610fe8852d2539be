import FissionCore
import FissionRewards
import Testing

private let campaignID: CampaignID = "spring"

private func settlement(_ rules: [RewardRule], budgetYuan: Int64 = 100_000) throws -> Settlement {
    try fundedSettlement(rules, campaigns: [campaignID], budgetYuan: budgetYuan)
}

private func order(
    _ id: OrderID,
    buyer: MemberID,
    inviters: [MemberID] = [],
    paidYuan: Int64,
    count: Int64 = 1,
    kind: OrderKind = .regular,
    day: Int64 = 1
) throws -> RewardEvent {
    try paidOrder(id, buyer: buyer, inviters: inviters, kind: kind, count: count, paidYuan: paidYuan, day: day)
}

private func wallet(_ settlement: Settlement, _ member: MemberID) -> AccountBalance {
    settlement.ledger.balance(of: .wallet(member, cny))
}

struct SettlementTests {
    @Test func milestoneSplitPaysFifteenFifteenTwenty() throws {
        let rule = try RewardRule(
            id: "invite-50",
            shape: .milestoneSplit(
                total: .money(yuan(50)),
                weights: [.init(.registered, 15), .init(.firstOrder, 15), .init(.repurchase, 20)]
            )
        )
        var settlement = try settlement([rule])
        try settlement.settle(
            .memberRegistered(member: "bob", inviter: "alice", at: at(days: 1)),
            id: "reg-bob",
            campaign: campaignID
        )
        #expect(wallet(settlement, "alice").available == 1_500)
        try settlement.settle(
            try order("o1", buyer: "bob", inviters: ["alice"], paidYuan: 99),
            id: "o1:paid",
            campaign: campaignID
        )
        #expect(wallet(settlement, "alice").available == 3_000)
        try settlement.settle(
            try order("o2", buyer: "bob", inviters: ["alice"], paidYuan: 99, count: 2),
            id: "o2:paid",
            campaign: campaignID
        )
        try settlement.settle(
            try order("o3", buyer: "bob", inviters: ["alice"], paidYuan: 99, count: 3),
            id: "o3:paid",
            campaign: campaignID
        )
        #expect(wallet(settlement, "alice").available == 5_000, "each part once: 15 + 15 + 20")
        // A fake sign-up that never orders earns only the first part.
        try settlement.settle(
            .memberRegistered(member: "fake", inviter: "alice", at: at(days: 2)),
            id: "reg-fake",
            campaign: campaignID
        )
        #expect(wallet(settlement, "alice").available == 6_500)
        #expect(settlement.ledger.audit().isEmpty)
    }

    @Test(
        "Ladder: fewer than 5 invites pay 10 each, 5 to 10 pay 20 each",
        arguments: [
            (LadderSemantics.marginal, 4, Int64(40)),
            (.marginal, 5, 60),
            (.marginal, 10, 160),
            (.retroactive, 4, 40),
            (.retroactive, 5, 100),
            (.retroactive, 10, 200),
            (.retroactive, 11, 275),
        ]
    )
    func ladder(semantics: LadderSemantics, invites: Int, expectedYuan: Int64) throws {
        let rule = try RewardRule(
            id: "ladder",
            shape: .ladder(
                unit: cny,
                tiers: [
                    .init(fromCount: 1, amountEach: 1_000), .init(fromCount: 5, amountEach: 2_000),
                    .init(fromCount: 11, amountEach: 2_500),
                ],
                semantics: semantics
            )
        )
        var settlement = try settlement([rule])
        for index in 0..<invites {
            try settlement.settle(
                .memberRegistered(member: MemberID(Int64(index)), inviter: "alice", at: at(days: 1)),
                id: EventID(Int64(index)),
                campaign: campaignID
            )
        }
        #expect(wallet(settlement, "alice").available == expectedYuan * 100)
        #expect(settlement.inviteCount(of: "alice", in: campaignID) == Int64(invites))
    }

    @Test func thirtyPercentLevelOneCommissionHeldThenPosted() throws {
        let rule = try RewardRule(
            id: "distribution",
            shape: .commission(levelRates: [.percent(30), .percent(5)], skuOverrides: []),
            holdDays: 7
        )
        var settlement = try settlement([rule])
        let outcome = try settlement.settle(
            try order("o1", buyer: "carol", inviters: ["bob", "alice"], paidYuan: 199),
            id: "o1:paid",
            campaign: campaignID
        )
        #expect(outcome.grants.map(\.amount.quantity) == [5_970, 995])
        #expect(outcome.grants.map(\.beneficiary) == ["bob", "alice"])
        #expect(outcome.grants.allSatisfy { $0.isHeld })
        #expect(wallet(settlement, "bob").pending == 5_970)
        #expect(wallet(settlement, "bob").available == 0)
        #expect(settlement.advance(to: at(days: 7)).isEmpty)
        #expect(settlement.advance(to: at(days: 8)).count == 2)
        #expect(wallet(settlement, "bob").available == 5_970)
        #expect(wallet(settlement, "carol") == .zero, "the buyer never earns on their own order")
    }

    @Test func commissionRoundsDownPerLineAndHonoursSKUOverrides() throws {
        let rule = try RewardRule(
            id: "distribution",
            shape: .commission(
                levelRates: [.percent(10)],
                skuOverrides: [
                    .init(sku: "gift-box", perUnitMinorUnits: [500]),
                    .init(sku: "no-commission", perUnitMinorUnits: [0]),
                ]
            )
        )
        var settlement = try settlement([rule])
        let paid = try OrderPaid(
            order: "o1",
            buyer: "carol",
            inviters: ["bob"],
            buyerPaidOrderCount: 1,
            lines: [
                .init(sku: "tea", quantity: 1, netPaid: Money(minorUnits: 999, currency: .cny)),
                .init(sku: "gift-box", quantity: 3, netPaid: yuan(300)),
                .init(sku: "no-commission", quantity: 1, netPaid: yuan(50)),
            ],
            at: at(days: 1)
        )
        try settlement.settle(.orderPaid(paid), id: "o1:paid", campaign: campaignID)
        #expect(wallet(settlement, "bob").available == 99 + 1_500)
    }

    @Test func partialRefundsReverseInProportionAndAFullRefundUndoesEverything() throws {
        let rule = try RewardRule(
            id: "distribution",
            shape: .commission(levelRates: [.percent(10), .percent(5)], skuOverrides: []),
            holdDays: 7
        )
        var settlement = try settlement([rule], budgetYuan: 1_000)
        try settlement.settle(
            try order("o1", buyer: "carol", inviters: ["bob", "alice"], paidYuan: 100),
            id: "o1:paid",
            campaign: campaignID
        )
        // A third refunded while still held: holds shrink by a third (rounded down), at both levels.
        let firstRefund = RewardEvent.orderRefunded(
            order: "o1",
            amount: Money(minorUnits: 3_333, currency: .cny),
            at: at(days: 2)
        )
        let refundOutcome = try settlement.settle(firstRefund, id: "o1:r1", campaign: campaignID)
        let replayedRefund = try settlement.settle(firstRefund, id: "o1:r1", campaign: campaignID)
        #expect(refundOutcome.reversals.count == 2 && replayedRefund.reversals == refundOutcome.reversals)
        #expect(replayedRefund.isDuplicate)
        #expect(wallet(settlement, "bob").pending == 1_000 - 333)
        #expect(wallet(settlement, "alice").pending == 500 - 166)
        settlement.advance(to: at(days: 9))
        #expect(wallet(settlement, "bob").available == 667)
        #expect(settlement.ledger.audit().isEmpty)
        try settlement.settle(
            .orderRefunded(order: "o1", amount: Money(minorUnits: 6_667, currency: .cny), at: at(days: 10)),
            id: "o1:r2",
            campaign: campaignID
        )
        #expect(wallet(settlement, "bob").total == 0)
        #expect(wallet(settlement, "alice").total == 0)
        #expect(settlement.ledger.balance(of: .budget(campaignID, cny)).available == 100_000)
        #expect(settlement.refunded("o1", in: campaignID) == yuan(100))
        #expect(throws: FissionError(code: .refundExceedsPayment)) {
            try settlement.settle(
                .orderRefunded(order: "o1", amount: Money(minorUnits: 1, currency: .cny), at: at(days: 11)),
                id: "o1:r3",
                campaign: campaignID
            )
        }
        #expect(settlement.ledger.audit().isEmpty)
    }

    @Test func theSameEventTwiceSettlesOnce() throws {
        let rule = try RewardRule(id: "fixed", shape: .inviteFixed(.money(yuan(5))))
        var settlement = try settlement([rule])
        let event = RewardEvent.memberRegistered(member: "bob", inviter: "alice", at: at(days: 1))
        let first = try settlement.settle(event, id: "reg-bob", campaign: campaignID)
        let second = try settlement.settle(event, id: "reg-bob", campaign: campaignID)
        #expect(!first.isDuplicate && second.isDuplicate)
        #expect(first.grants == second.grants)
        #expect(wallet(settlement, "alice").available == 500)
        #expect(throws: FissionError(code: .idempotencyConflict)) {
            try settlement.settle(
                .memberRegistered(member: "bob", inviter: "mallory", at: at(days: 1)),
                id: "reg-bob",
                campaign: campaignID
            )
        }
        #expect(throws: FissionError(code: .duplicateRegistration)) {
            try settlement.settle(event, id: "reg-bob-again", campaign: campaignID)
        }
        #expect(wallet(settlement, "alice").available == 500)
    }

    @Test func capsAndTheBudgetStopGrantsWithoutFailingTheEvent() throws {
        let rule = try RewardRule(
            id: "fixed",
            shape: .inviteFixed(.money(yuan(10))),
            caps: .init(perMemberCount: 3, perMemberDailyQuantity: 2_000)
        )
        var settlement = try settlement([rule], budgetYuan: 40)
        var skipped: [SettlementOutcome.Skip.Reason] = []
        for (index, day) in [1, 1, 1, 2, 2, 3].enumerated() {
            let outcome = try settlement.settle(
                .memberRegistered(member: MemberID(Int64(index)), inviter: "alice", at: at(days: Int64(day))),
                id: EventID(Int64(index)),
                campaign: campaignID
            )
            skipped += outcome.skipped.map(\.reason)
        }
        // Day 1: two grants then the daily cap; day 2: the third grant; then the count cap.
        #expect(skipped == [.capReached, .capReached, .capReached])
        #expect(wallet(settlement, "alice").available == 3_000)
        try settlement.settle(
            .memberRegistered(member: "x", inviter: "bob", at: at(days: 3)),
            id: "x",
            campaign: campaignID
        )
        let outcome = try settlement.settle(
            .memberRegistered(member: "y", inviter: "carol", at: at(days: 3)),
            id: "y",
            campaign: campaignID
        )
        #expect(outcome.skipped.map(\.reason) == [.budgetExhausted])
        #expect(settlement.ledger.balance(of: .budget(campaignID, cny)).available == 0)
    }

    @Test func eligibilityExcludesMarketingOrdersAndRepeatOrders() throws {
        let rule = try RewardRule(
            id: "first-order-bonus",
            shape: .orderFixed(.money(yuan(3))),
            eligibility: .init(newMembersOnly: true, firstOrderOnly: true, excludedOrderKinds: [.bargain])
        )
        var settlement = try settlement([rule])
        try settlement.settle(
            .memberRegistered(member: "bob", inviter: nil, at: at(days: 1)),
            id: "reg",
            campaign: campaignID
        )
        try settlement.settle(
            try order("o1", buyer: "bob", paidYuan: 10, kind: .bargain),
            id: "o1",
            campaign: campaignID
        )
        try settlement.settle(try order("o2", buyer: "old-customer", paidYuan: 10), id: "o2", campaign: campaignID)
        try settlement.settle(try order("o3", buyer: "bob", paidYuan: 10, count: 2), id: "o3", campaign: campaignID)
        #expect(wallet(settlement, "bob") == .zero)
        try settlement.settle(try order("o4", buyer: "new", paidYuan: 10), id: "o4", campaign: campaignID)
        #expect(wallet(settlement, "new") == .zero, "not registered in the campaign")
    }

    @Test func mutualPaysBothSides() throws {
        let coupon = LedgerUnit.coupon("coupon-5")
        let rule = try RewardRule(
            id: "mutual",
            shape: .mutual(sharer: RewardAmount(1, coupon), helper: RewardAmount(1, coupon))
        )
        var settlement = try settlement([rule])
        try settlement.fund(campaignID, amount: RewardAmount(10, coupon), id: "coupons", at: start)
        try settlement.settle(.helped(sharer: "alice", helper: "bob", at: at(days: 1)), id: "h1", campaign: campaignID)
        #expect(settlement.ledger.balance(of: .wallet("alice", coupon)).available == 1)
        #expect(settlement.ledger.balance(of: .wallet("bob", coupon)).available == 1)
        #expect(throws: FissionError(code: .selfReferral)) {
            try settlement.settle(
                .helped(sharer: "bob", helper: "bob", at: at(days: 1)),
                id: "h2",
                campaign: campaignID
            )
        }
    }

    @Test func anOrderThatPaidNothingIsRefundedInFullByZero() throws {
        // Paid entirely with a coupon: no commission, but the fixed order reward is granted.
        let bonus = try RewardRule(id: "order-bonus", shape: .orderFixed(.money(yuan(5))), holdDays: 7)
        let commission = try RewardRule(
            id: "distribution",
            shape: .commission(levelRates: [.percent(10)], skuOverrides: [])
        )
        var settlement = try settlement([bonus, commission])
        let paid = try settlement.settle(
            try order("o1", buyer: "carol", inviters: ["bob"], paidYuan: 0),
            id: "o1:paid",
            campaign: campaignID
        )
        #expect(paid.grants.map(\.rule) == ["order-bonus"])
        #expect(wallet(settlement, "carol").pending == 500)
        #expect(throws: FissionError(code: .refundExceedsPayment)) {
            try settlement.settle(
                .orderRefunded(order: "o1", amount: yuan(1), at: at(days: 2)),
                id: "r1",
                campaign: campaignID
            )
        }
        let refund = try settlement.settle(
            .orderRefunded(order: "o1", amount: yuan(0), at: at(days: 2)),
            id: "r2",
            campaign: campaignID
        )
        #expect(refund.reversals.count == 1)
        #expect(wallet(settlement, "carol").total == 0)
        #expect(settlement.refunded("o1", in: campaignID) == yuan(0))
        // Again, under a new id: nothing is left to undo, and nothing moves.
        let transfers = settlement.ledger.transferCount
        let again = try settlement.settle(
            .orderRefunded(order: "o1", amount: yuan(0), at: at(days: 3)),
            id: "r3",
            campaign: campaignID
        )
        #expect(again.reversals.isEmpty && settlement.ledger.transferCount == transfers)
        #expect(settlement.ledger.balance(of: .budget(campaignID, cny)).total == 100_000 * 100)
        #expect(settlement.ledger.audit().isEmpty)
    }

    @Test func badEventsChangeNothing() throws {
        let rule = try RewardRule(id: "distribution", shape: .commission(levelRates: [.percent(10)], skuOverrides: []))
        var settlement = try settlement([rule])
        try settlement.settle(
            try order("o1", buyer: "carol", inviters: ["bob"], paidYuan: 100),
            id: "o1:paid",
            campaign: campaignID
        )
        let transfers = settlement.ledger.transferCount
        #expect(throws: FissionError(code: .campaignNotFound)) {
            try settlement.settle(try order("o2", buyer: "carol", paidYuan: 1), id: "x", campaign: "nope")
        }
        #expect(throws: FissionError(code: .outsideCampaignWindow)) {
            try settlement.settle(
                try order("o2", buyer: "carol", paidYuan: 1, day: 30),
                id: "late",
                campaign: campaignID
            )
        }
        #expect(throws: FissionError(code: .duplicateOrder)) {
            try settlement.settle(
                try order("o1", buyer: "carol", paidYuan: 100),
                id: "o1:paid-again",
                campaign: campaignID
            )
        }
        #expect(throws: FissionError(code: .orderNotFound)) {
            try settlement.settle(
                .orderRefunded(order: "o9", amount: yuan(1), at: at(days: 2)),
                id: "r9",
                campaign: campaignID
            )
        }
        #expect(throws: FissionError(code: .refundExceedsPayment)) {
            try settlement.settle(
                .orderRefunded(order: "o1", amount: yuan(101), at: at(days: 2)),
                id: "r1",
                campaign: campaignID
            )
        }
        #expect(throws: FissionError(code: .currencyMismatch)) {
            try settlement.settle(
                .orderRefunded(order: "o1", amount: Money(minorUnits: 1, currency: .usd), at: at(days: 2)),
                id: "r2",
                campaign: campaignID
            )
        }
        #expect(throws: FissionError(code: .invalidAmount)) {
            try settlement.settle(
                .orderRefunded(order: "o1", amount: yuan(0), at: at(days: 2)),
                id: "r3",
                campaign: campaignID
            )
        }
        #expect(throws: FissionError(code: .currencyMismatch)) {
            try settlement.fund(campaignID, amount: .money(Money(minorUnits: 1, currency: .usd)), id: "usd", at: start)
        }
        #expect(settlement.ledger.transferCount == transfers)
        // Refunds after the campaign ended still claw back.
        try settlement.settle(
            .orderRefunded(order: "o1", amount: yuan(100), at: at(days: 40)),
            id: "r-late",
            campaign: campaignID
        )
        #expect(wallet(settlement, "bob").total == 0)
    }

    @Test(
        "Malformed rules are refused",
        arguments: [
            RewardRule.Shape.commission(levelRates: [], skuOverrides: []),
            .commission(levelRates: [try! .percent(60), try! .percent(50)], skuOverrides: []),
            .commission(levelRates: [try! .percent(10)], skuOverrides: [.init(sku: "a", perUnitMinorUnits: [1, 2])]),
            .milestoneSplit(total: try! .money(Money(minorUnits: 5_000, currency: .cny)), weights: []),
            .milestoneSplit(
                total: try! .money(Money(minorUnits: 5_000, currency: .cny)),
                weights: [.init(.registered, 1), .init(.registered, 2)]
            ),
            .ladder(unit: .points, tiers: [.init(fromCount: 2, amountEach: 10)], semantics: .marginal),
            .ladder(
                unit: .points,
                tiers: [.init(fromCount: 1, amountEach: 10), .init(fromCount: 1, amountEach: 20)],
                semantics: .marginal
            ),
            .ladder(
                unit: .points,
                tiers: [.init(fromCount: 1, amountEach: 20), .init(fromCount: 5, amountEach: 10)],
                semantics: .retroactive
            ),
        ]
    )
    func malformedRules(shape: RewardRule.Shape) {
        #expect(throws: FissionError.self) { try RewardRule(id: "r", shape: shape) }
    }

    @Test func orderInvitersAreDistinctAndNotTheBuyer() throws {
        for inviters: [MemberID] in [["bob", "bob"], ["carol"], ["bob", "carol"], [7, 7], ["a", "b", "c"]] {
            #expect(throws: FissionError(code: .invalidOrder), "\(inviters)") {
                try order("o1", buyer: "carol", inviters: inviters, paidYuan: 1)
            }
        }
        for inviters: [MemberID] in [[], ["bob"], ["bob", "alice"], [7, "7"]] {
            #expect(throws: Never.self, "\(inviters)") {
                try order("o1", buyer: "carol", inviters: inviters, paidYuan: 1)
            }
        }
    }

    @Test func commissionDepthIsCappedAtTwo() throws {
        let rates = [try BasisPoints.percent(10), try .percent(5), try .percent(1)]
        #expect(throws: FissionError(code: .commissionTooDeep)) {
            try RewardRule(id: "pyramid", shape: .commission(levelRates: rates, skuOverrides: []))
        }
        #expect(throws: FissionError(code: .invalidRate)) {
            try RewardRule(id: "r", shape: .commission(levelRates: [.percent(60), .percent(50)], skuOverrides: []))
        }
    }
}
