import FissionCore
import FissionRewards
import Testing

// Amounts at Int64's edge and weights that cannot split (a review of 2026-12-05): each is a typed
// error, with the settlement unchanged, never a trap or a rule that silently pays nothing.

private let campaignID: CampaignID = "limits"

struct SettlementLimitsTests {
    @Test func aRetroactiveTopUpPastInt64IsAnOverflowErrorAndChangesNothing() throws {
        let ladder = try RewardRule(
            id: "ladder",
            shape: .ladder(
                unit: cny,
                tiers: [.init(fromCount: 1, amountEach: 1), .init(fromCount: 3, amountEach: Int64.max / 2 + 1)],
                semantics: .retroactive
            )
        )
        var settlement = try fundedSettlement([ladder], campaigns: [campaignID], budgetYuan: 1)
        for invite in 1...2 {
            try settlement.settle(
                .memberRegistered(member: MemberID("m\(invite)"), inviter: "alice", at: at(days: 1)),
                id: EventID("r\(invite)"),
                campaign: campaignID
            )
        }
        let before = settlement
        // The third invite's top-up is 2 x (Int64.max / 2 + 1) - 2: past Int64.max.
        let error = #expect(throws: FissionError.self) {
            try settlement.settle(
                .memberRegistered(member: "m3", inviter: "alice", at: at(days: 1)),
                id: "r3",
                campaign: campaignID
            )
        }
        #expect(error?.code == .arithmeticOverflow)
        #expect(settlement == before)
    }

    @Test func milestoneWeightsThatCannotSplitTheTotalAreAnInvalidRule() {
        let error = #expect(throws: FissionError.self) {
            try RewardRule(
                id: "milestones",
                shape: .milestoneSplit(
                    total: .money(yuan(50)),
                    weights: [.init(.registered, Int64.max), .init(.firstOrder, 1)]
                )
            )
        }
        #expect(error?.code == .invalidRule)
    }
}
