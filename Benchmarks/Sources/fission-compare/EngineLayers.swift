import Fission
import Foundation

/// Layers from activity at scale (Decision 0032): `members` members registered on an in-memory
/// store, activity tracked, each checked in once on day 1 and every other one reporting a use on
/// day 2, then one `evaluateLayers` for day 2 (half of the members move up to core: two uses). Times
/// that evaluation, a checkpoint and a reopening. The peer is `MemberRoster.reevaluateLayers(on:)`
/// over the same members and activity: the value module alone, without the engine's journal. The
/// same check-ins on an engine that does not track activity show what tracking adds to a command.
func runEngineLayers(members: Int) {
    let memberCount = max(members, 1_000)
    let start = try! Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
    let policy = try! LayeringPolicy(
        tiers: [
            .init(layer: .kol, requirement: nil),
            .init(layer: .core, requirement: try! ActivityRequirement(minimumUses: 2, maximumDaysSinceLastUse: 21)),
        ],
        fallback: .ordinary,
        windowDays: 21,
        graceDays: 7,
        currency: .cny
    )
    let configuration = FissionEngine.Configuration(layeringPolicy: policy, checkInCapacity: memberCount)
    let store = InMemoryStore()
    let engine = try! FissionEngine(store: store, configuration: configuration)
    func submitAll(_ commands: [(key: EventID, command: EngineCommand)], at instant: Timestamp) {
        blocking { await submitInPages(commands, to: engine, at: instant, naming: "an engine-layers command") }
    }
    let ids = (0..<memberCount).map { MemberID(Int64($0)) }
    submitAll([(EventID("track"), .trackActivity)], at: start)
    submitAll(
        ids.map { (try! EventID("reg-\($0)"), .registerMember($0, invitedBy: nil, campaign: nil, channel: nil)) },
        at: start
    )
    let dayOne = try! start.adding(days: 1)
    let dayTwo = try! start.adding(days: 2)
    let checkInsBegan = nanoseconds()
    submitAll(ids.map { (try! EventID("ci-\($0)"), .checkIn($0, activity: "run", group: nil)) }, at: dayOne)
    let checkIns = nanoseconds() - checkInsBegan
    let reportsBegan = nanoseconds()
    let reporters = ids.indices.filter { $0 % 2 == 0 }.map { ids[$0] }
    submitAll(reporters.map { (try! EventID("use-\($0)"), .recordActivity($0, kind: .use)) }, at: dayTwo)
    let reports = nanoseconds() - reportsBegan
    let day = dayTwo.calendarDay(in: configuration.checkInOffset)
    // The same check-ins on an engine that does not track activity: what tracking adds to one.
    let untracked = try! FissionEngine(store: InMemoryStore(), configuration: configuration)
    blocking {
        await submitInPages(
            ids.map { (try! EventID("reg-\($0)"), .registerMember($0, invitedBy: nil, campaign: nil, channel: nil)) },
            to: untracked,
            at: start,
            naming: "an engine-layers command"
        )
    }
    let untrackedBegan = nanoseconds()
    blocking {
        await submitInPages(
            ids.map { (try! EventID("ci-\($0)"), .checkIn($0, activity: "run", group: nil)) },
            to: untracked,
            at: dayOne,
            naming: "an engine-layers command"
        )
    }
    let untrackedCheckIns = nanoseconds() - untrackedBegan

    let evaluationBegan = nanoseconds()
    let outcome = blocking { try! await engine.submit(.evaluateLayers(on: day), key: "evaluate", at: dayTwo) }
    let evaluation = nanoseconds() - evaluationBegan
    check(outcome.effects.count == reporters.count, "every reporting member moved up to core")

    // The peer: a roster with the same members and activity, evaluated alone.
    var roster = MemberRoster(policy: policy, offset: configuration.checkInOffset)
    for id in ids { try! roster.add(Member(id: id, joinedAt: start)) }
    for id in ids { try! roster.record(ActivityRecord(member: id, at: dayOne, kind: .use)) }
    for id in reporters { try! roster.record(ActivityRecord(member: id, at: dayTwo, kind: .use)) }
    let rosterBegan = nanoseconds()
    let changes = roster.reevaluateLayers(on: day)
    let rosterTime = nanoseconds() - rosterBegan
    check(changes.count == reporters.count, "the roster moves the same members")

    let checkpointBegan = nanoseconds()
    blocking { try! await engine.checkpoint() }
    let checkpointed = nanoseconds() - checkpointBegan
    let snapshotBytes = (store.latestSnapshot())?.state.count ?? 0
    let reopenBegan = nanoseconds()
    let reopened = try! FissionEngine(store: store, configuration: configuration)
    let reopenTime = nanoseconds() - reopenBegan
    let restored = blocking { await reopened.state }
    let live = blocking { await engine.state }
    check(
        restored.activity(of: ids[0]) == live.activity(of: ids[0])
            && restored.layerState(of: ids[memberCount - 1]) == live.layerState(of: ids[memberCount - 1])
            && restored.registeredMembers == live.registeredMembers,
        "the reopened engine's activity or layers differ"
    )
    note(
        "fission-compare: engine-layers: \(memberCount) members tracked; \(memberCount) check-ins "
            + "\(format(Double(checkIns) / Double(memberCount), decimals: 0)) ns each (untracked "
            + "\(format(Double(untrackedCheckIns) / Double(memberCount), decimals: 0)) ns), \(reporters.count) reports "
            + "\(format(Double(reports) / Double(reporters.count), decimals: 0)) ns each; evaluation "
            + "\(format(Double(evaluation) / 1e6, decimals: 0)) ms (\(outcome.effects.count) moves), the roster alone "
            + "\(format(Double(rosterTime) / 1e6, decimals: 0)) ms; checkpoint \(format(Double(checkpointed) / 1e6, decimals: 0)) ms "
            + "(snapshot \(snapshotBytes / 1_000_000) MB), reopening \(format(Double(reopenTime) / 1e6, decimals: 0)) ms"
    )
    report(
        "engine-layers-evaluate",
        ours: Double(evaluation) / Double(memberCount),
        peer: "roster",
        Double(rosterTime) / Double(memberCount)
    )
}
