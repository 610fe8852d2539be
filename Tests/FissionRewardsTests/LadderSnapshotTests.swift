import FissionCore
import Testing

@testable import FissionRewards

// A ladder's progress in a settlement snapshot (version 3): counts and amounts no ladder can hold
// are refused on reading, not met later as an overflow when a grant is rejected or added.

private let campaignID: CampaignID = "ladder-snapshot"

struct LadderSnapshotTests {
    /// Two invites on a retroactive ladder (10, then 20 each from the 2nd), held 7 days.
    static func settlement() throws -> (Settlement, SettlementOutcome) {
        let ladder = try RewardRule(
            id: "ladder",
            shape: .ladder(
                unit: cny,
                tiers: [.init(fromCount: 1, amountEach: 1_000), .init(fromCount: 2, amountEach: 2_000)],
                semantics: .retroactive
            ),
            holdDays: 7
        )
        var settlement = try fundedSettlement([ladder], campaigns: [campaignID], budgetYuan: 1_000)
        var first: SettlementOutcome?
        for index in 0..<2 {
            let outcome = try settlement.settle(
                .memberRegistered(member: MemberID(Int64(index)), inviter: "alice", at: at(days: 1)),
                id: EventID(Int64(index)),
                campaign: campaignID
            )
            first = first ?? outcome
        }
        return (settlement, first!)
    }

    @Test("the ladder's latest top-up survives a snapshot, and a rejection after restoring gives the same state")
    func roundTrip() throws {
        var (settlement, first) = try Self.settlement()
        #expect(settlement.states[0].ladders[0].toppedUpRate == 2_000)
        var restored = try Settlement(snapshot: settlement.snapshot())
        #expect(restored == settlement)
        try settlement.reject(first.grants[0].transfer, command: "reject", at: at(days: 2))
        try restored.reject(first.grants[0].transfer, command: "reject", at: at(days: 2))
        #expect(restored == settlement)
        // The 1st invite left at 20, what the 2nd invite's top-up repriced it to.
        #expect(settlement.states[0].ladders[0].paidQuantity == 2_000)
    }

    @Test(
        "progress no ladder holds is corruptSnapshot",
        arguments: ["negative paid", "negative invites", "negative top-up rate", "top-up record past the ledger"]
    )
    func impossibleProgress(spoiling: String) throws {
        var (settlement, _) = try Self.settlement()
        switch spoiling {
        case "negative paid": settlement.states[0].ladders[0].paidQuantity = -2
        case "negative invites": settlement.states[0].ladders[0].paidInvites = -1
        case "negative top-up rate": settlement.states[0].ladders[0].toppedUpRate = -5
        default: settlement.states[0].ladders[0].toppedUpRecord = 1_000_000
        }
        #expect {
            try Settlement(snapshot: settlement.snapshot())
        } throws: { error in
            (error as? FissionError)?.code == .corruptSnapshot
        }
    }
}
