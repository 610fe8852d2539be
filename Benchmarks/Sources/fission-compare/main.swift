// fission-compare: our invite graph and each peer on the same seeded tree, in one process and
// one run, so the ratios hold even when the machine's speed drifts. Prints one line per case and
// peer: `COMPARE <case> ours_ns=<ns per op> <peer>_ns=<ns per op> ratio=<peer/ours>`.
// Usage: fission-compare [--members N] [--rounds R] [--insert-only]
//   [--suite all|graph|settle|groups|engine|engine-memory|engine-reopen|engine-groups|engine-layers|store].
// Diagnostics go to standard error; --insert-only runs only our insert case, for a profiler;
// --suite runs one group of cases: the invite graph (issue 4), settlement (issue 5), groups (issue 3)
// the engine or the SQLite store (issue 6); engine-memory runs only the in-memory engine cases,
// for a profiler, engine-reopen only the reopening case, and engine-groups (not part of all) the
// checkpoint and reopening of an engine with check-ins and groups; engine-layers (not part of all)
// the evaluation, checkpoint and reopening of an engine that tracks members' activity.

import CSQLite
import FissionCore
import FissionGraph
import GraphWorkload
import SwiftGraph

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: Arguments and timing

var members = 1_000_000
var rounds = 5
var insertOnly = false
var suite = "all"
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--members": members = Int(arguments.next() ?? "") ?? members
    case "--rounds": rounds = max(1, Int(arguments.next() ?? "") ?? rounds)
    // For a profiler: only our insert case, no COMPARE lines.
    case "--insert-only": insertOnly = true
    case "--suite": suite = arguments.next() ?? suite
    default:
        note(
            "usage: fission-compare [--members N] [--rounds R] [--insert-only] "
                + "[--suite all|graph|settle|groups|engine|engine-memory|engine-reopen|engine-groups|engine-layers|store]\n"
        )
        exit(64)
    }
}

/// Writes a diagnostic line to standard error, keeping standard output for COMPARE lines.
func note(_ message: String) {
    var line = message
    if !line.hasSuffix("\n") { line += "\n" }
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func nanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// The process's CPU time and minor page faults, from getrusage.
///
/// Printed per round on standard error: on this machine a page fault costs from under one to
/// several microseconds depending on the host's load, so growing memory (each new page faulted
/// in) moves the wall clock far more than the work done per event (Decision 0015).
struct ProcessUsage {
    var userSeconds: Double
    var systemSeconds: Double
    var minorFaults: Int

    static func now() -> ProcessUsage {
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return ProcessUsage(
            userSeconds: Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6,
            systemSeconds: Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6,
            minorFaults: usage.ru_minflt
        )
    }

    func since(_ earlier: ProcessUsage) -> ProcessUsage {
        ProcessUsage(
            userSeconds: self.userSeconds - earlier.userSeconds,
            systemSeconds: self.systemSeconds - earlier.systemSeconds,
            minorFaults: self.minorFaults - earlier.minorFaults
        )
    }

    func printLine() {
        note(
            "fission-compare:   round: user \(format(self.userSeconds, decimals: 2)) s, "
                + "system \(format(self.systemSeconds, decimals: 2)) s, \(self.minorFaults) page faults"
        )
    }
}

/// The best of `rounds` runs of `body`, in nanoseconds per operation.
func measure(rounds: Int, operations: Int, _ body: () -> Void) -> Double {
    var best = UInt64.max
    for _ in 0..<rounds {
        let start = nanoseconds()
        body()
        best = min(best, nanoseconds() - start)
    }
    return Double(best) / Double(operations)
}

func format(_ value: Double, decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    let whole = scaled / Int(scale)
    let fraction = String(scaled % Int(scale))
    return decimals == 0
        ? "\(whole)" : "\(whole).\(String(repeating: "0", count: decimals - fraction.count))\(fraction)"
}

func report(_ name: String, ours: Double, peer: String, _ peerNanoseconds: Double) {
    print(
        "COMPARE \(name) ours_ns=\(format(ours, decimals: 1)) \(peer)_ns=\(format(peerNanoseconds, decimals: 1))"
            + " ratio=\(format(peerNanoseconds / ours, decimals: 2))"
    )
}

func check(_ condition: Bool, _ message: String) {
    if !condition {
        note("fission-compare: results differ: \(message)\n")
        exit(1)
    }
}

/// Runs every case. A function rather than top-level code: top-level variables are globals, and
/// reading a global struct in a loop copies it (retaining each of its arrays) on every access.
func runComparison(members: Int, rounds: Int, insertOnly: Bool) {
    // MARK: Inputs

    note("fission-compare: \(members) members, best of \(rounds) rounds\n")
    let workload = Workload(members: members)
    let root = MemberIndex(rawValue: 0)
    let queryIndices = workload.queries.map(MemberIndex.init(rawValue:))

    // MARK: insert

    var graph = InviteGraph()
    var floor = FloorForest(capacity: 0)
    // Ours and the floor take turns, round by round, so that a burst of load on this shared
    // machine slows both rather than one: the ratio is the figure that must hold.
    var oursInsert = Double.infinity
    var floorInsert = Double.infinity
    for _ in 0..<min(rounds, 3) {
        oursInsert = min(
            oursInsert,
            measure(rounds: 1, operations: members) {
                var fresh = InviteGraph()
                Workload.register(workload.parents, into: &fresh)
                graph = fresh
            }
        )
        if insertOnly { continue }
        floorInsert = min(
            floorInsert,
            measure(rounds: 1, operations: members) {
                var fresh = FloorForest(capacity: members)
                for inviter in workload.parents { fresh.insert(inviter: inviter) }
                floor = fresh
            }
        )
    }
    // The same with `reserveCapacity(_:)` first, as a host that knows its size can do: no array
    // growth, like the floor's preallocated arrays. A diagnostic, not a COMPARE case.
    let oursReservedInsert = measure(rounds: min(rounds, 3), operations: members) {
        var fresh = InviteGraph()
        fresh.reserveCapacity(members)
        Workload.register(workload.parents, into: &fresh)
        precondition(fresh.count == members)
    }
    // And with scattered integer ids, which never form a sequential run: every lookup hashes.
    let scattered = workload.scatteredIDs()
    let oursScatteredInsert = measure(rounds: min(rounds, 3), operations: members) {
        var fresh = InviteGraph()
        Workload.register(workload.parents, ids: scattered, into: &fresh)
        precondition(fresh.count == members)
    }
    note(
        "fission-compare: ours insert \(format(oursInsert, decimals: 1)) ns per member,"
            + " \(format(oursReservedInsert, decimals: 1)) ns after reserveCapacity,"
            + " \(format(oursScatteredInsert, decimals: 1)) ns with scattered ids (no sequential run)"
    )
    if insertOnly { return }
    // The floor with its kernel inlined into the loop (no call per member), a diagnostic.
    let floorInlinedInsert = measure(rounds: min(rounds, 3), operations: members) {
        precondition(FloorForest.build(workload.parents).parent.count == members)
    }
    note(
        "fission-compare: floor insert \(format(floorInsert, decimals: 1)) ns per member called once per member,"
            + " \(format(floorInlinedInsert, decimals: 1)) ns with the kernel inlined into the loop"
    )
    note(
        "fission-compare: ours holds \(format(Double(graph.approximateMemoryBytes) / Double(members), decimals: 1)) bytes per member\n"
    )
    floor.buildChildIndex()
    // Snapshot and restore, a diagnostic (package-benchmark has the figures with allocations).
    var snapshotBytes: [UInt8] = []
    let snapshotTime = measure(rounds: min(rounds, 3), operations: 1) { snapshotBytes = graph.snapshot() }
    let restoreTime = measure(rounds: min(rounds, 3), operations: 1) {
        precondition((try? InviteGraph(snapshot: snapshotBytes)) == graph)
    }
    note(
        "fission-compare: snapshot \(format(snapshotTime / 1e6, decimals: 1)) ms (\(snapshotBytes.count) bytes),"
            + " restore with its checks \(format(restoreTime / 1e6, decimals: 1)) ms (and a comparison)"
    )
    var swiftGraph = UnweightedGraph<Int32>()
    let swiftGraphInsert = measure(rounds: 1, operations: members) {
        let fresh = UnweightedGraph<Int32>()
        for (member, inviter) in workload.parents.enumerated() {
            _ = fresh.addVertex(Int32(member))
            if inviter >= 0 { fresh.addEdge(fromIndex: Int(inviter), toIndex: member, directed: true) }
        }
        swiftGraph = fresh
    }
    check(graph.inviteCounts(of: root).team == Int(floor.team[0]), "team size of the root")
    report("insert", ours: oursInsert, peer: "floor", floorInsert)
    report("insert", ours: oursInsert, peer: "swiftgraph", swiftGraphInsert)

    // MARK: Peers' extra structures: SwiftGraph has no incoming-edge index, so uplines use a reversed graph.

    let reversed = UnweightedGraph<Int32>()
    for (member, inviter) in workload.parents.enumerated() {
        _ = reversed.addVertex(Int32(member))
        if inviter >= 0 { reversed.addEdge(fromIndex: member, toIndex: Int(inviter), directed: true) }
    }
    let database = SQLiteForest(parents: workload.parents)
    let sqliteQueryCount = min(20_000, workload.queries.count)

    // MARK: ancestors

    for levels in [2, 3] {
        var oursSum = 0
        let ours = measure(rounds: rounds, operations: queryIndices.count) {
            oursSum = 0
            for query in queryIndices {
                for ancestor in try! graph.ancestors(of: query, upTo: levels) { oursSum &+= ancestor.position }
            }
        }
        var floorSum = 0
        let floorTime = measure(rounds: rounds, operations: queryIndices.count) {
            floorSum = floor.ancestorChecksum(workload.queries, levels: levels)
        }
        var swiftGraphSum = 0
        let swiftGraphTime = measure(rounds: rounds, operations: queryIndices.count) {
            swiftGraphSum = 0
            for query in workload.queries {
                var vertex = Int(query)
                for _ in 0..<levels {
                    guard let edge = reversed.edgesForIndex(vertex).first else { break }
                    swiftGraphSum &+= edge.v
                    vertex = edge.v
                }
            }
        }
        var sqliteSum = 0
        let sqliteTime = measure(rounds: 2, operations: sqliteQueryCount) {
            sqliteSum = 0
            for query in workload.queries[0..<sqliteQueryCount] {
                sqliteSum &+= database.ancestorSum(of: query, levels: levels)
            }
        }
        var oursPrefixSum = 0
        for query in queryIndices[0..<sqliteQueryCount] {
            for ancestor in try! graph.ancestors(of: query, upTo: levels) { oursPrefixSum &+= ancestor.position }
        }
        check(
            oursSum == floorSum && oursSum == swiftGraphSum && oursPrefixSum == sqliteSum,
            "ancestors depth \(levels)"
        )
        report("ancestors-depth\(levels)", ours: ours, peer: "floor", floorTime)
        report("ancestors-depth\(levels)", ours: ours, peer: "swiftgraph", swiftGraphTime)
        report("ancestors-depth\(levels)", ours: ours, peer: "sqlite", sqliteTime)
    }

    // MARK: downline per level, depth 3, of the root

    do {
        var buffer = TraversalBuffer()
        var oursCount = 0
        let ours = measure(rounds: rounds, operations: 1) {
            oursCount = 0
            try! graph.forEachInvitee(of: root, upTo: 3, using: &buffer) { _, _ in oursCount += 1 }
        }
        var queue: [Int32] = []
        var floorCount = 0
        let floorTime = measure(rounds: rounds, operations: 1) {
            floorCount = floor.downline(of: 0, levels: 3, queue: &queue)
        }
        var levels = [UInt8](repeating: 0, count: members)
        var swiftGraphCount = 0
        let swiftGraphTime = measure(rounds: min(rounds, 3), operations: 1) {
            swiftGraphCount = 0
            _ = swiftGraph.bfs(fromIndex: 0, goalTest: { _ in false }, visitOrder: { $0 }) { edge in
                levels[edge.v] = levels[edge.u] + 1
                swiftGraphCount += 1
                return levels[edge.v] < 3
            }
        }
        var sqliteCount = 0
        let sqliteTime = measure(rounds: min(rounds, 3), operations: 1) {
            sqliteCount = database.downlineCount(of: 0, levels: 3)
        }
        check(oursCount == floorCount && oursCount == swiftGraphCount && oursCount == sqliteCount, "per-level downline")
        note("fission-compare: the root has \(oursCount) members within 3 levels\n")
        report("downline-per-level-depth3", ours: ours, peer: "floor", floorTime)
        report("downline-per-level-depth3", ours: ours, peer: "swiftgraph", swiftGraphTime)
        report("downline-per-level-depth3", ours: ours, peer: "sqlite", sqliteTime)
    }

    // MARK: the whole downline of the root

    do {
        var buffer = TraversalBuffer()
        var oursCount = 0
        let ours = measure(rounds: rounds, operations: 1) {
            oursCount = 0
            graph.forEachDescendant(of: root, using: &buffer) { _ in oursCount += 1 }
        }
        var queue: [Int32] = []
        var floorCount = 0
        let floorTime = measure(rounds: rounds, operations: 1) {
            floorCount = floor.downline(of: 0, levels: Int.max, queue: &queue)
        }
        var swiftGraphCount = 0
        let swiftGraphTime = measure(rounds: 1, operations: 1) {
            swiftGraphCount = 0
            _ = swiftGraph.bfs(fromIndex: 0, goalTest: { _ in false }, visitOrder: { $0 }) { _ in
                swiftGraphCount += 1
                return true
            }
        }
        var sqliteCount = 0
        let sqliteTime = measure(rounds: 1, operations: 1) {
            sqliteCount = database.downlineCount(of: 0, levels: 1 << 30)
        }
        check(
            oursCount == members - 1 && floorCount == oursCount && swiftGraphCount == oursCount
                && sqliteCount == oursCount,
            "whole downline"
        )
        report("downline-enumerate", ours: ours, peer: "floor", floorTime)
        report("downline-enumerate", ours: ours, peer: "swiftgraph", swiftGraphTime)
        report("downline-enumerate", ours: ours, peer: "sqlite", sqliteTime)
    }

    // MARK: top 100 by direct invites

    do {
        var buffer = TraversalBuffer()
        var oursFirst = 0
        let ours = measure(rounds: rounds, operations: 1) {
            try! graph.forEachTopInviter(limit: 100, by: .direct, using: &buffer) { rank, member, _ in
                if rank == 1 { oursFirst = member.position }
            }
        }
        var heap: [UInt64] = []
        var floorBest: UInt64 = 0
        let floorTime = measure(rounds: rounds, operations: 1) { floorBest = floor.top(100, heap: &heap) }
        check(oursFirst == Int(UInt32.max - UInt32(truncatingIfNeeded: floorBest)), "top inviter")
        report("top100", ours: ours, peer: "floor", floorTime)
    }
}

if suite == "all" || suite == "graph" || insertOnly {
    runComparison(members: members, rounds: rounds, insertOnly: insertOnly)
}
if !insertOnly && (suite == "all" || suite == "settle") {
    runSettlementComparison(members: members, rounds: rounds)
}
if !insertOnly && (suite == "all" || suite == "groups") {
    runGroupsComparison(rounds: rounds)
}
if !insertOnly && (suite == "all" || suite == "engine" || suite == "engine-memory") {
    runEngineComparison(members: members, rounds: rounds, durable: suite != "engine-memory")
}
if !insertOnly && (suite == "all" || suite == "engine" || suite == "engine-reopen") {
    runEngineReopen(members: members)
}
if !insertOnly && suite == "engine-groups" {
    runEngineGroupsReopen(members: members)
}
if !insertOnly && suite == "engine-layers" {
    runEngineLayers(members: members)
}
if !insertOnly && (suite == "all" || suite == "store") {
    runStoreComparison(rounds: rounds, batchEntries: 20_000, singleEntries: 300)
}
