import FissionCore
import FissionRewards
import Testing

// The settlement finds idempotency keys through their source event (at most 16 per source in a
// chain, the rest hashed) and remembers each member's wallet per rule (Decision 0009). These
// tests drive both past their easy cases: more keys under one source than the chain holds, and a
// member paid in two units by one rule.

private let campaignID: CampaignID = "autumn"

private func settlement(_ rules: [RewardRule]) throws -> Settlement {
    try fundedSettlement(rules, campaigns: [campaignID], budgetYuan: 10_000)
}

private func paid(_ order: OrderID, buyer: MemberID, yuan amount: Int64) throws -> RewardEvent {
    try paidOrder(order, buyer: buyer, paidYuan: amount)
}

struct SettlementIndexTests {
    /// 24 rules each pay the buyer on one order: one source event with more keys than its chain holds.
    @Test func anEventWithMoreGrantsThanTheKeyChainHoldsGrantsEachOnce() throws {
        let rules = try (0..<24).map { try RewardRule(id: RuleID("fixed-\($0)"), shape: .orderFixed(.money(yuan(1)))) }
        var original = try settlement(rules)
        let event = try paid("o-1", buyer: "bob", yuan: 100)
        let first = try original.settle(event, id: "pay-1", campaign: campaignID)
        #expect(first.grants.count == 24)
        #expect(Set(first.grants.map(\.rule)).count == 24)

        // The restored copy must index the same keys the same way.
        let restored = try Settlement(snapshot: original.snapshot())
        #expect(restored == original)
        for var settlement in [original, restored] {
            let again = try settlement.settle(event, id: "pay-1", campaign: campaignID)
            #expect(again.isDuplicate && again.grants == first.grants)
            for grant in first.grants {
                let key = TransferKey(
                    .grant,
                    campaign: campaignID,
                    rule: grant.rule,
                    beneficiary: "bob",
                    source: "pay-1"
                )
                #expect(settlement.ledger.transfer(forKey: key)?.id == grant.transfer)
            }
            #expect(settlement.ledger.balance(of: .wallet("bob", cny)).available == 2_400)

            // A refund reverses all 24 under one source too, and repeats as a duplicate.
            let refund = RewardEvent.orderRefunded(order: "o-1", amount: yuan(100), at: at(days: 2))
            let reversed = try settlement.settle(refund, id: "refund-1", campaign: campaignID)
            #expect(reversed.reversals.count == 24)
            #expect(try settlement.settle(refund, id: "refund-1", campaign: campaignID).reversals == reversed.reversals)
            #expect(settlement.ledger.balance(of: .wallet("bob", cny)).available == 0)
            #expect(settlement.ledger.audit().isEmpty)
        }
    }

    /// The public ledger API: 40 keyed transfers sharing one command, each found and each refused twice.
    @Test func ledgerKeysSharingOneSourceStayUnique() throws {
        var ledger = Ledger()
        let budget = AccountKey.budget(campaignID, cny)
        try ledger.transfer(
            key: TransferKey(.funding, campaign: campaignID, source: "payout"),
            debit: .outside(cny),
            credit: budget,
            amount: 1_000,
            reason: TransferReason(command: "payout"),
            at: start
        )
        func key(_ member: Int) -> TransferKey {
            TransferKey(
                .grant,
                campaign: campaignID,
                rule: "bonus",
                beneficiary: MemberID(Int64(member)),
                source: "payout"
            )
        }
        var made: [TransferID] = []
        for member in 0..<40 {
            let outcome = try ledger.transfer(
                key: key(member),
                debit: budget,
                credit: .wallet(MemberID(Int64(member)), cny),
                amount: 10,
                reason: TransferReason(command: "payout", rule: "bonus"),
                at: start
            )
            #expect(!outcome.isDuplicate)
            made.append(outcome.first!)
        }
        for member in 0..<40 {
            #expect(ledger.transfer(forKey: key(member))?.id == made[member])
            let again = try ledger.transfer(
                key: key(member),
                debit: budget,
                credit: .wallet(MemberID(Int64(member)), cny),
                amount: 10,
                reason: TransferReason(command: "payout", rule: "bonus"),
                at: start
            )
            #expect(again.isDuplicate && again.first == made[member])
            #expect(throws: FissionError(code: .idempotencyConflict)) {
                try ledger.transfer(
                    key: key(member),
                    debit: budget,
                    credit: .wallet(MemberID(Int64(member)), cny),
                    amount: 11,
                    reason: TransferReason(command: "payout", rule: "bonus"),
                    at: start
                )
            }
        }
        #expect(ledger.transfer(forKey: key(40)) == nil)
        #expect(ledger.balance(of: budget).available == 600)
    }

    /// A mutual rule pays the sharer and the helper in different units: a member who is helper in
    /// one event and sharer in the next must be paid each time into the wallet of the right unit.
    @Test func aMemberPaidInTwoUnitsByOneRuleKeepsTheUnitsApart() throws {
        let coupon = LedgerUnit.coupon("coupon-5")
        let rule = try RewardRule(
            id: "mutual",
            shape: .mutual(sharer: RewardAmount(1, coupon), helper: RewardAmount(3, .points))
        )
        var settlement = try settlement([rule])
        try settlement.fund(campaignID, amount: RewardAmount(10, coupon), id: "coupons", at: start)
        try settlement.fund(campaignID, amount: RewardAmount(100, .points), id: "points", at: start)
        let steps: [(MemberID, MemberID)] = [("alice", "bob"), ("bob", "alice"), ("alice", "bob"), ("bob", "alice")]
        for (index, (sharer, helper)) in steps.enumerated() {
            try settlement.settle(
                .helped(sharer: sharer, helper: helper, at: at(days: 1)),
                id: EventID(Int64(index)),
                campaign: campaignID
            )
        }
        for member: MemberID in ["alice", "bob"] {
            #expect(settlement.ledger.balance(of: .wallet(member, coupon)).available == 2)
            #expect(settlement.ledger.balance(of: .wallet(member, .points)).available == 6)
        }
        #expect(settlement.granted(by: "mutual", to: "alice", in: campaignID) == (4, 8))
        let restored = try Settlement(snapshot: settlement.snapshot())
        #expect(restored == settlement)
        #expect(restored.granted(by: "mutual", to: "alice", in: campaignID) == (4, 8))
    }
}
