import Benchmark
import FissionGroups
import GroupsWorkload

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Issue 3: the sensitive-word matcher's scan rate and routing a join in a series.
// Every benchmark runs in its own process, so each builds its inputs in its own `setup:`.

nonisolated(unsafe) var matcherInputs: MatcherWorkload? = nil
nonisolated(unsafe) var matcher: SensitiveWordMatcher? = nil
nonisolated(unsafe) var routing: RoutingWorkload? = nil

let isShort = getenv("FISSION_BENCHMARK_SHORT") != nil
/// The matcher scans 4 MB per iteration (1 MB in short mode).
let matcherBytes = isShort ? 1 << 20 : 4 << 20
/// Routing steps (a leave and a join) per iteration.
let routingSteps = 10_000

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal],
        warmupIterations: 1,
        maxDuration: .seconds(isShort ? 1 : 5),
        maxIterations: isShort ? 3 : 50
    )

    // Throughput is scans per second: multiply by the megabytes per iteration for MB/s. Each
    // message's result array allocates when the message has a match (about 1 in 8).
    Benchmark(
        "Groups.Matcher.Words10k.Scan\(matcherBytes >> 20)MB",
        configuration: .init(
            metrics: [.wallClock, .throughput, .mallocCountTotal],
            thresholds: [.mallocCountTotal: .init(relative: [.p90: 5])],
            setup: {
                let inputs = MatcherWorkload(totalBytes: matcherBytes)
                matcherInputs = inputs
                matcher = inputs.matcher()
            }
        )
    ) { benchmark in
        let inputs = matcherInputs!
        let matcher = matcher!
        for _ in benchmark.scaledIterations {
            blackHole(MatcherWorkload.scan(inputs.messages, with: matcher))
        }
    }

    // One iteration: 10,000 steps of a leave and a routed join in a series of 10 groups of 500,
    // about 96% full. The membership log grows by two events a step, so its arrays reallocate
    // now and then: the count per iteration is what that costs, amortized.
    Benchmark(
        "Groups.Routing.JoinLeave.Series10x500.Steps10k",
        configuration: .init(
            thresholds: [.mallocCountTotal: .init(absolute: [.p90: 200])],
            setup: { routing = RoutingWorkload() }
        )
    ) { benchmark in
        var state = routing!
        routing = nil
        for _ in benchmark.scaledIterations {
            blackHole(state.churn(routingSteps))
        }
        routing = state
    }
}
