import CMallocInfo
import Dispatch
import Fission
import FissionSQLite
import Foundation

/// Issue 6's `engine-memory` case: order-paid commands through the engine and the in-memory
/// store (apply, encode, journal append, idempotency check), against the floor of the bare
/// settlement settling the same events with the inviters already attributed.
func runEngineComparison(members: Int, rounds: Int, durable runsDurable: Bool = true) {
    let orders = members
    let memberCount = max(members / 10, 1_000)
    let campaign: CampaignID = 1
    let start = try! Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
    let paidAt = try! start.adding(days: 1)
    let definition = engineBenchmarkCampaign(campaign, from: start, rules: [engineBenchmarkCommission(id: 1)])
    let budget = try! RewardAmount.money(Money(minorUnits: Int64(orders) * 10_000, currency: .cny))
    // A seeded forest: member i was invited by a member who joined before (member 0 by nobody).
    var generator = SeededGenerator(seed: 6)
    let parents: [Int] = (0..<memberCount).map { $0 == 0 ? -1 : Int(generator.next(below: UInt64($0))) }
    let buyers: [Int] = (0..<orders).map { _ in Int(generator.next(below: UInt64(memberCount))) }
    let amounts: [Int64] = (0..<orders).map { _ in 1_000 + Int64(generator.next(below: 20_000)) }
    let lines = amounts.map { [OrderPaid.Line(sku: 1, quantity: 1, netPaid: Money(minorUnits: $0, currency: .cny))] }
    let commands: [(key: EventID, command: EngineCommand)] = (0..<orders).map { index in
        (
            EventID(Int64(index)),
            .orderPaid(
                order: OrderID(Int64(index)),
                buyer: MemberID(Int64(buyers[index])),
                kind: .regular,
                lines: lines[index]
            )
        )
    }

    /// A fresh engine with the campaign and members, on a fresh store (in memory by default).
    func makeEngine(store: any FissionStore = InMemoryStore()) -> FissionEngine {
        let engine = try! FissionEngine(store: store)
        var setup: [(key: EventID, command: EngineCommand)] = [
            (EventID(-1), .publishCampaign(definition)), (EventID(-2), .fundCampaign(campaign, amount: budget)),
        ]
        for (member, parent) in parents.enumerated() {
            setup.append(
                (
                    EventID(Int64(-10 - member)),
                    .registerMember(
                        MemberID(Int64(member)),
                        invitedBy: parent < 0 ? nil : MemberID(Int64(parent)),
                        campaign: nil,
                        channel: nil
                    )
                )
            )
        }
        let commands = setup
        blocking { await submitInPages(commands, to: engine, at: start, naming: "an engine setup command") }
        return engine
    }

    note("fission-compare: engine-memory: \(orders) order-paid commands, \(memberCount) members, best of \(rounds)")
    var checkEngine: FissionEngine?
    var engineNanoseconds = 0.0
    for batchSize in [1, 1_000] {
        var best = UInt64.max
        var bestCPU = UInt64.max
        for _ in 0..<rounds {
            checkEngine = nil
            let engine = makeEngine()
            let heapBefore = heapBytesInUse()
            let usage = ProcessUsage.now()
            let cpuBegan = processCPUNanoseconds()
            let began = nanoseconds()
            blocking {
                if batchSize == 1 {
                    for (key, command) in commands { _ = try! await engine.submit(command, key: key, at: paidAt) }
                } else {
                    await submitInPages(commands, to: engine, pageSize: batchSize, at: paidAt, naming: "an order")
                }
            }
            best = min(best, nanoseconds() - began)
            bestCPU = min(bestCPU, processCPUNanoseconds() - cpuBegan)
            ProcessUsage.now().since(usage).printLine()
            note(
                "fission-compare:   heap held after the round: "
                    + "\(format(Double(heapBytesInUse() - heapBefore) / Double(orders), decimals: 0)) bytes per command"
            )
            checkEngine = engine
        }
        let perCommand = Double(best) / Double(orders)
        note(
            "fission-compare: engine-memory batch \(batchSize): \(format(perCommand, decimals: 1)) ns per command, "
                + "\(format(1_000.0 / perCommand, decimals: 2))M commands/s; "
                + "CPU \(format(Double(bestCPU) / Double(orders), decimals: 1)) ns per command"
        )
        if batchSize == 1_000 { engineNanoseconds = perCommand }
    }

    // The floor: the same events on a bare settlement, inviters attributed up front (untimed).
    let events: [RewardEvent] = (0..<orders).map { index in
        var inviters: [MemberID] = []
        var current = parents[buyers[index]]
        while current >= 0 && inviters.count < 2 {
            inviters.append(MemberID(Int64(current)))
            current = parents[current]
        }
        return .orderPaid(
            try! OrderPaid(
                order: OrderID(Int64(index)),
                buyer: MemberID(Int64(buyers[index])),
                inviters: inviters,
                buyerPaidOrderCount: 1,
                lines: lines[index],
                at: paidAt
            )
        )
    }
    var floorState = Settlement()
    let floorCPUBegan = processCPUNanoseconds()
    let floor = measure(rounds: rounds, operations: orders) {
        var settlement = Settlement()
        try! settlement.addCampaign(definition)
        try! settlement.fund(campaign, amount: budget, id: -2, at: start)
        for (index, event) in events.enumerated() {
            _ = try! settlement.settle(event, id: EventID(Int64(index)), campaign: campaign)
        }
        floorState = settlement
    }
    if let checkEngine {
        let transfers = blocking { await checkEngine.state.settlement.ledger.transferCount }
        check(transfers == floorState.ledger.transferCount, "engine and floor made different ledgers")
    }
    let floorCPU = Double(processCPUNanoseconds() - floorCPUBegan) / Double(orders * rounds)
    note("fission-compare: engine-memory floor: CPU \(format(floorCPU, decimals: 1)) ns per event (mean of the rounds)")
    report("engine-memory", ours: engineNanoseconds, peer: "floor", floor)
    guard runsDurable else { return }

    // Durable: the same commands through a SQLite store (synchronous=FULL) in a temporary folder.
    // Fewer of them, since the disk's sync decides the time; the floor is still the bare settlement.
    let durableCases = [
        (name: "engine-sqlite-batch1000", batchSize: 1_000, count: min(orders, 20_000)),
        (name: "engine-sqlite-single", batchSize: 1, count: min(orders, 300)),
    ]
    for durable in durableCases {
        var best = UInt64.max
        for _ in 0..<rounds {
            let folder = StoreBenchFolder()
            let engine = makeEngine(store: try! SQLiteStore(path: "\(folder.path)/store.sqlite"))
            let slice = Array(commands[0..<durable.count])
            let began = nanoseconds()
            blocking {
                await submitInPages(
                    slice,
                    to: engine,
                    pageSize: durable.batchSize,
                    at: paidAt,
                    naming: "a durable order"
                )
            }
            best = min(best, nanoseconds() - began)
            folder.remove()
        }
        let perCommand = Double(best) / Double(durable.count)
        note(
            "fission-compare: \(durable.name): \(durable.count) commands, "
                + "\(format(1_000_000_000.0 / perCommand, decimals: 0)) commands/s durable"
        )
        report(durable.name, ours: perCommand, peer: "floor", floor)
    }
}

/// Submits `commands` to `engine` in batches of `pageSize`, in order, all at `instant`. A command
/// that fails stops the run (`check`), its error named after `what`: a benchmark must not time
/// refusals.
func submitInPages(
    _ commands: [(key: EventID, command: EngineCommand)],
    to engine: FissionEngine,
    pageSize: Int = 1_000,
    at instant: Timestamp,
    naming what: String
) async {
    for page in stride(from: 0, to: commands.count, by: pageSize) {
        let results = try! await engine.submit(
            batch: Array(commands[page..<min(page + pageSize, commands.count)]),
            at: instant
        )
        for result in results {
            if case .failure(let error) = result { check(false, "\(what) failed: \(error)") }
        }
    }
}

/// Runs async work to completion from the synchronous benchmark driver.
func blocking<Value: Sendable>(_ body: @escaping @Sendable () async -> Value) -> Value {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Value?
    Task {
        result = await body()
        done.signal()
    }
    done.wait()
    return result!
}

/// Bytes the process's allocator has handed out and not had back (glibc's `mallinfo2`): the
/// difference across a round is what the engine and its store keep per command.
func heapBytesInUse() -> Int {
    Int(fission_heap_bytes_in_use())
}

/// The CPU time all of the process's threads have used. On a shared machine another process's
/// load stretches the wall clock far more than this, so the engine cases print both.
func processCPUNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

/// The engine benchmarks' campaign: 60 days from `start`, in CNY, China Standard Time.
func engineBenchmarkCampaign(_ id: CampaignID, from start: Timestamp, rules: [RewardRule]) -> RewardCampaign {
    try! RewardCampaign(
        id: id,
        startsAt: start,
        endsAt: try! start.adding(days: 60),
        offset: .chinaStandardTime,
        currency: .cny,
        rules: rules
    )
}

/// 10% to the first-level inviter and 5% to the second, held for 7 days.
func engineBenchmarkCommission(id: RuleID) -> RewardRule {
    try! RewardRule(
        id: id,
        shape: .commission(levelRates: [try! .percent(10), try! .percent(5)], skuOverrides: []),
        holdDays: 7
    )
}
