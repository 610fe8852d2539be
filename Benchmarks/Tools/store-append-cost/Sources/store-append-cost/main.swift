// Appends entries to a fresh SQLiteStore in batches and prints wall and CPU time per entry.
// MODE=engine (the engine's order-paid entries after its setup; default journal: DeterministicJournal(seed: 42)),
// COUNT (entries, 20000), BATCH (1000), ROUNDS (3), DIR (/tmp), KEEP=1 keeps the file. A profiling aid, not CI.

import Dispatch
import Fission
import FissionSQLite
import FissionStorage
import FissionStorageTesting
import Glibc

func nanoseconds() -> UInt64 {
    var time = timespec(); clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}
func cpu() -> UInt64 {
    var time = timespec(); clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}
func blocking<Value: Sendable>(_ body: @escaping @Sendable () async -> Value) -> Value {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Value?
    Task { result = await body(); done.signal() }
    done.wait()
    return result!
}

/// The engine's real entries: order-paid commands after setup, read back from an in-memory store.
func engineEntries(orders: Int) -> (setup: [JournalEntry], orders: [JournalEntry]) {
    let memberCount = max(orders / 10, 1_000)
    let campaign: CampaignID = 1
    let start = try! Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
    let paidAt = try! start.adding(days: 1)
    let definition = try! RewardCampaign(
        id: campaign, startsAt: start, endsAt: try! start.adding(days: 60), offset: .chinaStandardTime, currency: .cny,
        rules: [try! RewardRule(id: 1, shape: .commission(levelRates: [try! .percent(10), try! .percent(5)], skuOverrides: []), holdDays: 7)]
    )
    let budget = try! RewardAmount.money(Money(minorUnits: Int64(orders) * 10_000, currency: .cny))
    var generator = SeededGenerator(seed: 6)
    let parents: [Int] = (0..<memberCount).map { $0 == 0 ? -1 : Int(generator.next(below: UInt64($0))) }
    let buyers: [Int] = (0..<orders).map { _ in Int(generator.next(below: UInt64(memberCount))) }
    let amounts: [Int64] = (0..<orders).map { _ in 1_000 + Int64(generator.next(below: 20_000)) }
    let store = InMemoryStore()
    let engine = try! FissionEngine(store: store)
    var setup: [(key: EventID, command: EngineCommand)] = [
        (EventID(-1), .publishCampaign(definition)), (EventID(-2), .fundCampaign(campaign, amount: budget)),
    ]
    for (member, parent) in parents.enumerated() {
        setup.append((EventID(Int64(-10 - member)), .registerMember(MemberID(Int64(member)), invitedBy: parent < 0 ? nil : MemberID(Int64(parent)), campaign: nil, channel: nil)))
    }
    let commands: [(key: EventID, command: EngineCommand)] = (0..<orders).map { index in
        (EventID(Int64(index)), .orderPaid(order: OrderID(Int64(index)), buyer: MemberID(Int64(buyers[index])), kind: .regular,
            lines: [OrderPaid.Line(sku: 1, quantity: 1, netPaid: Money(minorUnits: amounts[index], currency: .cny))]))
    }
    let all = setup + commands
    blocking {
        for page in stride(from: 0, to: all.count, by: 1_000) {
            _ = try! await engine.submit(batch: Array(all[page..<min(page + 1_000, all.count)]), at: paidAt)
        }
    }
    var entries: [JournalEntry] = []
    while true {
        let page = try! store.entries(after: Int64(entries.count), limit: 10_000)
        if page.isEmpty { break }
        entries += page
    }
    return (Array(entries.prefix(setup.count)), Array(entries.dropFirst(setup.count)))
}

let env = ProcessInfoLite()
struct ProcessInfoLite {
    func get(_ name: String, _ fallback: String) -> String { getenv(name).map { String(cString: $0) } ?? fallback }
}
let mode = env.get("MODE", "journal")
let rounds = Int(env.get("ROUNDS", "3"))!
let batch = Int(env.get("BATCH", "1000"))!
let count = Int(env.get("COUNT", "20000"))!
let dir = env.get("DIR", "/tmp")

let setup: [JournalEntry]
let timed: [JournalEntry]
if mode == "engine" {
    (setup, timed) = engineEntries(orders: count)
} else {
    var journal = DeterministicJournal(seed: 42)
    setup = []
    timed = journal.next(count)
}
let timedSlice = batch == 1 ? Array(timed.prefix(Int(env.get("SINGLE", "300"))!)) : timed
var sizes = (command: 0, outcome: 0, transfers: 0)
for entry in timedSlice { sizes.command += entry.command.count; sizes.outcome += entry.outcome.count; sizes.transfers += entry.transfers.count }
print("mode \(mode): \(setup.count) setup, \(timedSlice.count) timed, per entry: command \(Double(sizes.command)/Double(timedSlice.count)) B, outcome \(Double(sizes.outcome)/Double(timedSlice.count)) B, transfers \(Double(sizes.transfers)/Double(timedSlice.count))")
for round in 0..<rounds {
    var template = Array("\(dir)/sqlbench-XXXXXX".utf8CString)
    let folder = String(cString: mkdtemp(&template)!)
    let path = "\(folder)/store.sqlite"
    let store = try! SQLiteStore(path: path)
    var last: Int64 = 0
    for page in stride(from: 0, to: setup.count, by: 1_000) {
        let slice = Array(setup[page..<min(page + 1_000, setup.count)])
        try! store.append(slice, expectingLastSequence: last)
        last += Int64(slice.count)
    }
    let wall0 = nanoseconds(), cpu0 = cpu()
    for page in stride(from: 0, to: timedSlice.count, by: batch) {
        let slice = Array(timedSlice[page..<min(page + batch, timedSlice.count)])
        try! store.append(slice, expectingLastSequence: last)
        last += Int64(slice.count)
    }
    let wall = nanoseconds() - wall0, cpuTime = cpu() - cpu0
    store.close()
    var info = stat(); stat(path, &info)
    var walInfo = stat(); stat(path + "-wal", &walInfo)
    print("round \(round): wall \(Double(wall) / Double(timedSlice.count)) ns/entry, cpu \(Double(cpuTime) / Double(timedSlice.count)) ns/entry, file \(info.st_size) wal \(walInfo.st_size)")
    if env.get("KEEP", "0") == "1" { print("kept \(path)") } else {
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        rmdir(folder)
    }
}
