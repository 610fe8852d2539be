import FissionCore
import FissionRewards
import Foundation
import Testing

// Operators configure campaigns as JSON and hosts decode events from their queues: decoding must
// refuse what the throwing initializers refuse. Before, the synthesized decoders took a
// three-level commission (pyramid selling) or an order whose lines overflow when summed (a trap
// in `netPaid`) as valid values.

/// A campaign using every rule shape, with caps, eligibility and holds.
private func everyShapeCampaign() throws -> RewardCampaign {
    let five = try RewardAmount(500, cny)
    return try thirtyDayCampaign(
        "decoded",
        [
            try RewardRule(id: "invite", shape: .inviteFixed(five), caps: .init(perMemberCount: 10)),
            try RewardRule(id: "order", shape: .orderFixed(.init(100, .points)), holdDays: 7),
            try RewardRule(
                id: "commission",
                shape: .commission(
                    levelRates: [try .percent(10), try .percent(5)],
                    skuOverrides: [.init(sku: "tea", perUnitMinorUnits: [300, 100])]
                ),
                eligibility: .init(firstOrderOnly: true, excludedOrderKinds: [.bargain]),
                holdDays: 7
            ),
            try RewardRule(
                id: "milestones",
                shape: .milestoneSplit(
                    total: try RewardAmount(5_000, cny),
                    weights: [.init(.registered, 15), .init(.firstOrder, 15), .init(.repurchase, 20)]
                )
            ),
            try RewardRule(
                id: "ladder",
                shape: .ladder(unit: cny, tiers: [.init(fromCount: 1, amountEach: 1_000)], semantics: .retroactive)
            ),
            try RewardRule(id: "mutual", shape: .mutual(sharer: five, helper: try RewardAmount(1, .coupon("tea")))),
        ]
    )
}

/// `value` encoded as JSON, edited as a dictionary by `edit`, and decoded again as `T`.
private func decodeEdited<T: Codable>(
    _ value: T,
    as type: T.Type,
    _ edit: (inout [String: Any]) throws -> Void
) throws -> T {
    let data = try JSONEncoder().encode(value)
    var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    try edit(&object)
    return try JSONDecoder().decode(T.self, from: try JSONSerialization.data(withJSONObject: object))
}

/// The ``FissionError`` a decoding error carries, if it is a validation failure.
private func fissionError(_ error: any Error) -> FissionError? {
    guard case DecodingError.dataCorrupted(let context) = error else { return nil }
    return context.underlyingError as? FissionError
}

/// What Swift synthesizes for a struct with `OrderPaid`'s stored properties, as it had them.
private struct SynthesizedOrderPaid: Codable {
    let order: OrderID
    let buyer: MemberID
    let inviters: [MemberID]
    let kind: OrderKind
    let buyerPaidOrderCount: Int64
    let lines: [OrderPaid.Line]
    let at: Timestamp
}

struct ValidatedDecodingTests {
    @Test func aPaidOrderEncodesAsItsSynthesizedFormDid() throws {
        let order = try OrderPaid(
            order: "order-1",
            buyer: 7,
            inviters: ["alice", 9],
            kind: .groupBuy,
            buyerPaidOrderCount: 2,
            lines: [.init(sku: "tea", quantity: 2, netPaid: yuan(12))],
            at: at(days: 1)
        )
        let synthesized = SynthesizedOrderPaid(
            order: order.order,
            buyer: order.buyer,
            inviters: order.inviters,
            kind: order.kind,
            buyerPaidOrderCount: order.buyerPaidOrderCount,
            lines: order.lines,
            at: order.at
        )
        // Byte for byte with sorted keys: on Linux, Foundation's encoder writes an object's keys in
        // its dictionary's order, which differs from one encoding to the next.
        let sorted = JSONEncoder()
        sorted.outputFormatting = .sortedKeys
        #expect(try sorted.encode(order) == sorted.encode(synthesized))
        #expect(try JSONDecoder().decode(OrderPaid.self, from: sorted.encode(synthesized)) == order)
        // Printed, it shows its fields, as the struct did.
        #expect(String(describing: order).contains("buyerPaidOrderCount: 2"))
    }

    @Test func valuesRoundTripThroughJSON() throws {
        let campaign = try everyShapeCampaign()
        let decoded = try JSONDecoder().decode(RewardCampaign.self, from: try JSONEncoder().encode(campaign))
        #expect(decoded == campaign)
        let order = try paidOrder("order-1", buyer: "bob", inviters: ["alice", "carol"], paidYuan: 200)
        #expect(try JSONDecoder().decode(RewardEvent.self, from: try JSONEncoder().encode(order)) == order)
    }

    @Test func aCommissionDeeperThanTwoLevelsIsRefused() throws {
        let campaign = try everyShapeCampaign()
        do {
            _ = try decodeEdited(campaign, as: RewardCampaign.self) { object in
                var rules = try #require(object["rules"] as? [[String: Any]])
                var shape = try #require(rules[2]["shape"] as? [String: Any])
                var commission = try #require(shape["commission"] as? [String: Any])
                var rates = try #require(commission["levelRates"] as? [Any])
                rates.append(rates[1])
                commission["levelRates"] = rates
                shape["commission"] = commission
                rules[2]["shape"] = shape
                object["rules"] = rules
            }
            Issue.record("a three-level commission decoded")
        } catch {
            #expect(fissionError(error)?.code == .commissionTooDeep, "\(error)")
        }
    }

    @Test func aCampaignEndingBeforeItStartsIsRefused() throws {
        do {
            _ = try decodeEdited(try everyShapeCampaign(), as: RewardCampaign.self) { object in
                object["endsAt"] = object["startsAt"]
            }
            Issue.record("a campaign with an empty window decoded")
        } catch {
            #expect(fissionError(error)?.code == .invalidRule, "\(error)")
        }
    }

    @Test func aRewardOfZeroIsRefused() throws {
        do {
            _ = try decodeEdited(try RewardAmount(500, cny), as: RewardAmount.self) { object in
                object["quantity"] = 0
            }
            Issue.record("a zero reward decoded")
        } catch {
            #expect(fissionError(error)?.code == .invalidAmount, "\(error)")
        }
    }

    @Test func anOrderWithThreeInvitersIsRefused() throws {
        let order = try OrderPaid(
            order: "order-3",
            buyer: "bob",
            inviters: ["alice", "carol"],
            buyerPaidOrderCount: 1,
            lines: [.init(sku: "tea", quantity: 1, netPaid: yuan(10))],
            at: start
        )
        do {
            _ = try decodeEdited(order, as: OrderPaid.self) { object in
                var inviters = try #require(object["inviters"] as? [Any])
                inviters.append("dave")
                object["inviters"] = inviters
            }
            Issue.record("an order with three inviters decoded")
        } catch {
            #expect(fissionError(error)?.code == .invalidOrder, "\(error)")
        }
    }

    @Test func anOrderWhoseLinesOverflowIsRefused() throws {
        let line = OrderPaid.Line(sku: "tea", quantity: 1, netPaid: Money(minorUnits: .max / 2 + 1, currency: .cny))
        let order = try OrderPaid(
            order: "order-4",
            buyer: "bob",
            inviters: [],
            buyerPaidOrderCount: 1,
            lines: [line],
            at: start
        )
        do {
            _ = try decodeEdited(order, as: OrderPaid.self) { object in
                let lines = try #require(object["lines"] as? [Any])
                object["lines"] = lines + lines
            }
            Issue.record("an order whose total overflows decoded")
        } catch {
            #expect(fissionError(error)?.code == .arithmeticOverflow, "\(error)")
        }
    }
}
