import FissionCore
import FissionRewards
import Foundation

// What the settlement tests share: one start time, yuan, a 30-day CNY campaign, a funded
// settlement and a paid order of one line. Each file keeps its own campaign id.

let cny = LedgerUnit.money(.cny)
let start = try! Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)

func at(days: Int64, hours: Int64 = 0) -> Timestamp {
    try! start.adding(milliseconds: days * Timestamp.millisecondsPerDay + hours * 3_600_000)
}

func yuan(_ value: Int64) -> Money { Money(minorUnits: value * 100, currency: .cny) }

/// A CNY campaign from `start` for 30 days, in China Standard Time.
func thirtyDayCampaign(
    _ id: CampaignID,
    _ rules: [RewardRule],
    revision: SettlementRevision = .latest
) throws -> RewardCampaign {
    try RewardCampaign(
        id: id,
        startsAt: start,
        endsAt: at(days: 30),
        offset: .chinaStandardTime,
        currency: .cny,
        rules: rules,
        settlementRevision: revision
    )
}

/// A settlement with one 30-day campaign per id, each funded with `budgetYuan` at `start`.
func fundedSettlement(
    _ rules: [RewardRule],
    campaigns: [CampaignID],
    budgetYuan: Int64,
    revision: SettlementRevision = .latest,
    fundID: (CampaignID) throws -> EventID = { _ in "fund" }
) throws -> Settlement {
    var settlement = Settlement()
    for id in campaigns {
        try settlement.addCampaign(thirtyDayCampaign(id, rules, revision: revision))
        try settlement.fund(id, amount: .money(yuan(budgetYuan)), id: fundID(id), at: start)
    }
    return settlement
}

/// An order paid in one line of `sku-1`.
func paidOrder(
    _ id: OrderID,
    buyer: MemberID,
    inviters: [MemberID] = [],
    kind: OrderKind = .regular,
    count: Int64 = 1,
    paidYuan: Int64,
    day: Int64 = 1
) throws -> RewardEvent {
    .orderPaid(
        try OrderPaid(
            order: id,
            buyer: buyer,
            inviters: inviters,
            kind: kind,
            buyerPaidOrderCount: count,
            lines: [.init(sku: "sku-1", quantity: 1, netPaid: yuan(paidYuan))],
            at: at(days: day)
        )
    )
}

/// The seeds a randomized suite runs: `ciCount` seeds from `base`, or as many as
/// `FISSION_PROPERTY_SEEDS` says, for a long run by hand (Contributing.md):
/// `FISSION_PROPERTY_SEEDS=2000 swift test --filter FissionRewardsTests`.
func propertySeeds(from base: UInt64, ciCount: Int) -> [UInt64] {
    let count = ProcessInfo.processInfo.environment["FISSION_PROPERTY_SEEDS"].flatMap { Int($0) } ?? ciCount
    return (0..<UInt64(max(count, 1))).map { base + $0 }
}

/// Bob's wallet in a payout scenario: a 30% level-one commission, posted at once, on carol's
/// 100-yuan order `o1` in `campaign` (funded with 1,000 yuan) paid him 30 yuan. With `inDebt`, he
/// then withdrew 25 (`w1`, day 2) and `o1` was refunded in full (day 3), so he owes 25; with
/// `earningAgain`, dave's 100-yuan order `o2` pays him 30 more.
func payoutSettlement(_ campaign: CampaignID, inDebt: Bool = false, earningAgain: Bool = false) throws -> Settlement {
    let rule = try RewardRule(
        id: "distribution",
        shape: .commission(levelRates: [.percent(30)], skuOverrides: []),
        holdDays: 0
    )
    var settlement = try fundedSettlement([rule], campaigns: [campaign], budgetYuan: 1_000)
    try settlement.settle(
        try paidOrder("o1", buyer: "carol", inviters: ["bob"], paidYuan: 100),
        id: "o1:paid",
        campaign: campaign
    )
    if inDebt {
        try settlement.withdraw(.money(yuan(25)), from: "bob", id: "w1", at: at(days: 2))
        try settlement.settle(
            .orderRefunded(order: "o1", amount: yuan(100), at: at(days: 3)),
            id: "o1:refund",
            campaign: campaign
        )
    }
    if earningAgain {
        try settlement.settle(
            try paidOrder("o2", buyer: "dave", inviters: ["bob"], paidYuan: 100),
            id: "o2:paid",
            campaign: campaign
        )
    }
    return settlement
}
