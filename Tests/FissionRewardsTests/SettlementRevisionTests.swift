import FissionCore
import FissionRewards
import Foundation
import Testing

// Settlement revisions (Decisions 0027 and 0030): a campaign built now settles under revision
// three; revision two corrected three rules and revision three pays a `mutual` rule as its
// eligibility and hold say. A campaign built before keeps its revision's arithmetic, so that its
// journal replays to what it recorded. Each correction is pinned under the revisions either side.

private let campaignID: CampaignID = "revised"

private func settlement(
    _ rules: [RewardRule],
    revision: SettlementRevision,
    budgetYuan: Int64 = 100_000
) throws -> Settlement {
    try fundedSettlement(rules, campaigns: [campaignID], budgetYuan: budgetYuan, revision: revision)
}

/// Registers `count` friends of alice, numbered from `first`.
@discardableResult
private func invite(
    _ count: Int,
    from first: Int = 0,
    into settlement: inout Settlement
) throws -> [SettlementOutcome] {
    try (first..<(first + count)).map { index in
        try settlement.settle(
            .memberRegistered(member: MemberID("friend-\(index)"), inviter: "alice", at: at(days: 1)),
            id: EventID("register-\(index)"),
            campaign: campaignID
        )
    }
}

private func alice(_ settlement: Settlement) -> AccountBalance {
    settlement.ledger.balance(of: .wallet("alice", cny))
}

private func ladder(_ tiers: [RewardRule.LadderTier], holdDays: Int64 = 0) throws -> RewardRule {
    try RewardRule(id: "ladder", shape: .ladder(unit: cny, tiers: tiers, semantics: .retroactive), holdDays: holdDays)
}

struct SettlementRevisionTests {
    @Test("a campaign is built under the latest revision unless it names one")
    func theDefaultIsTheLatest() throws {
        let rule = try ladder([.init(fromCount: 1, amountEach: 100)])
        let campaign = try RewardCampaign(
            id: campaignID,
            startsAt: start,
            endsAt: at(days: 30),
            offset: .chinaStandardTime,
            currency: .cny,
            rules: [rule]
        )
        #expect(campaign.settlementRevision == .latest)
        #expect(SettlementRevision.latest == .three)
        #expect(SettlementRevision.allCases.map(\.rawValue) == [1, 2, 3])
    }

    @Test(
        "a retroactive ladder whose first tier pays 0: revision two reprices the free invites",
        arguments: [(SettlementRevision.one, Int64(20)), (.two, 100)]
    )
    func aFreeTierIsRepriced(revision: SettlementRevision, expectedYuan: Int64) throws {
        var settlement = try settlement(
            [try ladder([.init(fromCount: 1, amountEach: 0), .init(fromCount: 5, amountEach: 2_000)])],
            revision: revision
        )
        try invite(4, into: &settlement)
        #expect(alice(settlement).total == 0)
        try invite(1, from: 4, into: &settlement)
        #expect(alice(settlement).total == expectedYuan * 100)
        // The 6th pays its own 20 and tops up nothing more under either revision.
        try invite(1, from: 5, into: &settlement)
        #expect(alice(settlement).total == (expectedYuan + 20) * 100)
        #expect(settlement.ledger.audit().isEmpty)
    }

    @Test(
        "a rejected ladder grant: revision two leaves it out of later top-ups",
        arguments: [(SettlementRevision.one, Int64(30 + 40 + 20)), (.two, 30 + 30 + 20)]
    )
    func aRejectedInviteIsNotRepriced(revision: SettlementRevision, expectedYuan: Int64) throws {
        // Held for 7 days, so an operator can reject a grant.
        var settlement = try settlement(
            [
                try ladder(
                    [.init(fromCount: 1, amountEach: 1_000), .init(fromCount: 5, amountEach: 2_000)],
                    holdDays: 7
                )
            ],
            revision: revision
        )
        let outcomes = try invite(4, into: &settlement)
        #expect(alice(settlement).total == 4_000)
        // The second friend was a fake: their 10 goes back to the budget.
        let fake = try #require(outcomes[1].grants.first)
        try settlement.reject(fake.transfer, command: "reject-1", at: at(days: 2))
        #expect(alice(settlement).total == 3_000)
        // A snapshot taken now continues the same way: the ladder's progress is in it.
        var restored = try Settlement(snapshot: settlement.snapshot())
        // The 5th invite pays 20 and reprices the earlier paid invites to 20 each: three under
        // revision two (30 more), four under revision one (40 more, the rejected one included).
        try invite(1, from: 4, into: &settlement)
        #expect(alice(settlement).total == expectedYuan * 100)
        #expect(settlement.ledger.audit().isEmpty)
        try invite(1, from: 4, into: &restored)
        #expect(restored == settlement)
    }

    @Test(
        "a rejected top-up stays rejected under both revisions: the ladder still counts it as paid",
        arguments: SettlementRevision.allCases
    )
    func aRejectedTopUpIsFinal(revision: SettlementRevision) throws {
        var settlement = try settlement(
            [
                try ladder(
                    [
                        .init(fromCount: 1, amountEach: 1_000), .init(fromCount: 5, amountEach: 2_000),
                        .init(fromCount: 7, amountEach: 2_500),
                    ],
                    holdDays: 7
                )
            ],
            revision: revision
        )
        try invite(4, into: &settlement)
        let fifth = try #require(try invite(1, from: 4, into: &settlement).first)
        let topUp = try #require(fifth.grants.first { $0.part == 1 })
        #expect(topUp.amount.quantity == 4_000)
        try settlement.reject(topUp.transfer, command: "reject-top-up", at: at(days: 2))
        let again = try settlement.reject(topUp.transfer, command: "reject-top-up", at: at(days: 2))
        #expect(again.isDuplicate)
        // The 6th invite pays its own 20 and no top-up: the rejected 40 is not paid again.
        let sixth = try #require(try invite(1, from: 5, into: &settlement).first)
        #expect(sixth.grants.map(\.amount.quantity) == [2_000])
        // The 7th reaches 25 each: its own 25, and 5 more for each of the six earlier invites,
        // which the ladder counts at 20 (the rejected top-up included).
        let seventh = try #require(try invite(1, from: 6, into: &settlement).first)
        #expect(seventh.grants.map(\.amount.quantity) == [2_500, 3_000])
        #expect(alice(settlement).total == (40 + 20 + 20 + 25 + 30) * 100)
        #expect(settlement.ledger.audit().isEmpty)
    }

    @Test("a fake invite that a top-up repriced leaves the ladder at its repriced worth: the valid invites stay exact")
    func aFakeInviteAndItsTopUp() throws {
        let tiers: [RewardRule.LadderTier] = [
            .init(fromCount: 1, amountEach: 1_000), .init(fromCount: 2, amountEach: 2_000),
            .init(fromCount: 4, amountEach: 3_000),
        ]
        // Rewards.md, "Settlement revisions": the two ways an operator can treat the fake 1st invite.
        for rejectTopUp in [false, true] {
            var settlement = try settlement([try ladder(tiers, holdDays: 7)], revision: .two)
            let fake = try #require(try invite(1, into: &settlement).first?.grants.first)
            let second = try #require(try invite(1, from: 1, into: &settlement).first)
            let topUp = try #require(second.grants.first { $0.part == 1 })
            #expect(topUp.amount.quantity == 1_000)
            try settlement.reject(fake.transfer, command: "reject-fake", at: at(days: 2))
            if rejectTopUp { try settlement.reject(topUp.transfer, command: "reject-top-up", at: at(days: 2)) }
            try invite(2, from: 2, into: &settlement)
            // Three valid invites at 30: 90 to them, plus the 10 the top-up paid for the fake if the
            // operator let it stand.
            #expect(alice(settlement).total == (rejectTopUp ? 90 : 100) * 100, "rejectTopUp \(rejectTopUp)")
            #expect(settlement.ledger.audit().isEmpty)
        }
    }

    @Test("a rejected invite that a skipped top-up did not reprice leaves at its own grant")
    func aRejectedInviteAfterASkippedTopUp() throws {
        // 40 yuan of budget: four invites at 10; the 5th's own 20 fits after the budget is topped
        // up by 20, its top-up of 40 does not.
        var settlement = try settlement(
            [
                try ladder(
                    [.init(fromCount: 1, amountEach: 1_000), .init(fromCount: 5, amountEach: 2_000)],
                    holdDays: 7
                )
            ],
            revision: .two,
            budgetYuan: 40
        )
        let outcomes = try invite(4, into: &settlement)
        try settlement.fund(campaignID, amount: .money(yuan(20)), id: "more", at: at(days: 1))
        let fifth = try #require(try invite(1, from: 4, into: &settlement).first)
        #expect(fifth.grants.map(\.amount.quantity) == [2_000])
        #expect(fifth.skipped.count == 1)
        try settlement.reject(try #require(outcomes[1].grants.first).transfer, command: "reject", at: at(days: 2))
        try settlement.fund(campaignID, amount: .money(yuan(1_000)), id: "plenty", at: at(days: 2))
        // The 6th: 20 of its own and the standing invites 1, 3, 4 topped up from 10 to 20 (30).
        let sixth = try #require(try invite(1, from: 5, into: &settlement).first)
        #expect(sixth.grants.map(\.amount.quantity) == [2_000, 3_000])
        #expect(alice(settlement).total == (30 + 20 + 20 + 30) * 100)
    }

    @Test("an invite priced at 0 has no grant to reject: rejecting the top-up that repriced it is final")
    func aFreeInviteIsExcludedOnlyWithItsTopUp() throws {
        // Two invites at 0, then 10 each from the 3rd, repricing the first two.
        var settlement = try settlement(
            [
                try ladder(
                    [.init(fromCount: 1, amountEach: 0), .init(fromCount: 3, amountEach: 1_000)],
                    holdDays: 7
                )
            ],
            revision: .two
        )
        try invite(2, into: &settlement)
        let third = try #require(try invite(1, from: 2, into: &settlement).first)
        #expect(third.grants.map(\.amount.quantity) == [1_000, 2_000])
        // The first friend was a fake. Their invite made no grant; the operator rejects the top-up
        // that repriced both free invites, the real one's 10 with it.
        let topUp = try #require(third.grants.first { $0.part == 1 })
        try settlement.reject(topUp.transfer, command: "reject-top-up", at: at(days: 2))
        let fourth = try #require(try invite(1, from: 3, into: &settlement).first)
        #expect(fourth.grants.map(\.amount.quantity) == [1_000])
        #expect(alice(settlement).total == 2_000)
        #expect(settlement.ledger.audit().isEmpty)
    }

    /// A 50-yuan reward for alice's invites, split 15/15/20 over registration, first order and
    /// repurchase, excluding `excluded` orders.
    private static func split(excluding excluded: [OrderKind] = []) throws -> RewardRule {
        try RewardRule(
            id: "invite-50",
            shape: .milestoneSplit(
                total: .money(yuan(50)),
                weights: [.init(.registered, 15), .init(.firstOrder, 15), .init(.repurchase, 20)]
            ),
            eligibility: .init(excludedOrderKinds: excluded)
        )
    }

    /// Registers bob, invited by alice.
    private static func registerBob(in settlement: inout Settlement) throws {
        try settlement.settle(
            .memberRegistered(member: "bob", inviter: "alice", at: at(days: 1)),
            id: "register-bob",
            campaign: campaignID
        )
    }

    /// Settles bob's paid order number `count` ("o<count>", 80 yuan, alice his inviter).
    @discardableResult
    private static func bobPays(
        _ count: Int64,
        kind: OrderKind = .regular,
        in settlement: inout Settlement
    ) throws -> SettlementOutcome {
        try settlement.settle(
            try paidOrder(
                OrderID("o\(count)"),
                buyer: "bob",
                inviters: ["alice"],
                kind: kind,
                count: count,
                paidYuan: 80
            ),
            id: EventID("o\(count)"),
            campaign: campaignID
        )
    }

    @Test(
        "the repurchase part when the 2nd order earns nothing: revision two pays it on the 3rd, once",
        arguments: [(SettlementRevision.one, Int64(15 + 15)), (.two, 15 + 15 + 20)]
    )
    func repurchaseAfterAnExcludedSecondOrder(revision: SettlementRevision, expectedYuan: Int64) throws {
        var settlement = try settlement([try Self.split(excluding: [.bargain])], revision: revision)
        try Self.registerBob(in: &settlement)
        for (count, kind) in [(Int64(1), OrderKind.regular), (2, .bargain), (3, .regular), (4, .regular)] {
            try Self.bobPays(count, kind: kind, in: &settlement)
        }
        #expect(alice(settlement).total == expectedYuan * 100)
        #expect(settlement.ledger.audit().isEmpty)
    }

    @Test(
        "the repurchase part skipped for lack of budget on the 2nd order: revision two pays it on a later one",
        arguments: [(SettlementRevision.one, Int64(30)), (.two, 50)]
    )
    func repurchaseAfterABudgetSkip(revision: SettlementRevision, expectedYuan: Int64) throws {
        // 40 yuan: the registration and the first order take 30, the repurchase's 20 does not fit.
        var settlement = try settlement([try Self.split()], revision: revision, budgetYuan: 40)
        try Self.registerBob(in: &settlement)
        for count: Int64 in 1...2 { try Self.bobPays(count, in: &settlement) }
        #expect(alice(settlement).total == 3_000)
        try settlement.fund(campaignID, amount: .money(yuan(100)), id: "top-up-budget", at: at(days: 2))
        let third = try Self.bobPays(3, in: &settlement)
        #expect(third.grants.map(\.part) == (revision == .one ? [] : [Milestone.repurchase.rawValue]))
        #expect(alice(settlement).total == expectedYuan * 100)
    }

    @Test(
        "a repurchase part refunded with its order is not paid again by a later order",
        arguments: SettlementRevision.allCases
    )
    func aRefundedRepurchaseIsNotPaidAgain(revision: SettlementRevision) throws {
        var settlement = try settlement([try Self.split()], revision: revision)
        try Self.registerBob(in: &settlement)
        for count: Int64 in 1...2 { try Self.bobPays(count, in: &settlement) }
        #expect(alice(settlement).total == 5_000)
        try settlement.settle(
            .orderRefunded(order: "o2", amount: yuan(80), at: at(days: 2)),
            id: "refund-o2",
            campaign: campaignID
        )
        #expect(alice(settlement).total == 3_000)
        #expect(try Self.bobPays(3, in: &settlement).grants.isEmpty)
        #expect(alice(settlement).total == 3_000)
        #expect(settlement.ledger.audit().isEmpty)
    }

    // MARK: - Mutual rules (revision three)

    private static func mutual(newMembersOnly: Bool = false, holdDays: Int64 = 0) throws -> RewardRule {
        try RewardRule(
            id: "mutual",
            shape: .mutual(sharer: .money(yuan(1)), helper: .money(Money(minorUnits: 50, currency: .cny))),
            eligibility: .init(newMembersOnly: newMembersOnly),
            holdDays: holdDays
        )
    }

    @Test(
        "a mutual rule for new members only: revision three pays a help only from a helper who registered in the campaign",
        arguments: [(SettlementRevision.two, 2), (.three, 0)]
    )
    func mutualForNewMembersOnly(revision: SettlementRevision, grantsForAStranger: Int) throws {
        var settlement = try settlement([try Self.mutual(newMembersOnly: true)], revision: revision)
        let stranger = try settlement.settle(
            .helped(sharer: "alice", helper: "stranger", at: at(days: 1)),
            id: "help-1",
            campaign: campaignID
        )
        #expect(stranger.grants.count == grantsForAStranger)
        try settlement.settle(
            .memberRegistered(member: "newcomer", inviter: "alice", at: at(days: 1)),
            id: "register",
            campaign: campaignID
        )
        let newcomer = try settlement.settle(
            .helped(sharer: "alice", helper: "newcomer", at: at(days: 2)),
            id: "help-2",
            campaign: campaignID
        )
        #expect(newcomer.grants.map(\.beneficiary) == ["alice", "newcomer"])
        #expect(alice(settlement).total == Int64(grantsForAStranger / 2 + 1) * 100)
        #expect(settlement.ledger.audit().isEmpty)
    }

    @Test(
        "a mutual rule's hold: revision three holds both grants for holdDays, and they post when it ends",
        arguments: [SettlementRevision.two, .three]
    )
    func mutualHold(revision: SettlementRevision) throws {
        var settlement = try settlement([try Self.mutual(holdDays: 7)], revision: revision)
        let outcome = try settlement.settle(
            .helped(sharer: "alice", helper: "bob", at: at(days: 1)),
            id: "help",
            campaign: campaignID
        )
        let isHeld = revision >= .three
        #expect(outcome.grants.map(\.isHeld) == [isHeld, isHeld])
        #expect(alice(settlement).pending == (isHeld ? 100 : 0))
        #expect(alice(settlement).available == (isHeld ? 0 : 100))
        #expect(settlement.advance(to: try at(days: 8).adding(milliseconds: -1)).isEmpty)
        #expect(settlement.advance(to: at(days: 8)).count == (isHeld ? 2 : 0))
        #expect(alice(settlement).available == 100)
        #expect(settlement.ledger.balance(of: .wallet("bob", cny)).available == 50)
        #expect(settlement.ledger.audit().isEmpty)
    }

    // MARK: - Keeping a campaign's revision

    /// A settlement with two campaigns, "old" and "new", under the given revisions.
    private static func twoCampaigns(_ old: SettlementRevision, _ new: SettlementRevision) throws -> Settlement {
        var settlement = Settlement()
        let rules = [try ladder([.init(fromCount: 1, amountEach: 0), .init(fromCount: 2, amountEach: 100)])]
        for (id, revision) in [("old", old), ("new", new)] {
            try settlement.addCampaign(thirtyDayCampaign(CampaignID(id), rules, revision: revision))
        }
        return settlement
    }

    @Test("a snapshot keeps each campaign's revision; versions 1 and 2 restore theirs as revision one")
    func snapshotsKeepTheRevision() throws {
        let settlement = try Self.twoCampaigns(.one, .two)
        let bytes = settlement.snapshot()
        #expect(bytes[4] == 3)
        let restored = try Settlement(snapshot: bytes)
        #expect(restored == settlement)
        #expect(restored.campaign("old")?.settlementRevision == .one)
        #expect(restored.campaign("new")?.settlementRevision == .two)

        // Each campaign's revision is one byte: the only one that differs from a snapshot where
        // that campaign has the other revision.
        func differing(_ other: [UInt8]) throws -> Int {
            try #require(bytes.count == other.count)
            let positions = bytes.indices.filter { bytes[$0] != other[$0] }
            try #require(positions.count == 1)
            return positions[0]
        }
        let old = try differing(try Self.twoCampaigns(.two, .two).snapshot())
        let new = try differing(try Self.twoCampaigns(.one, .one).snapshot())
        #expect(bytes[old] == 1 && bytes[new] == 2)

        // The same snapshot as version 2 wrote it, without the revision bytes: both campaigns are
        // revision one, as every campaign published before revisions existed.
        var versionTwo = bytes
        versionTwo.remove(at: new)
        versionTwo.remove(at: old)
        versionTwo[4] = 2
        let fromVersionTwo = try Settlement(snapshot: versionTwo)
        #expect(fromVersionTwo.campaign("old")?.settlementRevision == .one)
        #expect(fromVersionTwo.campaign("new")?.settlementRevision == .one)

        for unknown: UInt8 in [0, 4, 255] {
            var spoiled = bytes
            spoiled[new] = unknown
            #expect {
                try Settlement(snapshot: spoiled)
            } throws: { error in
                (error as? FissionError)?.code == .corruptSnapshot
                    && (error as? FissionError)?.reason.contains("settlement revision \(unknown)") == true
            }
        }
    }

    @Test("JSON: a campaign without the field is built under the latest revision; an unknown one is refused")
    func json() throws {
        let campaign = try thirtyDayCampaign(
            campaignID,
            [try ladder([.init(fromCount: 1, amountEach: 100)])],
            revision: .one
        )
        let encoded = try JSONEncoder().encode(campaign)
        #expect(try JSONDecoder().decode(RewardCampaign.self, from: encoded) == campaign)
        var object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        #expect(object["settlementRevision"] as? Int == 1)
        object["settlementRevision"] = nil
        let withoutField = try JSONDecoder().decode(
            RewardCampaign.self,
            from: try JSONSerialization.data(withJSONObject: object)
        )
        #expect(withoutField.settlementRevision == .latest)
        object["settlementRevision"] = 9
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(RewardCampaign.self, from: try JSONSerialization.data(withJSONObject: object))
        }
    }
}
