import FissionCore
import FissionRewards
import Testing

// A review of the settlement's lookups by event and member (Decision 0009): keys chained per
// source event with a hash fallback past 16, settled events by event index, one slot per
// (member, rule). These tests drive the edges where a reward could be granted twice or lost: a
// rollback across the chain limit, a rejected event retried, one event id in two campaigns, and a
// restore in the middle of a stream.

private let campaignID: CampaignID = "review"

private func campaign(_ id: CampaignID, _ rules: [RewardRule]) throws -> RewardCampaign {
    try thirtyDayCampaign(id, rules)
}

private func settlement(_ rules: [RewardRule], campaigns: [CampaignID] = [campaignID]) throws -> Settlement {
    try fundedSettlement(rules, campaigns: campaigns, budgetYuan: 10_000) { try EventID("fund-\($0)") }
}

private func paid(
    _ order: OrderID,
    buyer: MemberID,
    inviters: [MemberID] = [],
    kind: OrderKind = .regular,
    yuan amount: Int64
) throws -> RewardEvent {
    try paidOrder(order, buyer: buyer, inviters: inviters, kind: kind, paidYuan: amount)
}

private func grantKey(
    _ campaign: CampaignID,
    rule: RuleID,
    beneficiary: MemberID,
    source: EventID,
    part: Int32 = 0
) -> TransferKey {
    TransferKey(.grant, campaign: campaign, rule: rule, beneficiary: beneficiary, source: source, part: part)
}

struct SettlementReviewTests {
    /// Keys made after a mark are rolled back newest first, whichever side of the chain limit
    /// (16 chained, the rest hashed) the mark falls: the keys before it stay, the ones after it
    /// are gone and can be made again exactly once.
    @Test(arguments: [0, 15, 16, 17])
    func aRollbackAcrossTheKeyChainLimitForgetsExactlyTheKeysAfterTheMark(before: Int) throws {
        var ledger = Ledger()
        let budget = AccountKey.budget(campaignID, cny)
        try ledger.transfer(
            key: TransferKey(.funding, campaign: campaignID, source: "fund"),
            debit: .outside(cny),
            credit: budget,
            amount: 10_000,
            reason: TransferReason(command: "fund"),
            at: start
        )
        func key(_ member: Int) -> TransferKey {
            grantKey(campaignID, rule: "bonus", beneficiary: MemberID(Int64(member)), source: "payout")
        }
        func pay(_ member: Int) throws -> Ledger.Outcome {
            try ledger.transfer(
                key: key(member),
                debit: budget,
                credit: .wallet(MemberID(Int64(member)), cny),
                amount: 10,
                reason: TransferReason(command: "payout", rule: "bonus"),
                at: start
            )
        }
        let total = 20
        for member in 0..<before { #expect(try !pay(member).isDuplicate) }
        let mark = ledger.mark
        let kept = (0..<before).map { ledger.transfer(forKey: key($0))?.id }
        for member in before..<total { #expect(try !pay(member).isDuplicate) }
        ledger.rollBack(to: mark)

        #expect(ledger.transferCount == 1 + before)
        #expect((0..<before).map { ledger.transfer(forKey: key($0))?.id } == kept)
        for member in before..<total { #expect(ledger.transfer(forKey: key(member)) == nil) }
        #expect(ledger.balance(of: budget).available == 10_000 - 10 * Int64(before))

        // Made again: once each, then found and refused as duplicates.
        for member in before..<total { #expect(try !pay(member).isDuplicate) }
        for member in 0..<total {
            let found = try #require(ledger.transfer(forKey: key(member)))
            let again = try pay(member)
            #expect(again.isDuplicate && again.first == found.id)
        }
        #expect(ledger.transferCount == 1 + total)
        #expect(ledger.balance(of: budget).available == 10_000 - 10 * Int64(total))
        #expect(ledger.audit().isEmpty)
    }

    /// An event whose 18th grant fails (the budget's debits would overflow) after 17 were written,
    /// past the key chain's limit, leaves nothing behind: not its grants, not its keys, and it is
    /// not recorded as settled. The host's corrected retry under the same id then settles once.
    @Test func aRejectedEventPastTheChainLimitLeavesNoKeysAndIsNotSettled() throws {
        let quantity = Int64.max / 18 + 1
        let plain = try (0..<17).map {
            try RewardRule(id: RuleID("plain-\($0)"), shape: .orderFixed(RewardAmount(quantity, .points)))
        }
        let regularOnly = try (17..<20).map {
            try RewardRule(
                id: RuleID("regular-\($0)"),
                shape: .orderFixed(RewardAmount(quantity, .points)),
                eligibility: .init(excludedOrderKinds: [.flashSale])
            )
        }
        var settlement = Settlement()
        try settlement.addCampaign(campaign(campaignID, plain + regularOnly))
        try settlement.fund(campaignID, amount: RewardAmount(.max, .points), id: "fund", at: start)
        let before = settlement.snapshot()

        let wrong = try paid("o-1", buyer: "bob", yuan: 10)
        #expect(throws: FissionError.self) { try settlement.settle(wrong, id: "pay-1", campaign: campaignID) }
        #expect(settlement.snapshot() == before)
        for rule in plain + regularOnly {
            let key = grantKey(campaignID, rule: rule.id, beneficiary: "bob", source: "pay-1")
            #expect(settlement.ledger.transfer(forKey: key) == nil)
        }
        // The same failure again: still an error, not a duplicate of anything.
        #expect(throws: FissionError.self) { try settlement.settle(wrong, id: "pay-1", campaign: campaignID) }

        let corrected = try paid("o-1", buyer: "bob", kind: .flashSale, yuan: 10)
        let first = try settlement.settle(corrected, id: "pay-1", campaign: campaignID)
        #expect(!first.isDuplicate && first.grants.count == 17)
        for var copy in [settlement, try Settlement(snapshot: settlement.snapshot())] {
            let again = try copy.settle(corrected, id: "pay-1", campaign: campaignID)
            #expect(again.isDuplicate && again.grants == first.grants)
            #expect(throws: FissionError(code: .idempotencyConflict)) {
                try copy.settle(wrong, id: "pay-1", campaign: campaignID)
            }
            for grant in first.grants {
                let key = grantKey(campaignID, rule: grant.rule, beneficiary: "bob", source: "pay-1")
                #expect(copy.ledger.transfer(forKey: key)?.id == grant.transfer)
            }
            #expect(copy.ledger.balance(of: .wallet("bob", .points)).available == 17 * quantity)
            #expect(copy.ledger.audit().isEmpty)
        }
    }

    /// One host event id settled for two campaigns with the same rule ids is two settlements:
    /// each campaign grants once under its own keys, and each repeats as its own duplicate.
    @Test func oneEventIDInTwoCampaignsGrantsOncePerCampaign() throws {
        let rules = [
            try RewardRule(id: "buyer", shape: .orderFixed(.money(yuan(2)))),
            try RewardRule(id: "share", shape: .commission(levelRates: [.percent(10)], skuOverrides: [])),
        ]
        var settlement = try settlement(rules, campaigns: ["spring", "autumn"])
        let event = try paid("o-1", buyer: "bob", inviters: ["alice"], yuan: 100)
        let spring = try settlement.settle(event, id: "pay-1", campaign: "spring")
        let autumn = try settlement.settle(event, id: "pay-1", campaign: "autumn")
        #expect(spring.grants.count == 2 && autumn.grants.count == 2)
        #expect(Set(spring.grants.map(\.transfer)).isDisjoint(with: autumn.grants.map(\.transfer)))
        for var copy in [settlement, try Settlement(snapshot: settlement.snapshot())] {
            #expect(try copy.settle(event, id: "pay-1", campaign: "spring").grants == spring.grants)
            #expect(try copy.settle(event, id: "pay-1", campaign: "autumn").grants == autumn.grants)
            for (id, outcome) in [("spring", spring), ("autumn", autumn)] as [(CampaignID, SettlementOutcome)] {
                for grant in outcome.grants {
                    let key = grantKey(
                        id,
                        rule: grant.rule,
                        beneficiary: grant.beneficiary,
                        source: "pay-1",
                        part: grant.part
                    )
                    #expect(copy.ledger.transfer(forKey: key)?.id == grant.transfer)
                }
            }
            #expect(copy.ledger.balance(of: .wallet("bob", cny)).available == 400)
            #expect(copy.ledger.balance(of: .wallet("alice", cny)).available == 2_000)
            // A refund in one campaign reverses only that campaign's grants.
            let refund = RewardEvent.orderRefunded(order: "o-1", amount: yuan(100), at: at(days: 2))
            #expect(try copy.settle(refund, id: "refund-1", campaign: "spring").reversals.count == 2)
            #expect(copy.ledger.balance(of: .wallet("bob", cny)).available == 200)
            #expect(copy.ledger.balance(of: .wallet("alice", cny)).available == 1_000)
            #expect(copy.ledger.audit().isEmpty)
        }
    }

    /// A stream with caps, holds, a mutual rule paying in two units, commissions, partial refunds
    /// and operators' decisions, restored from a snapshot at every step: each restored copy goes
    /// on exactly as the original does (same outcomes, same snapshot at the end), and every
    /// earlier event repeats as the same duplicate.
    @Test func restoringAtAnyStepThenSettlingOnBehavesAsWithoutTheRestore() throws {
        let coupon = LedgerUnit.coupon("c-5")
        let rules = [
            try RewardRule(
                id: "invite",
                shape: .inviteFixed(.money(yuan(5))),
                caps: .init(perMemberCount: 2),
                holdDays: 3
            ),
            try RewardRule(
                id: "share",
                shape: .commission(levelRates: [.percent(10), .percent(5)], skuOverrides: []),
                holdDays: 3
            ),
            try RewardRule(
                id: "mutual",
                shape: .mutual(sharer: RewardAmount(1, coupon), helper: RewardAmount(3, .points)),
                caps: .init(perMemberCount: 3)
            ),
        ]
        var settlement = try settlement(rules)
        try settlement.fund(campaignID, amount: RewardAmount(100, coupon), id: "coupons", at: start)
        try settlement.fund(campaignID, amount: RewardAmount(100, .points), id: "points", at: start)

        enum Step {
            case settle(EventID, RewardEvent)
            case release(Int)
            case reject(Int)
            case advance(Int64)
        }
        let steps: [Step] = [
            .settle("r-bob", .memberRegistered(member: "bob", inviter: "alice", at: at(days: 1))),
            .settle("r-carol", .memberRegistered(member: "carol", inviter: "alice", at: at(days: 1))),
            .settle("r-dave", .memberRegistered(member: "dave", inviter: "alice", at: at(days: 1))),
            .settle("h-1", .helped(sharer: "alice", helper: "bob", at: at(days: 1))),
            .settle("h-2", .helped(sharer: "bob", helper: "alice", at: at(days: 1))),
            .settle("p-1", try paid("o-1", buyer: "carol", inviters: ["bob", "alice"], yuan: 100)),
            .settle("p-2", try paid("o-2", buyer: "dave", inviters: ["bob", "alice"], yuan: 50)),
            .release(0),
            .reject(1),
            .settle("h-3", .helped(sharer: "alice", helper: "bob", at: at(days: 2))),
            .settle("h-4", .helped(sharer: "alice", helper: "bob", at: at(days: 2))),
            .settle(
                "f-1",
                .orderRefunded(order: "o-1", amount: Money(minorUnits: 3_333, currency: .cny), at: at(days: 2))
            ),
            .advance(5),
            .settle(
                "f-2",
                .orderRefunded(order: "o-1", amount: Money(minorUnits: 6_667, currency: .cny), at: at(days: 6))
            ),
            .settle("f-3", .orderRefunded(order: "o-2", amount: yuan(20), at: at(days: 6))),
        ]
        enum Result: Equatable {
            case settled(SettlementOutcome)
            case decided(Ledger.Outcome)
            case posted([TransferID])
        }
        // `held`: the held grants in settle order, for the operators' steps.
        func run(_ step: Step, on settlement: inout Settlement, held: inout [TransferID]) throws -> Result {
            switch step {
            case .settle(let id, let event):
                let outcome = try settlement.settle(event, id: id, campaign: campaignID)
                held += outcome.grants.filter(\.isHeld).map(\.transfer)
                return .settled(outcome)
            case .release(let index):
                return .decided(try settlement.release(held[index], command: "ok", at: at(days: 2)))
            case .reject(let index):
                return .decided(try settlement.reject(held[index], command: "no", at: at(days: 2)))
            case .advance(let days):
                return .posted(settlement.advance(to: at(days: days)))
            }
        }
        var held: [TransferID] = []
        var outcomes: [Result] = []
        var snapshots: [[UInt8]] = []
        for step in steps {
            snapshots.append(settlement.snapshot())
            outcomes.append(try run(step, on: &settlement, held: &held))
        }
        let final = settlement.snapshot()
        #expect(settlement.ledger.audit().isEmpty)
        #expect(settlement.granted(by: "invite", to: "alice", in: campaignID).count == 2)
        #expect(settlement.granted(by: "mutual", to: "alice", in: campaignID).count == 3)

        for (cut, bytes) in snapshots.enumerated() {
            var restored = try Settlement(snapshot: bytes)
            var restoredHeld = Array(held.prefix { $0.rawValue <= Int64(restored.ledger.transferCount) })
            for (index, step) in steps.enumerated().dropFirst(cut) {
                #expect(
                    try run(step, on: &restored, held: &restoredHeld) == outcomes[index],
                    "cut \(cut), step \(index)"
                )
            }
            #expect(restored.snapshot() == final, "cut \(cut)")
            // Every event repeats as the first outcome did, marked as a duplicate.
            for (index, step) in steps.enumerated() {
                guard case .settle(let id, let event) = step, case .settled(let first) = outcomes[index] else {
                    continue
                }
                let again = try restored.settle(event, id: id, campaign: campaignID)
                #expect(again.isDuplicate && !first.isDuplicate)
                #expect(again.grants == first.grants && again.skipped == first.skipped, "\(id)")
                #expect(again.reversals == first.reversals, "\(id)")
            }
            #expect(restored.snapshot() == final, "cut \(cut): duplicates changed the state")
        }
    }

    /// Held grants: released once, rejected once, and neither decision repeats into a second
    /// posting or void; a refund after the decisions reverses only what was paid.
    @Test func releasedAndRejectedHeldGrantsAreDecidedOnce() throws {
        let rule = try RewardRule(id: "buyer", shape: .orderFixed(.money(yuan(5))), holdDays: 7)
        var settlement = try settlement([rule])
        let first = try settlement.settle(try paid("o-1", buyer: "bob", yuan: 100), id: "p-1", campaign: campaignID)
        let second = try settlement.settle(try paid("o-2", buyer: "bob", yuan: 100), id: "p-2", campaign: campaignID)
        let kept = try #require(first.grants.first?.transfer)
        let dropped = try #require(second.grants.first?.transfer)

        let release = try settlement.release(kept, command: "approve", at: at(days: 2))
        #expect(!release.isDuplicate)
        #expect(try settlement.release(kept, command: "approve-again", at: at(days: 2)).isDuplicate)
        #expect(throws: FissionError(code: .transferNotPending)) {
            try settlement.reject(kept, command: "too-late", at: at(days: 2))
        }
        #expect(!(try settlement.reject(dropped, command: "fraud", at: at(days: 2))).isDuplicate)
        #expect(try settlement.reject(dropped, command: "fraud", at: at(days: 2)).isDuplicate)
        #expect(throws: FissionError(code: .transferNotPending)) {
            try settlement.release(dropped, command: "oops", at: at(days: 2))
        }
        // Not grants: a funding transfer and a transfer that does not exist.
        #expect(throws: FissionError(code: .transferNotPending)) {
            try settlement.release(TransferID(rawValue: 1), command: "x", at: at(days: 2))
        }
        #expect(throws: FissionError(code: .transferNotFound)) {
            try settlement.release(TransferID(rawValue: 999), command: "x", at: at(days: 2))
        }
        #expect(settlement.advance(to: at(days: 20)).isEmpty)
        #expect(settlement.ledger.balance(of: .wallet("bob", cny)).available == 500)

        for var copy in [settlement, try Settlement(snapshot: settlement.snapshot())] {
            let refundKept = RewardEvent.orderRefunded(order: "o-1", amount: yuan(50), at: at(days: 21))
            #expect(try copy.settle(refundKept, id: "f-1", campaign: campaignID).reversals.count == 1)
            let refundDropped = RewardEvent.orderRefunded(order: "o-2", amount: yuan(100), at: at(days: 21))
            #expect(try copy.settle(refundDropped, id: "f-2", campaign: campaignID).reversals.isEmpty)
            #expect(copy.ledger.balance(of: .wallet("bob", cny)).available == 250)
            #expect(copy.ledger.balance(of: .budget(campaignID, cny)).available == 1_000_000 - 250)
            #expect(copy.ledger.audit().isEmpty)
        }
    }

    /// Partial voids and reversals through the public ledger, 20 of each keyed under one refund
    /// event (past the key chain's limit): each key is made once, repeats as its duplicate, and is
    /// refused for another transfer or amount.
    @Test func voidAndReversalKeysPastTheChainLimitAreEachUsedOnce() throws {
        var ledger = Ledger()
        let budget = AccountKey.budget(campaignID, cny)
        let reason = TransferReason(command: "refund")
        try ledger.transfer(
            key: TransferKey(.funding, campaign: campaignID, source: "fund"),
            debit: .outside(cny),
            credit: budget,
            amount: 10_000,
            reason: TransferReason(command: "fund"),
            at: start
        )
        var held: [TransferID] = []
        var posted: [TransferID] = []
        for member in 0..<20 {
            let wallet = AccountKey.wallet(MemberID(Int64(member)), cny)
            for (list, hold) in [(0, at(days: 9)), (1, nil)] as [(Int, Timestamp?)] {
                let made = try ledger.transfer(
                    key: grantKey(
                        campaignID,
                        rule: "r",
                        beneficiary: MemberID(Int64(member)),
                        source: "pay",
                        part: Int32(list)
                    ),
                    debit: budget,
                    credit: wallet,
                    amount: 100,
                    holdUntil: hold,
                    reason: reason,
                    at: start
                )
                if list == 0 { held.append(made.first!) } else { posted.append(made.first!) }
            }
        }
        // Part 0 voids the held grant in part, part 1 reverses the posted one.
        func key(_ part: Int32, _ member: Int) -> TransferKey {
            TransferKey(
                .reversal,
                campaign: campaignID,
                rule: "r",
                beneficiary: MemberID(Int64(member)),
                source: "refund",
                part: part
            )
        }
        var voids: [TransferID] = []
        var reversals: [TransferID] = []
        for member in 0..<20 {
            let void = try ledger.void(held[member], amount: 30, key: key(0, member), reason: reason, at: start)
            #expect(!void.isDuplicate)
            voids.append(void.first!)
            let reversal = try ledger.reverse(
                posted[member],
                amount: 40,
                key: key(1, member),
                reason: reason,
                at: start
            )
            #expect(!reversal.isDuplicate)
            reversals.append(reversal.first!)
        }
        let count = ledger.transferCount
        for member in 0..<20 {
            let again = try ledger.void(held[member], amount: 30, key: key(0, member), reason: reason, at: start)
            #expect(again.isDuplicate && again.first == voids[member])
            #expect(ledger.transfer(forKey: key(0, member))?.id == voids[member])
            #expect(ledger.transfer(forKey: key(1, member))?.id == reversals[member])
            #expect(throws: FissionError(code: .idempotencyConflict)) {
                try ledger.void(held[member], amount: 31, key: key(0, member), reason: reason, at: start)
            }
            #expect(throws: FissionError(code: .idempotencyConflict)) {
                try ledger.void(held[(member + 1) % 20], amount: 30, key: key(0, member), reason: reason, at: start)
            }
            #expect(throws: FissionError(code: .idempotencyConflict)) {
                try ledger.reverse(posted[member], amount: 40, key: key(0, member), reason: reason, at: start)
            }
            // A retried reversal must name the same amount: the key's legs are summed and compared.
            #expect(throws: FissionError(code: .idempotencyConflict)) {
                try ledger.reverse(posted[member], amount: 39, key: key(1, member), reason: reason, at: start)
            }
        }
        #expect(ledger.transferCount == count)
        for member in 0..<20 {
            let balance = ledger.balance(of: .wallet(MemberID(Int64(member)), cny))
            #expect(balance.pending == 70 && balance.available == 60)
        }
        #expect(ledger.audit().isEmpty)
    }

    /// The host funds under the same id as an event it then settles: the funding key and the 20
    /// grant keys share one source event, and each is found and made once.
    @Test func aFundingKeyAndGrantKeysUnderOneSourceEventStayApart() throws {
        let rules = try (0..<20).map { try RewardRule(id: RuleID("fixed-\($0)"), shape: .orderFixed(.money(yuan(1)))) }
        var settlement = try settlement(rules)
        let funding = try settlement.fund(campaignID, amount: .money(yuan(5)), id: "pay-1", at: start)
        let event = try paid("o-1", buyer: "bob", yuan: 100)
        let first = try settlement.settle(event, id: "pay-1", campaign: campaignID)
        #expect(first.grants.count == 20)
        for var copy in [settlement, try Settlement(snapshot: settlement.snapshot())] {
            #expect(try copy.settle(event, id: "pay-1", campaign: campaignID).grants == first.grants)
            let again = try copy.fund(campaignID, amount: .money(yuan(5)), id: "pay-1", at: start)
            #expect(again.isDuplicate && again.first == funding.first)
            let fundingKey = TransferKey(.funding, campaign: campaignID, source: "pay-1")
            #expect(copy.ledger.transfer(forKey: fundingKey)?.id == funding.first)
            #expect(copy.ledger.balance(of: .wallet("bob", cny)).available == 2_000)
            #expect(copy.ledger.balance(of: .budget(campaignID, cny)).available == 1_000_500 - 2_000)
        }
    }

    /// A member paid in two units by one mutual rule has one count cap for the rule (a grant is
    /// a grant, in either unit), and each grant lands in the wallet of its own unit, with or
    /// without a restore between the grants (a restored slot has forgotten its wallet).
    @Test func aMemberPaidInTwoUnitsHasOneCountCapAndTwoWalletsAcrossARestore() throws {
        let coupon = LedgerUnit.coupon("c-5")
        let rule = try RewardRule(
            id: "mutual",
            shape: .mutual(sharer: RewardAmount(1, coupon), helper: RewardAmount(3, .points)),
            caps: .init(perMemberCount: 2)
        )
        var original = try settlement([rule])
        try original.fund(campaignID, amount: RewardAmount(10, coupon), id: "coupons", at: start)
        try original.fund(campaignID, amount: RewardAmount(100, .points), id: "points", at: start)
        try original.settle(.helped(sharer: "bob", helper: "alice", at: at(days: 1)), id: "h-1", campaign: campaignID)
        try original.settle(.helped(sharer: "alice", helper: "bob", at: at(days: 1)), id: "h-2", campaign: campaignID)
        var restored = try Settlement(snapshot: original.snapshot())
        for settlement in [original, restored] {
            #expect(settlement.granted(by: "mutual", to: "alice", in: campaignID) == (2, 4))
        }
        let third = RewardEvent.helped(sharer: "alice", helper: "carol", at: at(days: 1))
        let fromOriginal = try original.settle(third, id: "h-3", campaign: campaignID)
        let fromRestored = try restored.settle(third, id: "h-3", campaign: campaignID)
        #expect(fromOriginal == fromRestored)
        #expect(fromOriginal.skipped.map(\.beneficiary) == ["alice"])
        #expect(fromOriginal.skipped.first?.reason == .capReached)
        #expect(fromOriginal.grants.map(\.beneficiary) == ["carol"])
        for settlement in [original, restored] {
            #expect(settlement.ledger.balance(of: .wallet("alice", coupon)).available == 1)
            #expect(settlement.ledger.balance(of: .wallet("alice", .points)).available == 3)
            #expect(settlement.ledger.balance(of: .wallet("bob", coupon)).available == 1)
            #expect(settlement.ledger.balance(of: .wallet("bob", .points)).available == 3)
            #expect(settlement.ledger.balance(of: .wallet("carol", .points)).available == 3)
            #expect(settlement.ledger.audit().isEmpty)
        }
        #expect(original == restored)
    }
}
