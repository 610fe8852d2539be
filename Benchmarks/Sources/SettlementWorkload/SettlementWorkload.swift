public import FissionCore
public import FissionRewards
import GraphWorkload

/// What a stream of settlements granted and undid, per rule part, so ours and the floor can be
/// checked against each other: part 1 and 2 are the commission levels, 3 to 5 the milestones
/// (registered, first order, repurchase) and 6 the ladder.
public struct SettlementTotals: Equatable, Sendable {
    /// Quantity granted per part.
    public var granted = [Int64](repeating: 0, count: 8)
    /// Grants made.
    public var grantCount = 0
    /// Grants a cap or the budget stopped.
    public var skipped = 0
    /// Void and reversal transfers made by refunds.
    public var reversals = 0

    /// Empty totals.
    public init() {}
}

/// One event of the mixed stream, in the dense form the floor reads.
public struct MixedStep: Sendable {
    /// What happens.
    public enum Kind: UInt8, Sendable {
        /// `member` registers, invited by `inviter` (-1 for none).
        case register
        /// Order `order` is paid by `member`, `amount` minor units; `paidCount` is the buyer's count.
        case pay
        /// Order `order` is refunded by `amount`.
        case refund
    }

    /// What happens.
    public let kind: Kind
    /// The member registering or buying.
    public let member: Int32
    /// The dense order index (pay, refund).
    public let order: Int32
    /// Minor units paid or refunded.
    public let amount: Int64
    /// The buyer's paid orders, this one included (pay).
    public let paidCount: Int32
}

/// Seeded settlement inputs over the preferential-attachment tree of ``Workload``: 1M order-paid
/// events whose inviters are the buyer's level-1 and level-2 ancestors, refunds of some of them
/// and a mixed stream of registrations, orders and refunds.
public struct SettlementWorkload: Sendable {
    /// The campaign every event is settled for.
    public static let campaign: CampaignID = 1
    /// The commission rule: 10% at level 1, 5% at level 2, held 7 days.
    public static let commissionRule: RuleID = 1
    /// The milestone split of the mixed campaign: 50.00 split 15/15/20, not held.
    public static let milestoneRule: RuleID = 2
    /// The ladder of the mixed campaign (marginal): 10.00 per invite, 20.00 from the 5th, not held.
    public static let ladderRule: RuleID = 3
    /// Level rates in basis points.
    public static let levelRates: [Int64] = [1_000, 500]
    /// The refund window.
    public static let holdDays: Int64 = 7
    /// Milestone parts in minor units: registered, first order, repurchase (5,000 split 15/15/20).
    public static let milestoneParts: [Int64] = [1_500, 1_500, 2_000]
    /// The ladder: from the 1st invite 1,000 each, from the 5th 2,000 each.
    public static let ladderTiers: [(fromCount: Int64, amountEach: Int64)] = [(1, 1_000), (5, 2_000)]
    /// The first instant of the campaign; event `k` happens `k` ms later.
    public static let startMilliseconds: Int64 = 1_750_000_000_000

    /// The tree: the inviter of each member, -1 for the root.
    public let parents: [Int32]
    /// Per order (dense index): buyer, level-1 and level-2 inviter (-1 for none), net paid.
    public let buyers: [Int32]
    public let level1: [Int32]
    public let level2: [Int32]
    public let amounts: [Int64]
    /// The order-paid events, in order; event id = order index.
    public let paidEvents: [RewardEvent]
    /// The budget of the 2-level stream: 90% of what its grants would take, so the last grants
    /// meet an exhausted budget.
    public let budget: Int64
    /// The refund events: distinct orders (never order 0, see ``warmRefund``), half refunded in
    /// full and half in part; the dense form is (order, amount).
    public let refunds: [(order: Int32, amount: Int64)]
    public let refundEvents: [RewardEvent]
    /// A 1-minor-unit refund of order 0 that the refund case applies, untimed, before timing: it
    /// makes a copied settlement's storage unique, so the copy is not timed.
    public let warmRefund: RewardEvent
    /// The mixed stream, dense and as events, and its budget (90% of its needs).
    public let mixed: [MixedStep]
    public let mixedEvents: [RewardEvent]
    public let mixedBudget: Int64

    /// The event id of refund `k`.
    public static func refundID(_ index: Int) -> EventID { EventID(Int64(1) << 40 + Int64(index)) }
    /// The event id of the warm-up refund.
    public static let warmRefundID = EventID(Int64(1) << 41)

    /// Builds every input: `orders` order-paid events, `refundCount` refunds, `mixedCount` mixed events.
    public init(members: Int, orders: Int, refundCount: Int, mixedCount: Int) {
        let tree = Workload(members: members, queryCount: 1)
        let parents = tree.parents
        self.parents = parents
        var random = SplitMix64(seed: 11)
        var buyers = [Int32](repeating: 0, count: orders)
        var level1 = [Int32](repeating: -1, count: orders)
        var level2 = [Int32](repeating: -1, count: orders)
        var amounts = [Int64](repeating: 0, count: orders)
        var paidCounts = [Int32](repeating: 0, count: members)
        var events: [RewardEvent] = []
        events.reserveCapacity(orders)
        var needed: Int64 = 0
        for order in 0..<orders {
            let buyer = Int32(1 + Int(random.next() % UInt64(members - 1)))
            let first = parents[Int(buyer)]
            let second = parents[Int(first)]
            let amount = Int64(1_000 + random.next() % 49_000)
            paidCounts[Int(buyer)] += 1
            buyers[order] = buyer
            level1[order] = first
            level2[order] = second
            amounts[order] = amount
            needed += amount * Self.levelRates[0] / 10_000
            if second >= 0 { needed += amount * Self.levelRates[1] / 10_000 }
            events.append(
                Self.paid(
                    order: order,
                    buyer: buyer,
                    inviters: second >= 0 ? [first, second] : [first],
                    paidCount: paidCounts[Int(buyer)],
                    amount: amount,
                    at: order
                )
            )
        }
        self.buyers = buyers
        self.level1 = level1
        self.level2 = level2
        self.amounts = amounts
        self.paidEvents = events
        self.budget = needed * 9 / 10

        var refundRandom = SplitMix64(seed: 13)
        var refunded = [Bool](repeating: false, count: orders)
        refunded[0] = true
        var refunds: [(order: Int32, amount: Int64)] = []
        var refundEvents: [RewardEvent] = []
        while refunds.count < min(refundCount, orders - 1) {
            let order = Int(refundRandom.next() % UInt64(orders))
            guard !refunded[order] else { continue }
            refunded[order] = true
            let amount = refunds.count % 2 == 0 ? amounts[order] : amounts[order] / 2
            refunds.append((Int32(order), amount))
            refundEvents.append(Self.refund(order: order, amount: amount, at: orders + refunds.count))
        }
        self.refunds = refunds
        self.refundEvents = refundEvents
        self.warmRefund = Self.refund(order: 0, amount: 1, at: orders)

        let (mixed, mixedEvents) = Self.mixedStream(parents: parents, count: mixedCount)
        self.mixed = mixed
        self.mixedEvents = mixedEvents
        var unlimited = FloorSettlement(members: members, orders: mixedCount, events: mixedCount, budget: Int64.max / 4)
        var totals = SettlementTotals()
        for (index, step) in mixed.enumerated() { unlimited.mixed(step, event: index, parents: parents, &totals) }
        self.mixedBudget = (Int64.max / 4 - unlimited.budgetAvailable) * 9 / 10
    }

    static func timestamp(_ offset: Int) -> Timestamp {
        try! Timestamp(millisecondsSinceEpoch: Self.startMilliseconds + Int64(offset))
    }

    static func paid(
        order: Int,
        buyer: Int32,
        inviters: [Int32],
        paidCount: Int32,
        amount: Int64,
        at: Int
    ) -> RewardEvent {
        let line = OrderPaid.Line(sku: 1, quantity: 1, netPaid: Money(minorUnits: amount, currency: .cny))
        return .orderPaid(
            try! OrderPaid(
                order: OrderID(Int64(order)),
                buyer: MemberID(Int64(buyer)),
                inviters: inviters.map { MemberID(Int64($0)) },
                buyerPaidOrderCount: Int64(paidCount),
                lines: [line],
                at: Self.timestamp(at)
            )
        )
    }

    static func refund(order: Int, amount: Int64, at: Int) -> RewardEvent {
        .orderRefunded(
            order: OrderID(Int64(order)),
            amount: Money(minorUnits: amount, currency: .cny),
            at: Self.timestamp(at)
        )
    }

    /// About 25% registrations (in tree order, invited by the member's parent), 55% paid orders by
    /// registered members and 20% refunds of earlier orders, half in full and half in part.
    static func mixedStream(parents: [Int32], count: Int) -> ([MixedStep], [RewardEvent]) {
        var random = SplitMix64(seed: 17)
        var steps: [MixedStep] = []
        var events: [RewardEvent] = []
        steps.reserveCapacity(count)
        events.reserveCapacity(count)
        var registered = 0
        var paidCounts = [Int32](repeating: 0, count: parents.count)
        var orderPaid: [Int64] = []
        var orderRefunded: [Int64] = []
        while steps.count < count {
            let at = steps.count
            let roll = random.next() % 100
            if (roll < 25 || registered < 2) && registered < parents.count {
                let inviter = parents[registered]
                steps.append(.init(kind: .register, member: Int32(registered), order: -1, amount: 0, paidCount: 0))
                events.append(
                    .memberRegistered(
                        member: MemberID(Int64(registered)),
                        inviter: inviter < 0 ? nil : MemberID(Int64(inviter)),
                        at: Self.timestamp(at)
                    )
                )
                registered += 1
                continue
            }
            if roll >= 80 && !orderPaid.isEmpty {
                let order = Int(random.next() % UInt64(orderPaid.count))
                let remaining = orderPaid[order] - orderRefunded[order]
                if remaining > 0 {
                    let amount = random.next() % 2 == 0 ? remaining : max(1, remaining / 2)
                    orderRefunded[order] += amount
                    steps.append(.init(kind: .refund, member: -1, order: Int32(order), amount: amount, paidCount: 0))
                    events.append(Self.refund(order: order, amount: amount, at: at))
                    continue
                }
            }
            let buyer = Int32(1 + Int(random.next() % UInt64(registered - 1)))
            let first = parents[Int(buyer)]
            let second = parents[Int(first)]
            let amount = Int64(1_000 + random.next() % 49_000)
            paidCounts[Int(buyer)] += 1
            let order = orderPaid.count
            orderPaid.append(amount)
            orderRefunded.append(0)
            steps.append(
                .init(kind: .pay, member: buyer, order: Int32(order), amount: amount, paidCount: paidCounts[Int(buyer)])
            )
            events.append(
                Self.paid(
                    order: order,
                    buyer: buyer,
                    inviters: second >= 0 ? [first, second] : [first],
                    paidCount: paidCounts[Int(buyer)],
                    amount: amount,
                    at: at
                )
            )
        }
        return (steps, events)
    }

    // MARK: Ours

    /// The 2-level campaign: commission 10% / 5%, held 7 days.
    public static func commissionCampaign() -> RewardCampaign {
        try! RewardCampaign(
            id: Self.campaign,
            startsAt: Self.timestamp(0),
            endsAt: Self.timestamp(365 * 86_400_000),
            offset: .chinaStandardTime,
            currency: .cny,
            rules: [Self.commissionRuleValue()]
        )
    }

    static func commissionRuleValue() -> RewardRule {
        try! RewardRule(
            id: Self.commissionRule,
            shape: .commission(levelRates: Self.levelRates.map { try! BasisPoints($0) }, skuOverrides: []),
            holdDays: Self.holdDays
        )
    }

    /// The mixed campaign: the commission, a milestone split and a marginal ladder, in that order.
    public static func mixedCampaign() -> RewardCampaign {
        let money = LedgerUnit.money(.cny)
        return try! RewardCampaign(
            id: Self.campaign,
            startsAt: Self.timestamp(0),
            endsAt: Self.timestamp(365 * 86_400_000),
            offset: .chinaStandardTime,
            currency: .cny,
            rules: [
                Self.commissionRuleValue(),
                try! RewardRule(
                    id: Self.milestoneRule,
                    shape: .milestoneSplit(
                        total: try! RewardAmount(5_000, money),
                        weights: [.init(.registered, 15), .init(.firstOrder, 15), .init(.repurchase, 20)]
                    )
                ),
                try! RewardRule(
                    id: Self.ladderRule,
                    shape: .ladder(
                        unit: money,
                        tiers: Self.ladderTiers.map { .init(fromCount: $0.fromCount, amountEach: $0.amountEach) },
                        semantics: .marginal
                    )
                ),
            ]
        )
    }

    /// A settlement holding `campaign`, its budget funded with `budget` minor units.
    public static func settlement(_ campaign: RewardCampaign, budget: Int64) -> Settlement {
        var settlement = Settlement()
        try! settlement.addCampaign(campaign)
        try! settlement.fund(
            Self.campaign,
            amount: try! RewardAmount(budget, .money(.cny)),
            id: EventID(-1),
            at: Self.timestamp(0)
        )
        return settlement
    }

    /// The budget's available balance.
    public static func budgetAvailable(_ settlement: Settlement) -> Int64 {
        settlement.ledger.balance(of: .budget(Self.campaign, .money(.cny))).available
    }

    /// Settles `events` one by one, event id = `firstID` + position, adding what they did to `totals`.
    @inline(never)
    public static func settle(
        _ events: [RewardEvent],
        firstID: Int64 = 0,
        into settlement: inout Settlement,
        _ totals: inout SettlementTotals
    ) {
        var id = firstID
        for event in events {
            let outcome: SettlementOutcome
            do {
                outcome = try settlement.settle(event, id: EventID(id), campaign: Self.campaign)
            } catch {
                fatalError("the workload is valid: \(error)")
            }
            Self.count(outcome, &totals)
            id += 1
        }
    }

    /// `events` in batches of `size` for ``settleCompact(_:into:_:)``, event id = `firstID` + position.
    public static func batches(
        _ events: [RewardEvent],
        size: Int,
        firstID: Int64 = 0
    ) -> [[(id: EventID, event: RewardEvent)]] {
        stride(from: 0, to: events.count, by: size).map { start in
            (start..<min(start + size, events.count)).map { (EventID(firstID + Int64($0)), events[$0]) }
        }
    }

    /// Settles `batches` with the compact batch API, adding the transfers they name (grants, for
    /// paid orders) and the skips to `totals`; the granted quantities are not read.
    @inline(never)
    public static func settleCompact(
        _ batches: [[(id: EventID, event: RewardEvent)]],
        into settlement: inout Settlement,
        _ totals: inout SettlementTotals
    ) {
        for batch in batches {
            let result: SettlementBatch
            do {
                result = try settlement.settle(compact: batch, campaign: Self.campaign)
            } catch {
                fatalError("the workload's campaign exists: \(error)")
            }
            if let failure = result.failures.first { fatalError("the workload is valid: \(failure.error)") }
            for entry in result.entries {
                totals.grantCount &+= entry.transfers.count
                totals.skipped &+= entry.skippedCount
            }
        }
    }

    /// Settles refunds, event ids from ``refundID(_:)``.
    @inline(never)
    public static func settleRefunds(
        _ events: [RewardEvent],
        into settlement: inout Settlement,
        _ totals: inout SettlementTotals
    ) {
        for (index, event) in events.enumerated() {
            let outcome: SettlementOutcome
            do {
                outcome = try settlement.settle(event, id: Self.refundID(index), campaign: Self.campaign)
            } catch {
                fatalError("the workload is valid: \(error)")
            }
            Self.count(outcome, &totals)
        }
    }

    @inline(__always)
    static func count(_ outcome: SettlementOutcome, _ totals: inout SettlementTotals) {
        for grant in outcome.grants {
            let part: Int
            switch grant.rule {
            case Self.commissionRule: part = Int(grant.part)
            case Self.milestoneRule: part = 3 + Int(grant.part)
            default: part = 6
            }
            totals.granted[part] &+= grant.amount.quantity
        }
        totals.grantCount &+= outcome.grants.count
        totals.skipped &+= outcome.skipped.count
        totals.reversals &+= outcome.reversals.count
    }
}
