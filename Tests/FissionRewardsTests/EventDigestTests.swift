import FissionCore
import Testing

@testable import FissionRewards

// A settled event's digest is stored in settlement snapshots and compared when the event comes
// again: a different digest for the same event after an upgrade would turn every retry of an
// event settled before it into an idempotency conflict. These values were computed by the code
// as of ebc3384 (2026-12-05); any change to `RewardEvent.digest` must keep them.
struct EventDigestTests {
    @Test func digestsStayTheSameAcrossVersions() throws {
        let at = try Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
        let events: [RewardEvent] = [
            .memberRegistered(member: "openid-1", inviter: 42, at: at),
            .orderPaid(
                try OrderPaid(
                    order: "order-123",
                    buyer: 7,
                    inviters: ["alice", "a-much-longer-member-id"],
                    kind: .groupBuy,
                    buyerPaidOrderCount: 2,
                    lines: [
                        .init(sku: "tea", quantity: 2, netPaid: Money(minorUnits: 12_345, currency: .cny)),
                        .init(sku: 9, quantity: 1, netPaid: Money(minorUnits: 0, currency: .cny)),
                    ],
                    at: at
                )
            ),
            .orderRefunded(order: 5, amount: Money(minorUnits: 100, currency: .usd), at: at),
            .helped(sharer: "s", helper: "12345678", at: at),
        ]
        let expected: [UInt64] = [
            12_166_044_618_535_335_351, 17_365_177_840_750_166_355, 14_205_812_798_035_637_331,
            16_165_277_912_767_564_815,
        ]
        #expect(events.map(\.digest) == expected)
    }
}
