import Fission
import FissionSQLite
import Foundation

/// Issue 6's "snapshots so reopening a store with 1M members takes seconds, not a full replay":
/// registers `members` members (a seeded forest, one in four with a channel) and `members / 10`
/// paid orders through the engine on a SQLite store (`synchronous=FULL`, batches of 1,000),
/// checkpoints, and times opening a new engine on the file. The peer is a full replay: the same
/// journal copied into an `InMemoryStore` with no snapshot, opened the same way (a lower bound of
/// replaying from the file, which would also read every entry from disk).
func runEngineReopen(members: Int) {
    let memberCount = max(members, 1_000)
    let orders = memberCount / 10
    let campaign: CampaignID = 1
    let start = try! Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
    let definition = engineBenchmarkCampaign(
        campaign,
        from: start,
        rules: [
            try! RewardRule(id: 1, shape: .inviteFixed(.money(Money(minorUnits: 100, currency: .cny)))),
            engineBenchmarkCommission(id: 2),
        ]
    )
    var generator = SeededGenerator(seed: 11)
    var commands: [(key: EventID, command: EngineCommand)] = [
        (-1, .publishCampaign(definition)),
        (
            -2,
            .fundCampaign(campaign, amount: try! .money(Money(minorUnits: Int64(memberCount) * 1_000, currency: .cny)))
        ),
    ]
    for member in 0..<memberCount {
        let inviter = member == 0 ? nil : MemberID(Int64(generator.next(below: UInt64(member))))
        commands.append(
            (
                EventID(Int64(-10 - member)),
                .registerMember(
                    MemberID(Int64(member)),
                    invitedBy: inviter,
                    campaign: campaign,
                    channel: member % 4 == 0 ? "poster" : nil
                )
            )
        )
    }
    for order in 0..<orders {
        let buyer = MemberID(Int64(generator.next(below: UInt64(memberCount))))
        let paid = Money(minorUnits: 1_000 + Int64(generator.next(below: 20_000)), currency: .cny)
        commands.append(
            (
                EventID(Int64(order)),
                .orderPaid(
                    order: OrderID(Int64(order)),
                    buyer: buyer,
                    kind: .regular,
                    lines: [OrderPaid.Line(sku: 1, quantity: 1, netPaid: paid)]
                )
            )
        )
    }

    let folder = StoreBenchFolder()
    defer { folder.remove() }
    let path = "\(folder.path)/store.sqlite"
    let engine = try! FissionEngine(store: try! SQLiteStore(path: path))
    let workload = commands
    let began = nanoseconds()
    let appliedAt = try! start.adding(days: 1)
    blocking { await submitInPages(workload, to: engine, at: appliedAt, naming: "a reopen-workload command") }
    let applied = nanoseconds() - began
    let checkpointBegan = nanoseconds()
    blocking { try! await engine.checkpoint() }
    let checkpointed = nanoseconds() - checkpointBegan
    let snapshotBytes = (try! engine.store.latestSnapshot())?.state.count ?? 0
    let expected = blocking { await Summary(engine.state, sequence: engine.lastSequence) }
    note(
        "fission-compare: engine-reopen: \(memberCount) members and \(orders) orders through SQLite in "
            + "\(format(Double(applied) / 1e9, decimals: 1)) s; checkpoint \(format(Double(checkpointed) / 1e6, decimals: 0)) ms, "
            + "snapshot \(snapshotBytes / 1_000_000) MB"
    )

    // Ours: a new engine on the file (read the snapshot, replay nothing after it).
    let reopenBegan = nanoseconds()
    let reopened = try! FissionEngine(store: try! SQLiteStore(path: path))
    let reopenTime = nanoseconds() - reopenBegan
    let restored = blocking { await Summary(reopened.state, sequence: reopened.lastSequence) }
    check(restored == expected, "the reopened engine differs: \(restored) against \(expected)")

    // The peer: the same journal, no snapshot, replayed in memory.
    let journal = InMemoryStore()
    var after: Int64 = 0
    while case let page = try! engine.store.entries(after: after, limit: 10_000), !page.isEmpty {
        try! journal.append(page, expectingLastSequence: after)
        after = page.last!.sequence
    }
    let replayBegan = nanoseconds()
    let replayed = try! FissionEngine(store: journal)
    let replayTime = nanoseconds() - replayBegan
    let replayedSummary = blocking { await Summary(replayed.state, sequence: replayed.lastSequence) }
    check(replayedSummary == expected, "the replayed engine differs")

    note(
        "fission-compare: engine-reopen: from the snapshot \(format(Double(reopenTime) / 1e9, decimals: 2)) s, "
            + "full replay \(format(Double(replayTime) / 1e9, decimals: 2)) s (\(commands.count) entries)"
    )
    // Per member, so the line reads like the others.
    report(
        "engine-reopen",
        ours: Double(reopenTime) / Double(memberCount),
        peer: "replay",
        Double(replayTime) / Double(memberCount)
    )
}

/// What a reopened engine must have restored, compared cheaply at 1M members.
private struct Summary: Equatable, CustomStringConvertible {
    let sequence: Int64
    let members: Int
    let transfers: Int
    let clock: Timestamp
    let lastMember: Member?

    init(_ state: EngineState, sequence: Int64) {
        self.sequence = sequence
        self.members = state.registeredMembers.count
        self.transfers = state.settlement.ledger.transferCount
        self.clock = state.clock
        self.lastMember = state.registeredMembers.last
    }

    var description: String { "sequence \(self.sequence), \(self.members) members, \(self.transfers) transfers" }
}
