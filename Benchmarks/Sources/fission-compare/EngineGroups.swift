import Fission
import Foundation

/// Checkpoint and reopening with check-ins and groups in play (Decision 0029): `members` members
/// registered, each checked in once on the community board, and up to 500,000 of them joined into
/// a series of groups of 500 (its limit of 1,000 groups), on an in-memory store. Times the
/// checkpoint and a new engine reopening from it. The peer is the JSON form engine snapshots
/// up to version 4 wrote the check-in board and the groups in: encoding and decoding only those two
/// values, which the snapshot now writes in binary.
func runEngineGroupsReopen(members: Int) {
    let memberCount = max(members, 1_000)
    let joiners = min(memberCount / 2, 500_000)
    let start = try! Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
    let configuration = FissionEngine.Configuration(checkInCapacity: memberCount)
    let store = InMemoryStore()
    let engine = try! FissionEngine(store: store, configuration: configuration)
    func submitAll(_ commands: [(key: EventID, command: EngineCommand)], at instant: Timestamp) {
        blocking { await submitInPages(commands, to: engine, at: instant, naming: "an engine-groups command") }
    }
    let began = nanoseconds()
    submitAll(
        (0..<memberCount).map {
            (EventID(Int64(-1 - $0)), .registerMember(MemberID(Int64($0)), invitedBy: nil, campaign: nil, channel: nil))
        },
        at: start
    )
    let series = try! GroupSeries(
        id: "acq",
        name: "Acquisition",
        purpose: .acquisition,
        capacity: 500,
        maximumGroups: 1_000
    )
    submitAll([(EventID("series"), .addGroupSeries(series))], at: start)
    let later = try! start.adding(days: 1)
    submitAll(
        (0..<memberCount).map {
            (EventID(Int64($0)), .checkIn(MemberID(Int64($0)), activity: "run", group: nil))
        },
        at: later
    )
    submitAll(
        (0..<joiners).map {
            (
                EventID(Int64(memberCount + $0)),
                .joinGroup(
                    MemberID(Int64($0)),
                    into: .series("acq"),
                    invitedBy: nil,
                    channel: $0 % 4 == 0 ? "poster" : nil
                )
            )
        },
        at: later
    )
    let applied = nanoseconds() - began
    let state = blocking { await engine.state }
    check(state.checkIns.streakCount == memberCount, "every member has a streak")

    let checkpointBegan = nanoseconds()
    blocking { try! await engine.checkpoint() }
    let checkpointed = nanoseconds() - checkpointBegan
    let snapshotBytes = (store.latestSnapshot())?.state.count ?? 0
    let reopenBegan = nanoseconds()
    let reopened = try! FissionEngine(store: store, configuration: configuration)
    let reopenTime = nanoseconds() - reopenBegan
    let restored = blocking { await reopened.state }
    check(
        restored.checkIns == state.checkIns && restored.groups == state.groups
            && restored.registeredMembers.count == memberCount,
        "the reopened engine's boards or groups differ"
    )

    // The peer: the two values as version 4 wrote them (sorted-key JSON), encoded and decoded.
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let jsonBegan = nanoseconds()
    let board = try! encoder.encode(state.checkIns)
    let groups = try! encoder.encode(state.groups)
    let jsonEncoded = nanoseconds() - jsonBegan
    let decodeBegan = nanoseconds()
    let decodedBoard = try! JSONDecoder().decode(CheckInBoard.self, from: board)
    let decodedGroups = try! JSONDecoder().decode(GroupDirectory.self, from: groups)
    let jsonDecoded = nanoseconds() - decodeBegan
    check(decodedBoard == state.checkIns && decodedGroups == state.groups, "the JSON round trip differs")

    note(
        "fission-compare: engine-groups: \(memberCount) members, \(memberCount) check-ins, \(joiners) joins in "
            + "\(format(Double(applied) / 1e9, decimals: 1)) s; checkpoint \(format(Double(checkpointed) / 1e6, decimals: 0)) ms "
            + "(snapshot \(snapshotBytes / 1_000_000) MB), reopening \(format(Double(reopenTime) / 1e6, decimals: 0)) ms"
    )
    note(
        "fission-compare: engine-groups: version 4's JSON of the board and the groups alone: "
            + "\((board.count + groups.count) / 1_000_000) MB, encoded in \(format(Double(jsonEncoded) / 1e6, decimals: 0)) ms, "
            + "decoded in \(format(Double(jsonDecoded) / 1e6, decimals: 0)) ms"
    )
    report(
        "engine-groups-checkpoint",
        ours: Double(checkpointed) / Double(memberCount),
        peer: "json-parts",
        Double(jsonEncoded) / Double(memberCount)
    )
    report(
        "engine-groups-reopen",
        ours: Double(reopenTime) / Double(memberCount),
        peer: "json-parts",
        Double(jsonDecoded) / Double(memberCount)
    )
}
