import Benchmark
import FissionCore
import FissionRewards
import SettlementWorkload

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Issue 5's settlement cases over the 1M-member tree. One measured iteration is one whole stream
// (1M events, or 100k refunds), so wall clock and mallocCountTotal are per stream: divide by the
// event count for per-event figures (Documentation/Performance.md does). Each iteration starts
// from a state built outside the measurement (startMeasurement/stopMeasurement), and releases it
// after: freeing a million-order settlement is not part of settling.
//
// Every benchmark runs in its own process, so each builds its inputs in its own `setup:`.

nonisolated(unsafe) var workload: SettlementWorkload? = nil
nonisolated(unsafe) var settled = Settlement()
/// The paid orders in batches of 1,000, for the compact batch API.
nonisolated(unsafe) var paidBatches: [[(id: EventID, event: RewardEvent)]] = []

let members = 1_000_000

func prepare(settle: Bool) {
    let inputs = SettlementWorkload(
        members: members,
        orders: members,
        refundCount: 100_000,
        mixedCount: settle ? 1 : members
    )
    workload = inputs
    paidBatches = SettlementWorkload.batches(inputs.paidEvents, size: 1_000)
    guard settle else { return }
    var settlement = SettlementWorkload.settlement(SettlementWorkload.commissionCampaign(), budget: inputs.budget)
    var totals = SettlementTotals()
    SettlementWorkload.settle(inputs.paidEvents, into: &settlement, &totals)
    settled = settlement
}

/// `FISSION_BENCHMARK_SHORT=1` (CI) runs each benchmark a few times only; allocation counts are
/// exact from the first run, and wall clock is reported but never gates.
let isShort = getenv("FISSION_BENCHMARK_SHORT") != nil

/// Settlement allocates nothing per event in the steady state: what a stream counts is the growth
/// of its tables (a few hundred reallocations per 1M events, a few dozen more in a first, unwarmed
/// iteration; none at all for the replay). An absolute tolerance of 1,000 per stream holds that,
/// while one allocation per thousand events fails, let alone one per event (+1M).
var measuredAllocations: [BenchmarkMetric: BenchmarkThresholds] {
    [.mallocCountTotal: .init(absolute: [.p90: 1_000])]
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal],
        warmupIterations: isShort ? 0 : 1,
        maxDuration: .seconds(isShort ? 1 : 20),
        maxIterations: isShort ? 2 : 10,
        thresholds: measuredAllocations
    )

    Benchmark("Settlement.TwoLevel.Orders1M", configuration: .init(setup: { prepare(settle: false) })) { benchmark in
        let inputs = workload!
        var settlement = SettlementWorkload.settlement(SettlementWorkload.commissionCampaign(), budget: inputs.budget)
        var totals = SettlementTotals()
        benchmark.startMeasurement()
        SettlementWorkload.settle(inputs.paidEvents, into: &settlement, &totals)
        benchmark.stopMeasurement()
        blackHole(totals.grantCount)
        withExtendedLifetime(settlement) {}
    }

    Benchmark("Settlement.Replay.Orders1M", configuration: .init(setup: { prepare(settle: true) })) { benchmark in
        let inputs = workload!
        // Take the settled state out of the global rather than copy it.
        var settlement = Settlement()
        swap(&settlement, &settled)
        defer { swap(&settlement, &settled) }
        var totals = SettlementTotals()
        benchmark.startMeasurement()
        SettlementWorkload.settle(inputs.paidEvents, into: &settlement, &totals)
        benchmark.stopMeasurement()
        blackHole(totals.grantCount)
    }

    // The same streams through `settle(compact:campaign:)`, 1,000 events a call: each call
    // allocates its result's entries once, so a stream counts about 1,000 allocations by design.
    Benchmark("Settlement.TwoLevel.Batch1000.Orders1M", configuration: .init(setup: { prepare(settle: false) })) {
        benchmark in
        let inputs = workload!
        var settlement = SettlementWorkload.settlement(SettlementWorkload.commissionCampaign(), budget: inputs.budget)
        var totals = SettlementTotals()
        benchmark.startMeasurement()
        SettlementWorkload.settleCompact(paidBatches, into: &settlement, &totals)
        benchmark.stopMeasurement()
        blackHole(totals.grantCount)
        withExtendedLifetime(settlement) {}
    }

    Benchmark("Settlement.Replay.Batch1000.Orders1M", configuration: .init(setup: { prepare(settle: true) })) {
        benchmark in
        var settlement = Settlement()
        swap(&settlement, &settled)
        defer { swap(&settlement, &settled) }
        var totals = SettlementTotals()
        benchmark.startMeasurement()
        SettlementWorkload.settleCompact(paidBatches, into: &settlement, &totals)
        benchmark.stopMeasurement()
        blackHole(totals.grantCount)
    }

    Benchmark("Settlement.Mixed.Events1M", configuration: .init(setup: { prepare(settle: false) })) { benchmark in
        let inputs = workload!
        var settlement = SettlementWorkload.settlement(SettlementWorkload.mixedCampaign(), budget: inputs.mixedBudget)
        var totals = SettlementTotals()
        benchmark.startMeasurement()
        SettlementWorkload.settle(inputs.mixedEvents, into: &settlement, &totals)
        benchmark.stopMeasurement()
        blackHole(totals.grantCount)
        withExtendedLifetime(settlement) {}
    }

    Benchmark("Settlement.Refund.Refunds100k", configuration: .init(setup: { prepare(settle: true) })) { benchmark in
        let inputs = workload!
        // A copy of the settled state, made unique by one untimed refund of order 0.
        var settlement = settled
        _ = try! settlement.settle(
            inputs.warmRefund,
            id: SettlementWorkload.warmRefundID,
            campaign: SettlementWorkload.campaign
        )
        var totals = SettlementTotals()
        benchmark.startMeasurement()
        SettlementWorkload.settleRefunds(inputs.refundEvents, into: &settlement, &totals)
        benchmark.stopMeasurement()
        blackHole(totals.reversals)
        withExtendedLifetime(settlement) {}
    }
}
