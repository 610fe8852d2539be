import FissionCore
import FissionRewards
import SettlementWorkload

/// The best of `rounds` runs of `body` on a state `make` builds, untimed, before each run: ns per
/// operation, and the state of the last run (released only after the next run's timing).
func measure<State>(
    rounds: Int,
    operations: Int,
    make: @autoclosure () -> State,
    _ body: (inout State) -> Void
) -> (nanoseconds: Double, state: State) {
    var best = UInt64.max
    var last: State? = nil
    for _ in 0..<rounds {
        var state = make()
        let before = ProcessUsage.now()
        let start = nanoseconds()
        body(&state)
        best = min(best, nanoseconds() - start)
        ProcessUsage.now().since(before).printLine()
        last = state
    }
    return (Double(best) / Double(operations), last!)
}

func events(perSecond nanosecondsPerEvent: Double) -> String {
    format(1_000.0 / nanosecondsPerEvent, decimals: 2) + "M events/s"
}

/// Checks ours against the floor; on a mismatch prints a note (and the run goes on).
func agree(_ name: String, _ ours: SettlementTotals, _ floor: SettlementTotals, budgets: (Int64, Int64)) {
    if ours != floor || budgets.0 != budgets.1 {
        note(
            "fission-compare: NOTE \(name): ours and the floor disagree: ours \(ours) budget \(budgets.0); "
                + "floor \(floor) budget \(budgets.1)"
        )
    } else {
        note(
            "fission-compare: \(name): ours and the floor agree: granted L1 \(ours.granted[1]) L2 \(ours.granted[2]) "
                + "milestones \(ours.granted[3...5].reduce(0, +)) ladder \(ours.granted[6]), "
                + "\(ours.grantCount) grants, \(ours.skipped) skipped, \(ours.reversals) reversals, budget left \(budgets.0)"
        )
    }
}

/// A settlement that has settled every paid order of `workload`, built afresh so that it owns all
/// of its storage: a copy of a settled state would share its logs' segments with the original and
/// copy each one on its first write, a cost of copying, not of refunding.
func settledAfresh(_ campaign: RewardCampaign, _ workload: SettlementWorkload) -> Settlement {
    var settlement = SettlementWorkload.settlement(campaign, budget: workload.budget)
    var ignored = SettlementTotals()
    SettlementWorkload.settle(workload.paidEvents, into: &settlement, &ignored)
    return settlement
}

/// The floor's counterpart of ``settledAfresh(_:_:)``.
func settledAfresh(floorFor workload: SettlementWorkload, members: Int, events: Int) -> FloorSettlement {
    var floor = FloorSettlement(
        members: members,
        orders: workload.amounts.count,
        events: events,
        budget: workload.budget
    )
    var ignored = SettlementTotals()
    payEveryOrder(of: workload, into: &floor, &ignored)
    return floor
}

/// The floor settles every paid order of the 2-level stream, in order (event id = order index).
@inline(__always)
func payEveryOrder(of workload: SettlementWorkload, into floor: inout FloorSettlement, _ totals: inout SettlementTotals)
{
    for order in workload.amounts.indices {
        floor.pay(
            event: order,
            order: order,
            level1: workload.level1[order],
            level2: workload.level2[order],
            amount: workload.amounts[order],
            at: SettlementWorkload.startMilliseconds + Int64(order),
            &totals
        )
    }
}

/// Issue 5's cases: settle-2level, settle-replay, settle-mixed and refund, each against the floor.
func runSettlementComparison(members: Int, rounds: Int) {
    let orders = members
    let setupStart = nanoseconds()
    let workload = SettlementWorkload(
        members: members,
        orders: orders,
        refundCount: min(100_000, orders / 10),
        mixedCount: orders
    )
    let refundCount = workload.refunds.count
    note(
        "fission-compare: settlement inputs (\(orders) orders, \(refundCount) refunds, \(workload.mixed.count) mixed) "
            + "built in \(format(Double(nanoseconds() - setupStart) / 1e9, decimals: 1)) s; budget \(workload.budget)"
    )
    let floorEvents = orders + refundCount
    let campaign = SettlementWorkload.commissionCampaign()

    // MARK: settle-2level

    var oursTotals = SettlementTotals()
    let (ours2Level, oursSettlement) = measure(
        rounds: rounds,
        operations: orders,
        make: SettlementWorkload.settlement(campaign, budget: workload.budget)
    ) { settlement in
        oursTotals = SettlementTotals()
        SettlementWorkload.settle(workload.paidEvents, into: &settlement, &oursTotals)
    }
    var floorTotals = SettlementTotals()
    let (floor2Level, floorSettlement) = measure(
        rounds: rounds,
        operations: orders,
        make: FloorSettlement(members: members, orders: orders, events: floorEvents, budget: workload.budget)
    ) { floor in
        floorTotals = SettlementTotals()
        payEveryOrder(of: workload, into: &floor, &floorTotals)
    }
    agree(
        "settle-2level",
        oursTotals,
        floorTotals,
        budgets: (SettlementWorkload.budgetAvailable(oursSettlement), floorSettlement.budgetAvailable)
    )
    note("fission-compare: settle-2level ours \(events(perSecond: ours2Level)) (target 2M events/s)")
    report("settle-2level", ours: ours2Level, peer: "floor", floor2Level)

    // MARK: settle-replay: the same events again, all duplicates (the state does not change)

    var floorReplayTime = 0.0
    do {
        var settlement = oursSettlement
        var replayTotals = SettlementTotals()
        let ours = measure(rounds: rounds, operations: orders) {
            replayTotals = SettlementTotals()
            SettlementWorkload.settle(workload.paidEvents, into: &settlement, &replayTotals)
        }
        var floor = floorSettlement
        var floorReplay = SettlementTotals()
        let floorTime = measure(rounds: rounds, operations: orders) {
            floorReplay = SettlementTotals()
            payEveryOrder(of: workload, into: &floor, &floorReplay)
        }
        // A replay rebuilds the stored outcomes: the grants (not the skips' count, which both keep).
        replayTotals.skipped = oursTotals.skipped
        floorReplay.skipped = floorTotals.skipped
        agree(
            "settle-replay",
            replayTotals,
            floorReplay,
            budgets: (SettlementWorkload.budgetAvailable(settlement), floor.budgetAvailable)
        )
        if replayTotals.granted != oursTotals.granted {
            note("fission-compare: NOTE settle-replay: the replay's grants differ from the first pass")
        }
        note("fission-compare: settle-replay ours \(events(perSecond: ours)) (target 20M events/s)")
        report("settle-replay", ours: ours, peer: "floor", floorTime)
        floorReplayTime = floorTime
    }

    // MARK: settle-2level-batch and settle-replay-batch: the same, through the compact batch API

    do {
        let batches = SettlementWorkload.batches(workload.paidEvents, size: 1_000)
        var batchTotals = SettlementTotals()
        let (ours, settled) = measure(
            rounds: rounds,
            operations: orders,
            make: SettlementWorkload.settlement(campaign, budget: workload.budget)
        ) { settlement in
            batchTotals = SettlementTotals()
            SettlementWorkload.settleCompact(batches, into: &settlement, &batchTotals)
        }
        var replay = settled
        var replayTotals = SettlementTotals()
        let oursReplay = measure(rounds: rounds, operations: orders) {
            replayTotals = SettlementTotals()
            SettlementWorkload.settleCompact(batches, into: &replay, &replayTotals)
        }
        // The compact form names transfers, not quantities: check counts, the budget and the ledger.
        let same =
            batchTotals.grantCount == oursTotals.grantCount && batchTotals.skipped == oursTotals.skipped
            && replayTotals.grantCount == oursTotals.grantCount && replayTotals.skipped == oursTotals.skipped
            && SettlementWorkload.budgetAvailable(settled) == SettlementWorkload.budgetAvailable(oursSettlement)
            && settled.ledger.transferCount == oursSettlement.ledger.transferCount
            && replay.ledger.transferCount == oursSettlement.ledger.transferCount
        note(
            same
                ? "fission-compare: settle-2level-batch and settle-replay-batch: the same grants, skips, budget and "
                    + "transfers as settle-2level"
                : "fission-compare: NOTE settle-2level-batch: differs from settle-2level: \(batchTotals), "
                    + "replay \(replayTotals)"
        )
        note("fission-compare: settle-2level-batch ours \(events(perSecond: ours)) in batches of 1,000")
        report("settle-2level-batch", ours: ours, peer: "floor", floor2Level)
        note("fission-compare: settle-replay-batch ours \(events(perSecond: oursReplay)) in batches of 1,000")
        report("settle-replay-batch", ours: oursReplay, peer: "floor", floorReplayTime)
    }

    // MARK: refund: refunds of earlier paid orders, on a settled state built afresh for each round

    do {
        var oursRefund = SettlementTotals()
        let (ours, oursAfter) = measure(
            rounds: rounds,
            operations: refundCount,
            make: settledAfresh(campaign, workload)
        ) { settlement in
            oursRefund = SettlementTotals()
            SettlementWorkload.settleRefunds(workload.refundEvents, into: &settlement, &oursRefund)
        }
        var floorRefund = SettlementTotals()
        let (floorTime, floorAfter) = measure(
            rounds: rounds,
            operations: refundCount,
            make: settledAfresh(floorFor: workload, members: members, events: floorEvents)
        ) { floor in
            floorRefund = SettlementTotals()
            for (index, refund) in workload.refunds.enumerated() {
                floor.refund(event: orders + index, order: Int(refund.order), amount: refund.amount, &floorRefund)
            }
        }
        agree(
            "refund",
            oursRefund,
            floorRefund,
            budgets: (SettlementWorkload.budgetAvailable(oursAfter), floorAfter.budgetAvailable)
        )
        report("refund", ours: ours, peer: "floor", floorTime)
    }

    // MARK: settle-mixed: registrations, paid orders, partial and full refunds; milestones and a ladder

    do {
        let mixedCampaign = SettlementWorkload.mixedCampaign()
        let count = workload.mixed.count
        var oursMixed = SettlementTotals()
        let (ours, oursAfter) = measure(
            rounds: rounds,
            operations: count,
            make: SettlementWorkload.settlement(mixedCampaign, budget: workload.mixedBudget)
        ) { settlement in
            oursMixed = SettlementTotals()
            SettlementWorkload.settle(workload.mixedEvents, into: &settlement, &oursMixed)
        }
        var floorMixed = SettlementTotals()
        let parents = workload.parents
        let (floorTime, floorAfter) = measure(
            rounds: rounds,
            operations: count,
            make: FloorSettlement(members: members, orders: count, events: count, budget: workload.mixedBudget)
        ) { floor in
            floorMixed = SettlementTotals()
            for (index, step) in workload.mixed.enumerated() {
                floor.mixed(step, event: index, parents: parents, &floorMixed)
            }
        }
        agree(
            "settle-mixed",
            oursMixed,
            floorMixed,
            budgets: (SettlementWorkload.budgetAvailable(oursAfter), floorAfter.budgetAvailable)
        )
        report("settle-mixed", ours: ours, peer: "floor", floorTime)
    }
}
