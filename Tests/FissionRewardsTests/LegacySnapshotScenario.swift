import FissionCore
import FissionRewards

// The scenario behind the version-1 snapshot fixture in `LegacySnapshotTests`: one campaign with
// a held two-level commission and a mutual rule, and one event of each kind, with integer and
// string ids. Changing it changes nothing in the fixture, which was written once by the code of
// 90d5fc2; the tests only replay these events against it.

func legacyScenarioSettlement() throws -> Settlement {
    let commission = try RewardRule(
        id: "commission",
        shape: .commission(levelRates: [try BasisPoints(1_000), try BasisPoints(500)], skuOverrides: []),
        holdDays: 7
    )
    let mutual = try RewardRule(id: 7, shape: .mutual(sharer: .money(yuan(2)), helper: .money(yuan(1))))
    return try fundedSettlement([commission, mutual], campaigns: ["legacy"], budgetYuan: 1_000)
}

func legacyScenarioEvents() throws -> [(id: EventID, event: RewardEvent)] {
    [
        ("reg-bob", .memberRegistered(member: "bob", inviter: "alice", at: at(days: 1))),
        ("reg-7", .memberRegistered(member: 7, inviter: nil, at: at(days: 1))),
        (
            "order-1:paid",
            .orderPaid(
                try OrderPaid(
                    order: "order-1",
                    buyer: 7,
                    inviters: ["bob", "alice"],
                    kind: .groupBuy,
                    buyerPaidOrderCount: 1,
                    lines: [
                        .init(sku: "tea", quantity: 2, netPaid: yuan(120)),
                        .init(sku: 9, quantity: 1, netPaid: yuan(30)),
                    ],
                    at: at(days: 2)
                )
            )
        ),
        (42, .orderRefunded(order: "order-1", amount: yuan(50), at: at(days: 3))),
        ("help-1", .helped(sharer: "bob", helper: 7, at: at(days: 4))),
    ]
}
