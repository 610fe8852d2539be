import Foundation
import Testing

@testable import Fission

/// The operators' group commands (archive, reactivate, capacity, removal, pardon), moves and
/// make-up check-ins: each does what the directory, the board or the moderator does, refuses
/// what they refuse with nothing journaled, replays to the same state and answers a retry with
/// its stored outcome. And the checks a review of the engine's community side asked for: a join
/// credited to an unregistered inviter, and an unregistered member leaving or posting.
struct EngineGroupOperationsTests {
    static let club = try! GroupSeries(
        id: "club",
        name: "Club",
        purpose: .acquisition,
        capacity: 3,
        offset: .chinaStandardTime,
        maximumGroups: 2
    )
    static let core = try! GroupSeries(id: "core", name: "Core", purpose: .core, capacity: 3, maximumGroups: 1)

    /// alice, bob, carol and dave registered (no campaign), the two series added, make-ups on.
    static func engine(_ store: any FissionStore = InMemoryStore()) async throws -> FissionEngine {
        let configuration = FissionEngine.Configuration(
            checkInSettings: try CheckInSettings(milestones: [3], makeUpsPerMonth: 1)
        )
        let engine = try FissionEngine(store: store, configuration: configuration)
        for member: MemberID in ["alice", "bob", "carol", "dave"] {
            try await engine.submit(
                .registerMember(member, invitedBy: nil, campaign: nil, channel: nil),
                key: try EventID("reg-\(member)"),
                at: at(hours: 1)
            )
        }
        try await engine.submit(.addGroupSeries(Self.club), key: "series-club", at: at(hours: 1))
        try await engine.submit(.addGroupSeries(Self.core), key: "series-core", at: at(hours: 1))
        return engine
    }

    /// `member` joins `target` under `key`.
    static func join(
        _ member: MemberID,
        _ target: JoinTarget,
        invitedBy inviter: MemberID? = nil,
        key: EventID,
        at time: Timestamp,
        on engine: FissionEngine
    ) async throws {
        try await engine.submit(.joinGroup(member, into: target, invitedBy: inviter, channel: nil), key: key, at: time)
    }

    // MARK: - Review findings

    @Test("a join crediting an unregistered inviter is unknownMember; a journal holding one replays")
    func aJoinCreditingAnUnregisteredInviter() async throws {
        let engine = try await Self.engine()
        let join = EngineCommand.joinGroup("alice", into: .series("club"), invitedBy: "ghost", channel: nil)
        try await expectRefused(join, .unknownMember, on: engine)
        // Replaying applies what the journal committed, as an earlier version accepted it.
        var state = await engine.state
        let effects = try state.apply(join, key: "join", at: at(hours: 2), replaying: true)
        #expect(effects.last == .showGroup("club-1", to: "alice"))
        #expect(state.groups.invitationCount(by: "ghost", into: "club-1") == 1)
    }

    @Test("an unregistered member leaving or posting is unknownMember, as checking in is")
    func anUnregisteredMemberLeavingOrPosting() async throws {
        let engine = try await Self.engine()
        try await Self.join("alice", .series("club"), key: "j", at: at(hours: 2), on: engine)
        for command: EngineCommand in [
            .leaveGroup("nobody", group: "club-1"), .messagePosted("nobody", group: "club-1", text: "hi"),
            .removeFromGroup("nobody", group: "club-1", reason: try RemovalReason("spam")),
            .pardonMember("nobody", group: "club-1"),
        ] {
            try await expectRefused(command, .unknownMember, on: engine)
        }
    }

    // MARK: - Operators' commands

    @Test("an archived group takes no one, a series routes past it, and reactivating opens it again")
    func archiveAndReactivate() async throws {
        let engine = try await Self.engine()
        try await Self.join("alice", .series("club"), key: "j-a", at: at(hours: 2), on: engine)
        try await engine.submit(.archiveGroup("club-1"), key: "archive", at: at(hours: 2))
        #expect(await engine.state.groups.group("club-1")?.isArchived == true)
        try await expectRefused(
            .joinGroup("bob", into: .group("club-1"), invitedBy: nil, channel: nil),
            .groupArchived,
            on: engine
        )
        let routed = try await engine.submit(
            .joinGroup("bob", into: .series("club"), invitedBy: nil, channel: nil),
            key: "j-b",
            at: at(hours: 2)
        )
        #expect(routed.effects.last == .showGroup("club-2", to: "bob"))
        // Its members stay and may leave.
        try await engine.submit(.leaveGroup("alice", group: "club-1"), key: "leave-a", at: at(hours: 3))
        try await engine.submit(.reactivateGroup("club-1"), key: "reactivate", at: at(hours: 3))
        try await Self.join("carol", .group("club-1"), key: "j-c", at: at(hours: 3), on: engine)
        try await expectRefused(.archiveGroup("nowhere"), .groupNotFound, on: engine)
        try await expectRefused(.reactivateGroup("nowhere"), .groupNotFound, on: engine)
    }

    @Test("a group's capacity changes within 2 and its member count")
    func capacity() async throws {
        let engine = try await Self.engine()
        try await Self.join("alice", .series("club"), key: "j-a", at: at(hours: 2), on: engine)
        for member: MemberID in ["bob", "carol"] {
            try await engine.submit(
                .joinGroup(member, into: .group("club-1"), invitedBy: nil, channel: nil),
                key: try EventID("j-\(member)"),
                at: at(hours: 2)
            )
        }
        try await expectRefused(
            .joinGroup("dave", into: .group("club-1"), invitedBy: nil, channel: nil),
            .groupFull,
            on: engine
        )
        try await expectRefused(.setGroupCapacity("club-1", capacity: 2), .capacityBelowMemberCount, on: engine)
        try await expectRefused(.setGroupCapacity("club-1", capacity: 1), .invalidGroupSettings, on: engine)
        try await expectRefused(.setGroupCapacity("nowhere", capacity: 5), .groupNotFound, on: engine)
        try await engine.submit(.setGroupCapacity("club-1", capacity: 4), key: "capacity", at: at(hours: 2))
        try await Self.join("dave", .group("club-1"), key: "j-dave", at: at(hours: 2), on: engine)
        #expect(await engine.state.groups.group("club-1")?.memberCount == 4)
    }

    @Test("an operator's removal ends the member's stay and says so in the outcome")
    func removal() async throws {
        let engine = try await Self.engine()
        try await Self.join("alice", .series("club"), key: "j-a", at: at(hours: 2), on: engine)
        try await Self.join("bob", .series("club"), invitedBy: "alice", key: "j-b", at: at(hours: 2), on: engine)
        let removed = try await engine.submit(
            .removeFromGroup("bob", group: "club-1", reason: try RemovalReason("spam")),
            key: "remove-bob",
            at: at(days: 1)
        )
        #expect(removed.effects == [.removeMember("bob", group: "club-1")])
        let state = await engine.state
        #expect(!state.groups.isMember("bob", of: "club-1"))
        #expect(
            try state.groups.retainedInvitationCount(by: "alice", into: "club-1", stayedDays: 1, asOf: at(days: 2)) == 0
        )
        #expect(state.groups.log(of: "club-1").last?.kind == .removed(reason: try RemovalReason("spam")))
        try await expectRefused(
            .removeFromGroup("bob", group: "club-1", reason: try RemovalReason("spam")),
            .notInGroup,
            on: engine,
            at: at(days: 1)
        )
    }

    @Test("a pardon clears a member's strikes in one group's moderator")
    func pardon() async throws {
        let engine = try await Self.engine()
        try await Self.join("alice", .series("club"), key: "j-a", at: at(hours: 2), on: engine)
        let rules = try ModerationRules(sensitiveWords: ["scam"], ads: lightAdRules())
        try await engine.submit(
            .setModeration("club-1", rules: rules, policy: .standard),
            key: "moderate",
            at: at(hours: 2)
        )
        let first = try await engine.submit(
            .messagePosted("alice", group: "club-1", text: "scam"),
            key: "m1",
            at: at(hours: 3)
        )
        #expect(first.effects.first == .warnMember("alice", group: "club-1"))
        try await engine.submit(.pardonMember("alice", group: "club-1"), key: "pardon", at: at(hours: 4))
        // Without the pardon this would be the second strike in the window: a mute.
        let second = try await engine.submit(
            .messagePosted("alice", group: "club-1", text: "scam"),
            key: "m2",
            at: at(hours: 5)
        )
        #expect(second.effects.first == .warnMember("alice", group: "club-1"))
        try await expectRefused(.pardonMember("alice", group: "nowhere"), .groupNotFound, on: engine)
        // A group without moderation has no strikes to forget.
        try await Self.join("bob", .series("core"), key: "j-b", at: at(hours: 5), on: engine)
        let unmoderated = try await engine.submit(
            .pardonMember("alice", group: "core-1"),
            key: "pardon-core",
            at: at(hours: 5)
        )
        #expect(unmoderated.effects.isEmpty)
    }

    // MARK: - Moves and make-ups

    @Test("a move goes out of one group and into another in one step, or not at all")
    func move() async throws {
        let engine = try await Self.engine()
        try await Self.join("alice", .series("club"), key: "j-a", at: at(hours: 2), on: engine)
        try await Self.join("bob", .series("club"), invitedBy: "alice", key: "j-b", at: at(hours: 2), on: engine)
        let moved = try await engine.submit(
            .moveMember("bob", from: "club-1", to: .series("core")),
            key: "move-bob",
            at: at(hours: 3)
        )
        #expect(moved.effects.count == 2 && moved.effects.last == .showGroup("core-1", to: "bob"))
        guard case .openGroup(let opened) = moved.effects.first else {
            Issue.record("no group opened: \(moved)")
            return
        }
        #expect(opened.id == "core-1")
        let state = await engine.state
        #expect(!state.groups.isMember("bob", of: "club-1") && state.groups.isMember("bob", of: "core-1"))
        #expect(state.groups.log(of: "club-1").last?.kind == .movedOut(to: "core-1"))
        // Refused moves leave the member where they were.
        try await expectRefused(.moveMember("bob", from: "club-1", to: .series("core")), .notInGroup, on: engine)
        try await expectRefused(
            .moveMember("bob", from: "core-1", to: .group("core-1")),
            .alreadyInGroup,
            on: engine
        )
        try await expectRefused(
            .moveMember("ghost", from: "core-1", to: .series("club")),
            .unknownMember,
            on: engine
        )
    }

    @Test("a make-up fills a missed day of the month on the board the group counts on")
    func makeUp() async throws {
        let engine = try await Self.engine()
        try await Self.join("alice", .series("club"), key: "j-a", at: at(hours: 2), on: engine)
        let offset = UTCOffset.chinaStandardTime
        for day: Int64 in [0, 2] {
            try await engine.submit(
                .checkIn("alice", activity: "run", group: "club-1"),
                key: try EventID("check-\(day)"),
                at: at(days: day, hours: 2)
            )
            try await engine.submit(
                .checkIn("bob", activity: "run", group: nil),
                key: try EventID("bob-\(day)"),
                at: at(days: day, hours: 2)
            )
        }
        let missed = at(days: 1, hours: 2).calendarDay(in: offset)
        let madeUp = try await engine.submit(
            .makeUpCheckIn("alice", activity: "run", group: "club-1", day: missed),
            key: "make-up",
            at: at(days: 2, hours: 3)
        )
        #expect(
            madeUp.effects == [.checkedIn("alice", activity: "run", day: missed, streak: 3, milestonesReached: [3])]
        )
        // Never for a day before the member joined the group, and one make-up a month.
        let before = at(days: -1, hours: 2).calendarDay(in: offset)
        try await expectRefused(
            .makeUpCheckIn("alice", activity: "run", group: "club-1", day: before),
            .checkInBeforeJoin,
            on: engine,
            at: at(days: 2, hours: 3)
        )
        try await engine.submit(
            .checkIn("alice", activity: "run", group: "club-1"),
            key: "check-4",
            at: at(days: 4, hours: 2)
        )
        try await expectRefused(
            .makeUpCheckIn(
                "alice",
                activity: "run",
                group: "club-1",
                day: at(days: 3, hours: 2).calendarDay(in: offset)
            ),
            .makeUpNotAllowed,
            on: engine,
            at: at(days: 4, hours: 3)
        )
        try await expectRefused(
            .makeUpCheckIn("alice", activity: "run", group: "club-2", day: missed),
            .groupNotFound,
            on: engine,
            at: at(days: 4, hours: 3)
        )
        // The community board is another board: its own month of make-ups, in its own offset.
        let community = try await engine.submit(
            .makeUpCheckIn("bob", activity: "run", group: nil, day: missed),
            key: "bob-make-up",
            at: at(days: 4, hours: 3)
        )
        #expect(community.effects.count == 1)
        guard case .checkedIn("bob", "run", missed, _, _) = community.effects.first else {
            Issue.record("\(community)")
            return
        }
    }

    /// `checkInCapacity` limits new check-ins only: a make-up the journal committed on a board
    /// with room replays on an engine whose boards are smaller (found by review: the make-up
    /// checked the capacity on replay, and the smaller engine could not open the store).
    @Test("a journaled make-up replays on an engine with a smaller checkInCapacity")
    func makeUpReplaysUnderALowerCapacity() async throws {
        let store = InMemoryStore()
        let settings = try CheckInSettings(milestones: [3], makeUpsPerMonth: 1)
        let roomy = try FissionEngine(
            store: store,
            configuration: .init(checkInSettings: settings, checkInCapacity: 2)
        )
        for member: MemberID in ["alice", "bob"] {
            try await roomy.submit(
                .registerMember(member, invitedBy: nil, campaign: nil, channel: nil),
                key: try EventID("reg-\(member)"),
                at: at(hours: 1)
            )
        }
        try await roomy.submit(
            .checkIn("alice", activity: "run", group: nil),
            key: "alice-1",
            at: at(days: 1, hours: 2)
        )
        let missed = at(days: 1, hours: 2).calendarDay(in: .chinaStandardTime)
        // Bob's pair is the board's second.
        try await roomy.submit(
            .makeUpCheckIn("bob", activity: "run", group: nil, day: missed),
            key: "bob-make-up",
            at: at(days: 2, hours: 2)
        )
        let tight = try FissionEngine(store: store, configuration: .init(checkInSettings: settings, checkInCapacity: 1))
        #expect(await tight.lastSequence == 4)
        #expect(await tight.state.checkIns.hasCheckedIn("bob", activity: "run", on: missed))
        // New pairs are still refused there.
        try await expectRefused(
            .makeUpCheckIn("alice", activity: "swim", group: nil, day: missed),
            .checkInBoardFull,
            on: tight,
            at: at(days: 2, hours: 3)
        )
    }

    // MARK: - The journal

    /// Every new command, journaled: a new engine on the store (from the journal alone, and from a
    /// checkpoint) has the same state, and each key submitted again returns its stored outcome.
    @Test("the new commands replay, restore and answer retries", arguments: StoreKind.allCases)
    func journal(kind: StoreKind) async throws {
        let store = try kind.make()
        let engine = try await Self.engine(store)
        let rules = try ModerationRules(sensitiveWords: ["scam"], ads: lightAdRules())
        let missed = at(days: 1, hours: 2).calendarDay(in: .chinaStandardTime)
        let commands: [(key: EventID, command: EngineCommand, at: Timestamp)] = [
            ("j-a", .joinGroup("alice", into: .series("club"), invitedBy: nil, channel: nil), at(hours: 2)),
            ("j-b", .joinGroup("bob", into: .series("club"), invitedBy: "alice", channel: "poster"), at(hours: 2)),
            ("moderate", .setModeration("club-1", rules: rules, policy: .standard), at(hours: 2)),
            ("m1", .messagePosted("bob", group: "club-1", text: "scam"), at(hours: 2)),
            ("pardon", .pardonMember("bob", group: "club-1"), at(hours: 2)),
            ("check-0", .checkIn("alice", activity: "run", group: "club-1"), at(hours: 2)),
            ("check-2", .checkIn("alice", activity: "run", group: "club-1"), at(days: 2, hours: 2)),
            ("make-up", .makeUpCheckIn("alice", activity: "run", group: "club-1", day: missed), at(days: 2, hours: 3)),
            ("capacity", .setGroupCapacity("club-1", capacity: 5), at(days: 2, hours: 3)),
            ("archive", .archiveGroup("club-1"), at(days: 2, hours: 3)),
            (
                "move-b",
                .moveMember("bob", from: "club-1", to: .series("core"), facts: MemberFacts(hasPaidOrder: true)),
                at(days: 2, hours: 3)
            ),
            ("reactivate", .reactivateGroup("club-1"), at(days: 2, hours: 4)),
            (
                "remove-a", .removeFromGroup("alice", group: "club-1", reason: try RemovalReason("left town")),
                at(days: 3)
            ),
        ]
        try await expectJournalReplaysAndAnswersRetries(commands, on: engine, store: store)
    }
}
