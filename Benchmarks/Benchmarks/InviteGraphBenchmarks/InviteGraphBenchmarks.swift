import Benchmark
import FissionCore
import FissionGraph
import GraphWorkload

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Query benchmarks repeat the query 1,000 times per measured iteration (scalingFactor .kilo) and
// report per query: the harness itself makes about 16 allocations per iteration, which vanish
// per query, while a query that allocated even once would show at least 1.
//
// Every benchmark runs in its own process, so each one builds its input in its own `setup:`,
// outside the measurement. Inputs are seeded: the same tree on every run and every machine.

nonisolated(unsafe) var workload = Workload(members: 1, queryCount: 1)
nonisolated(unsafe) var graph = InviteGraph()
nonisolated(unsafe) var queries: [MemberIndex] = []
nonisolated(unsafe) var warmBuffer = TraversalBuffer()
nonisolated(unsafe) var snapshotBytes: [UInt8] = []

func prepare(members: Int, buildGraph: Bool) {
    workload = Workload(members: members)
    queries = workload.queries.map(MemberIndex.init(rawValue:))
    guard buildGraph else { return }
    graph = workload.buildGraph()
    // Warm the scratch buffer so that the measured calls reuse it instead of growing it.
    graph.forEachDescendant(of: MemberIndex(rawValue: 0), using: &warmBuffer) { _ in }
    try! graph.forEachInvitee(of: MemberIndex(rawValue: 0), upTo: 3, using: &warmBuffer) { _, _ in }
    try! graph.forEachTopInviter(limit: 100, by: .direct, using: &warmBuffer) { _, _, _ in }
}

/// `FISSION_BENCHMARK_SHORT=1` (CI) runs each benchmark a few times only; allocation counts are
/// exact from the first run, and wall clock is reported but never gates.
let isShort = Benchmark.environment("FISSION_BENCHMARK_SHORT") != nil
/// `FISSION_BENCHMARK_10M=1` adds the 10M-member benchmarks (by hand: they need about 2 GB and minutes).
let includeTenMillion = Benchmark.environment("FISSION_BENCHMARK_10M") != nil

/// Allocation counts are the stable signal. A query iteration runs 1,000 queries, and the harness
/// makes about 16 to 24 allocations of its own per iteration: a tolerance of 200 lets that vary
/// while one allocation per query (+1,000) fails. Builds may vary by half: arrays grow in steps.
var noAllocations: [BenchmarkMetric: BenchmarkThresholds] { [.mallocCountTotal: .init(absolute: [.p90: 200])] }
var growthAllocations: [BenchmarkMetric: BenchmarkThresholds] { [.mallocCountTotal: .init(relative: [.p90: 50])] }
/// Query benchmarks leave out peak memory: its sampling thread allocates while it runs, which
/// would bury the query's own count (0) under a figure that grows with wall time.
var queryMetrics: [BenchmarkMetric] { [.wallClock, .mallocCountTotal] }

extension Benchmark {
    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: 1,
        maxDuration: .seconds(isShort ? 1 : 5),
        maxIterations: isShort ? 3 : 50,
        thresholds: noAllocations
    )
    let sizes = includeTenMillion ? [(1_000_000, "N1M"), (10_000_000, "N10M")] : [(1_000_000, "N1M")]

    for (members, label) in sizes {
        Benchmark(
            "Graph.Insert.PA.\(label)",
            configuration: .init(
                maxIterations: isShort ? 2 : 10,
                thresholds: growthAllocations,
                setup: { prepare(members: members, buildGraph: false) }
            )
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                var fresh = InviteGraph()
                Workload.register(workload.parents, into: &fresh)
                blackHole(fresh.count)
            }
        }

        for levels in [2, 3] {
            Benchmark(
                "Graph.Ancestors.Depth\(levels).\(label)",
                configuration: .init(
                    metrics: queryMetrics,
                    scalingFactor: .kilo,
                    setup: { prepare(members: members, buildGraph: true) }
                )
            ) { benchmark in
                // Locals: reading a global struct copies it (retaining each array) on every access.
                let graph = graph
                let queries = queries
                var checksum = 0
                for chunk in benchmark.scaledIterations {
                    let base = (chunk % 100) * 1_000
                    for query in queries[base..<base + 1_000] {
                        for ancestor in try! graph.ancestors(of: query, upTo: levels) {
                            checksum &+= ancestor.position
                        }
                    }
                }
                blackHole(checksum)
            }
        }

        Benchmark(
            "Graph.Counts.Cached.\(label)",
            configuration: .init(
                metrics: queryMetrics,
                scalingFactor: .kilo,
                setup: { prepare(members: members, buildGraph: true) }
            )
        ) { benchmark in
            let graph = graph
            let queries = queries
            var checksum = 0
            for chunk in benchmark.scaledIterations {
                let base = (chunk % 100) * 1_000
                for query in queries[base..<base + 1_000] {
                    let counts = graph.inviteCounts(of: query)
                    checksum &+= counts.direct &+ counts.secondLevel &+ counts.team
                }
            }
            blackHole(checksum)
        }

        Benchmark(
            "Graph.Downline.PerLevel.Depth3.Root.\(label)",
            configuration: .init(
                metrics: queryMetrics,
                scalingFactor: .kilo,
                maxIterations: isShort ? 2 : 10,
                setup: { prepare(members: members, buildGraph: true) }
            )
        ) { benchmark in
            let graph = graph
            // Take the warmed buffer out of the global rather than copy it (a copy would be
            // copied again on its first write).
            var buffer = TraversalBuffer()
            swap(&buffer, &warmBuffer)
            defer { swap(&buffer, &warmBuffer) }
            for _ in benchmark.scaledIterations {
                var visited = 0
                try! graph.forEachInvitee(of: MemberIndex(rawValue: 0), upTo: 3, using: &buffer) { _, level in
                    visited &+= level
                }
                blackHole(visited)
            }
        }

        Benchmark(
            "Graph.Downline.EnumerateAll.Root.\(label)",
            configuration: .init(
                metrics: queryMetrics,
                scalingFactor: .kilo,
                maxIterations: isShort ? 2 : 10,
                setup: { prepare(members: members, buildGraph: true) }
            )
        ) { benchmark in
            let graph = graph
            // Take the warmed buffer out of the global rather than copy it (a copy would be
            // copied again on its first write).
            var buffer = TraversalBuffer()
            swap(&buffer, &warmBuffer)
            defer { swap(&buffer, &warmBuffer) }
            for _ in benchmark.scaledIterations {
                var checksum = 0
                graph.forEachDescendant(of: MemberIndex(rawValue: 0), using: &buffer) { checksum &+= $0.position }
                blackHole(checksum)
            }
        }

        Benchmark(
            "Graph.Leaderboard.Top100.\(label)",
            configuration: .init(
                metrics: queryMetrics,
                scalingFactor: .kilo,
                maxIterations: isShort ? 2 : 10,
                setup: { prepare(members: members, buildGraph: true) }
            )
        ) { benchmark in
            let graph = graph
            // Take the warmed buffer out of the global rather than copy it (a copy would be
            // copied again on its first write).
            var buffer = TraversalBuffer()
            swap(&buffer, &warmBuffer)
            defer { swap(&buffer, &warmBuffer) }
            for _ in benchmark.scaledIterations {
                var checksum = 0
                try! graph.forEachTopInviter(limit: 100, by: .direct, using: &buffer) { rank, member, count in
                    checksum &+= rank &* member.position &+ count
                }
                blackHole(checksum)
            }
        }

        // Snapshot and restore run twice: once for wall clock and allocations (gated), once for
        // peak memory alone. The peak-memory sampler allocates while it runs, so with it the
        // allocation count grew with wall time (30 to 50 for a snapshot that allocates 4, 147 to
        // 590 for a restore that allocates 17, depending on the machine's load).
        for (suffix, metrics) in [("", queryMetrics), (".PeakMemory", [BenchmarkMetric.peakMemoryResident])] {
            Benchmark(
                "Graph.Snapshot\(suffix).\(label)",
                configuration: .init(
                    metrics: metrics,
                    maxIterations: isShort ? 2 : 10,
                    thresholds: suffix.isEmpty ? growthAllocations : [:],
                    setup: { prepare(members: members, buildGraph: true) }
                )
            ) { benchmark in
                for _ in benchmark.scaledIterations {
                    blackHole(graph.snapshot().count)
                }
            }

            Benchmark(
                "Graph.Restore\(suffix).\(label)",
                configuration: .init(
                    metrics: metrics,
                    maxIterations: isShort ? 2 : 10,
                    thresholds: suffix.isEmpty ? growthAllocations : [:],
                    setup: {
                        prepare(members: members, buildGraph: true)
                        snapshotBytes = graph.snapshot()
                    }
                )
            ) { benchmark in
                for _ in benchmark.scaledIterations {
                    blackHole(try! InviteGraph(snapshot: snapshotBytes).count)
                }
            }
        }
    }
}
