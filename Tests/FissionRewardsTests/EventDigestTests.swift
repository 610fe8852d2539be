import FissionCore
import Testing

@testable import FissionRewards

// A settled event's digest is stored in settlement snapshots and compared when the event comes
// again: a different digest for the same event after an upgrade would turn every retry of an
// event settled before it into an idempotency conflict. A campaign keeps the scheme it started
// with (Decision 0021); each scheme's values are pinned here: the double-round ones were computed
// by the code as of ebc3384 (2026-12-05), the folded-multiply ones by the commit that added the
// scheme. Any change to either must keep them.
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
        let doubleRound: [UInt64] = [
            12_166_044_618_535_335_351, 17_365_177_840_750_166_355, 14_205_812_798_035_637_331,
            16_165_277_912_767_564_815,
        ]
        #expect(events.map { $0.digest(.doubleRound) } == doubleRound)
        let foldedMultiply: [UInt64] = [
            8_688_105_915_763_769_725, 7_428_747_146_091_319_729, 11_452_047_181_791_429_351,
            13_032_049_780_004_667_998,
        ]
        #expect(events.map { $0.digest(.foldedMultiply) } == foldedMultiply)
    }

    /// Events one field apart, and the same fields in another arrangement, have distinct digests.
    @Test(arguments: [DigestScheme.doubleRound, .foldedMultiply])
    func eventsThatDifferAnywhereHaveDifferentDigests(_ scheme: DigestScheme) throws {
        let at = try Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
        func paid(
            order: OrderID = 1,
            buyer: MemberID = 2,
            inviters: [MemberID] = [3, 4],
            count: Int64 = 1,
            lines: [(SKUID, Int64, Int64)] = [(1, 1, 500)],
            at offset: Int64 = 0
        ) throws -> RewardEvent {
            .orderPaid(
                try OrderPaid(
                    order: order,
                    buyer: buyer,
                    inviters: inviters,
                    buyerPaidOrderCount: count,
                    lines: lines.map {
                        .init(sku: $0.0, quantity: $0.1, netPaid: Money(minorUnits: $0.2, currency: .cny))
                    },
                    at: try Timestamp(millisecondsSinceEpoch: at.millisecondsSinceEpoch + offset)
                )
            )
        }
        var events: [RewardEvent] = [
            try paid(), try paid(order: 2), try paid(order: "1"), try paid(buyer: 9), try paid(inviters: [3]),
            try paid(inviters: [4, 3]), try paid(inviters: [3, 5]), try paid(inviters: []), try paid(count: 2),
            try paid(lines: [(1, 1, 501)]), try paid(lines: [(1, 2, 500)]), try paid(lines: [(2, 1, 500)]),
            try paid(lines: [(1, 1, 500), (1, 1, 500)]), try paid(at: 1), try paid(at: -1),
            .memberRegistered(member: 1, inviter: nil, at: at), .memberRegistered(member: 1, inviter: 2, at: at),
            .memberRegistered(member: 2, inviter: 1, at: at), .memberRegistered(member: "1", inviter: nil, at: at),
            .orderRefunded(order: 1, amount: Money(minorUnits: 500, currency: .cny), at: at),
            .orderRefunded(order: 1, amount: Money(minorUnits: 500, currency: .usd), at: at),
            .helped(sharer: 1, helper: 2, at: at), .helped(sharer: 2, helper: 1, at: at),
        ]
        // Strings of every length around two word boundaries, and order ids of every single bit (1 and 2 are above).
        for length in 1...17 {
            events.append(
                .memberRegistered(member: try MemberID(String(repeating: "a", count: length)), inviter: nil, at: at)
            )
        }
        for bit in 2..<64 { events.append(try paid(order: OrderID(Int64(bitPattern: 1 << UInt64(bit))))) }
        // A 64-bit multiplication passes a difference in its input's top bit straight through, and
        // a shift then moves it to known bits: with one multiply-xorshift round per word, these
        // two refunds (an order id's top bit, then the amount's top bit and bit 31) would collide.
        let top = Int64.min
        events.append(.orderRefunded(order: 5, amount: Money(minorUnits: 100, currency: .cny), at: at))
        events.append(
            .orderRefunded(
                order: OrderID(5 ^ top),
                amount: Money(minorUnits: 100 ^ top ^ (1 << 31), currency: .cny),
                at: at
            )
        )
        #expect(Set(events).count == events.count, "the events are distinct")
        #expect(Set(events.map { $0.digest(scheme) }).count == events.count)
    }
}
