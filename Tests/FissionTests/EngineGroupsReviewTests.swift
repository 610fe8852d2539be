@_spi(FissionCoding) import FissionCore
import FissionStorageTesting
import Foundation
import Testing

@testable import Fission

// What a review of the engine's group, check-in and registration commands found (2026-12-06):
// each test failed before its fix.

private func instant(_ milliseconds: Int64) -> Timestamp {
    try! Timestamp(millisecondsSinceEpoch: milliseconds)
}

/// Registers `members`, none invited, each under the key `r-<member>`.
private func register(_ members: [MemberID], on engine: FissionEngine) async throws {
    for member in members {
        try await engine.submit(
            .registerMember(member, invitedBy: nil, campaign: nil, channel: nil),
            key: try EventID("r-\(member)"),
            at: start
        )
    }
}

private func series(_ id: GroupSeriesID, maximumGroups: Int = 10) throws -> GroupSeries {
    try GroupSeries(
        id: id,
        name: "Series \(id)",
        purpose: .acquisition,
        capacity: 2,
        offset: .chinaStandardTime,
        maximumGroups: maximumGroups
    )
}

/// An engine whose layering policy ranks `layer` above ordinary, on its store, with member
/// "a" registered (entry 1).
private func engine(
    ranking layer: Layer
) async throws -> (FissionEngine, InMemoryStore, FissionEngine.Configuration) {
    let policy = try LayeringPolicy(
        tiers: [.init(layer: layer, requirement: nil)],
        fallback: .ordinary,
        windowDays: 21,
        graceDays: 7,
        currency: .cny
    )
    let configuration = FissionEngine.Configuration(layeringPolicy: policy)
    let store = InMemoryStore()
    let engine = try FissionEngine(store: store, configuration: configuration)
    try await engine.submit(.registerMember("a", invitedBy: nil, campaign: nil, channel: nil), key: "r", at: start)
    return (engine, store, configuration)
}

struct EngineGroupsReviewTests {
    @Test(
        "a channel too long for the journal is invalidName, not a stopped process",
        arguments: ["join", "register"]
    )
    func aChannelOver64KiB(kind: String) async throws {
        let engine = try FissionEngine(store: InMemoryStore())
        try await engine.submit(.registerMember("a", invitedBy: nil, campaign: nil, channel: nil), key: "r", at: start)
        try await engine.submit(.addGroupSeries(try series("w")), key: "s", at: start)
        let channel = String(repeating: "x", count: 70_000)
        let command: EngineCommand =
            kind == "join"
            ? .joinGroup("a", into: .series("w"), invitedBy: nil, channel: channel)
            : .registerMember("b", invitedBy: nil, campaign: nil, channel: channel)
        await #expect {
            try await engine.submit(command, key: "bad", at: start)
        } throws: { error in
            (error as? FissionError)?.code == .invalidName
        }
        // In a batch, the long one fails alone.
        let results = try await engine.submit(
            batch: [
                (key: "bad", command: command),
                (key: "fine", command: .registerMember("c", invitedBy: nil, campaign: nil, channel: "poster")),
            ],
            at: start
        )
        #expect((try? results[0].get()) == nil)
        #expect((try? results[1].get()) != nil)
        #expect(await engine.lastSequence == 3)
        #expect(await fingerprint(try FissionEngine(store: engine.store)) == fingerprint(engine))
    }

    @Test("a model command whose name is too long for the journal is unknownModel, not a stopped process")
    func aModelNameOver64KiB() async throws {
        let engine = try FissionEngine(store: InMemoryStore())
        let command = EngineCommand.model(ModelCommand(model: String(repeating: "m", count: 70_000), payload: []))
        await #expect {
            try await engine.submit(command, key: "bad", at: start)
        } throws: { error in
            (error as? FissionError)?.code == .unknownModel
        }
        #expect(await engine.lastSequence == 0)
    }

    @Test(
        "a check-in whose day in the board's offset is outside years 1 to 9999 is invalidDate, and the store still opens",
        arguments: [
            // 9999-12-31T16:00Z is 10000-01-01 at +08:00.
            (Int64(253_402_272_000_000), 8 * 3_600),
            // 0001-01-01T00:00Z is 0000-12-31 at -05:00.
            (Timestamp.earliest.millisecondsSinceEpoch, -5 * 3_600),
        ]
    )
    func aCheckInAtTheEdgeOfTheCalendar(milliseconds: Int64, offsetSeconds: Int) async throws {
        let store = InMemoryStore()
        let configuration = FissionEngine.Configuration(checkInOffset: try UTCOffset(seconds: offsetSeconds))
        let engine = try FissionEngine(store: store, configuration: configuration)
        let time = instant(milliseconds)
        try await engine.submit(.registerMember("a", invitedBy: nil, campaign: nil, channel: nil), key: "r", at: time)
        let before = await fingerprint(engine)
        await #expect {
            try await engine.submit(.checkIn("a", activity: "run", group: nil), key: "c", at: time)
        } throws: { error in
            (error as? FissionError)?.code == .invalidDate
        }
        #expect(await fingerprint(engine) == before)
        try await engine.checkpoint()
        #expect(await fingerprint(try FissionEngine(store: store, configuration: configuration)) == before)
    }

    @Test("a series opens its next group past an id the operator gave another group")
    func aSeriesStepsPastATakenId() async throws {
        let engine = try FissionEngine(store: InMemoryStore())
        try await register(["m1", "m2", "m3"], on: engine)
        try await engine.submit(.addGroupSeries(try series("acq")), key: "s", at: start)
        // The operator adds the series' first group by hand, under the id its 2nd would get.
        try await engine.submit(
            .addGroup(
                try CommunityGroup(id: "acq-2", name: "Acq 2", purpose: .acquisition, capacity: 2),
                series: "acq"
            ),
            key: "g",
            at: start
        )
        try await engine.submit(
            .joinGroup("m1", into: .series("acq"), invitedBy: nil, channel: nil),
            key: "j1",
            at: start
        )
        try await engine.submit(
            .joinGroup("m2", into: .series("acq"), invitedBy: nil, channel: nil),
            key: "j2",
            at: start
        )
        let third = try await engine.submit(
            .joinGroup("m3", into: .series("acq"), invitedBy: nil, channel: nil),
            key: "j3",
            at: start
        )
        #expect(third.effects.contains(.showGroup("acq-3", to: "m3")))
        #expect(await engine.state.groups.series("acq")?.groups == ["acq-2", "acq-3"])
    }

    @Test("a check-in naming a group that does not exist is groupNotFound, as a message to it is")
    func aCheckInToAnUnknownGroup() async throws {
        let engine = try FissionEngine(store: InMemoryStore())
        try await engine.submit(.registerMember("a", invitedBy: nil, campaign: nil, channel: nil), key: "r", at: start)
        for command: EngineCommand in [
            .checkIn("a", activity: "run", group: "nowhere"),
            .messagePosted("a", group: "nowhere", text: "hello"),
        ] {
            await #expect {
                try await engine.submit(command, key: "bad", at: start)
            } throws: { error in
                (error as? FissionError)?.code == .groupNotFound
            }
        }
    }
}

struct EngineJoinFactsTests {
    /// An engine with members a and b and a group only paying customers may enter.
    static func engine(on store: InMemoryStore = InMemoryStore()) async throws -> FissionEngine {
        let engine = try FissionEngine(store: store)
        try await register(["a", "b"], on: engine)
        try await engine.submit(.addGroupSeries(try series("vip")), key: "s", at: start)
        try await engine.submit(
            .addGroup(
                try CommunityGroup(
                    id: "vip-1",
                    name: "VIP",
                    purpose: .fanBenefit,
                    capacity: 10,
                    entryRule: .hasPaidOrder
                ),
                series: "vip"
            ),
            key: "g",
            at: start
        )
        return engine
    }

    @Test("a join carries the host's facts to the group's entry rule; without them the rule refuses")
    func factsReachTheEntryRule() async throws {
        let store = InMemoryStore()
        let engine = try await Self.engine(on: store)
        await #expect {
            try await engine.submit(
                .joinGroup("a", into: .group("vip-1"), invitedBy: nil, channel: nil),
                key: "j-a",
                at: start
            )
        } throws: { error in
            (error as? FissionError)?.code == .entryRuleNotMet
        }
        let paying = MemberFacts(hasPaidOrder: true, totalSpend: yuan(30))
        let joined = try await engine.submit(
            .joinGroup("b", into: .group("vip-1"), invitedBy: nil, channel: nil, facts: paying),
            key: "j-b",
            at: start
        )
        #expect(joined.effects == [.showGroup("vip-1", to: "b")])
        // A retry with other facts is another command under the same key.
        await #expect {
            try await engine.submit(
                .joinGroup("b", into: .group("vip-1"), invitedBy: nil, channel: nil, facts: .init(hasPaidOrder: true)),
                key: "j-b",
                at: start
            )
        } throws: { error in
            (error as? FissionError)?.code == .idempotencyConflict
        }
        // The journal keeps the facts (tag 21), and a join without them as before (tag 12).
        let entries = try store.entries(after: 0, limit: 100)
        #expect(entries.last?.command[8] == 21)
        try await engine.submit(.addGroupSeries(try series("open")), key: "s2", at: start)
        try await engine.submit(
            .joinGroup("a", into: .series("open"), invitedBy: nil, channel: nil),
            key: "j-a2",
            at: start
        )
        #expect(try store.entries(after: 0, limit: 100).last?.command[8] == 12)
        #expect(await fingerprint(try FissionEngine(store: store)) == fingerprint(engine))
    }

    @Test("tag 21 with facts that are none is corrupt: each join has one encoding")
    func tagTwentyOneWithoutFacts() throws {
        var writer = ByteWriter(capacity: 64)
        EngineCommand.joinGroup("a", into: .group("g"), invitedBy: nil, channel: nil).encode(into: &writer)
        var bytes = writer.finish()
        #expect(bytes[0] == 12)
        bytes[0] = 21
        var valid = bytes
        bytes += [0, 0, 0]  // no order, no spend, no fee
        var reader = ByteReader(bytes: bytes)
        #expect {
            try EngineCommand.decode(from: &reader)
        } throws: { error in
            (error as? FissionError)?.reason.contains("tag 21") == true
        }
        // The same with a paid order decodes, to the end.
        valid += [1, 0, 0]
        var validReader = ByteReader(bytes: valid)
        let decoded = try EngineCommand.decode(from: &validReader)
        #expect(validReader.isAtEnd)
        #expect(
            decoded
                == .joinGroup("a", into: .group("g"), invitedBy: nil, channel: nil, facts: .init(hasPaidOrder: true))
        )
    }
}

struct EngineGroupCheckInTests {
    /// An engine with alice and bob in group "west-1" (UTC-08:00) and alice in "east-1" (UTC+08:00,
    /// the community's offset too), each the first group of its own series.
    static func engine(on store: InMemoryStore = InMemoryStore()) async throws -> FissionEngine {
        let engine = try FissionEngine(store: store)
        try await register(["alice", "bob"], on: engine)
        for (name, hours) in [("west", -8), ("east", 8)] {
            let series = try GroupSeries(
                id: GroupSeriesID(name),
                name: name,
                purpose: .acquisition,
                capacity: 10,
                offset: try UTCOffset(hours: hours),
                maximumGroups: 2
            )
            try await engine.submit(.addGroupSeries(series), key: EventID("s-\(name)"), at: start)
        }
        for (member, series) in [("alice", "west"), ("bob", "west"), ("alice", "east")] {
            try await engine.submit(
                .joinGroup(MemberID(member), into: .series(GroupSeriesID(series)), invitedBy: nil, channel: nil),
                key: EventID("j-\(member)-\(series)"),
                at: start
            )
        }
        return engine
    }

    @Test("a check-in in a group counts days in the group's offset, on the group's own board")
    func daysInTheGroupsOffset() async throws {
        let store = InMemoryStore()
        let engine = try await Self.engine(on: store)
        // 07:00 and 09:00 at UTC-08:00 on the same day: 23:00 and 01:00 at the community's +08:00.
        let morning = try start.adding(milliseconds: 15 * 3_600_000)
        let first = try await engine.submit(.checkIn("alice", activity: "run", group: "west-1"), key: "c1", at: morning)
        let westDay = morning.calendarDay(in: try UTCOffset(hours: -8))
        #expect(
            first.effects == [.checkedIn("alice", activity: "run", day: westDay, streak: 1, milestonesReached: [])]
        )
        await #expect {
            try await engine.submit(
                .checkIn("alice", activity: "run", group: "west-1"),
                key: "c2",
                at: morning.adding(milliseconds: 2 * 3_600_000)
            )
        } throws: { error in
            (error as? FissionError)?.code == .alreadyCheckedIn
        }
        // The same activity in another group, and without a group, count on their own boards.
        try await engine.submit(.checkIn("alice", activity: "run", group: "east-1"), key: "c3", at: morning)
        try await engine.submit(.checkIn("alice", activity: "run", group: nil), key: "c4", at: morning)
        let state = await engine.state
        #expect(state.groupCheckIns.keys.sorted() == ["east-1", "west-1"])
        #expect(state.groupCheckIns["west-1"]?.offset == (try UTCOffset(hours: -8)))
        #expect(state.checkIns.streakCount == 1)
        #expect(state.seriesOnTheCommunityBoard.isEmpty)
        // The boards come back from the journal, and from a snapshot.
        #expect(await fingerprint(try FissionEngine(store: store)) == fingerprint(engine))
        try await engine.checkpoint()
        #expect(await fingerprint(try FissionEngine(store: store)) == fingerprint(engine))
    }

    @Test("a group's first check-in that fails leaves no board behind")
    func aFailedFirstCheckInMakesNoBoard() async throws {
        let engine = try await Self.engine()
        let before = await fingerprint(engine)
        // 9999-12-31T16:00Z is already year 10000 at the east group's +08:00.
        await #expect {
            try await engine.submit(
                .checkIn("alice", activity: "run", group: "east-1"),
                key: "c",
                at: try Timestamp(millisecondsSinceEpoch: 253_402_272_000_000)
            )
        } throws: { error in
            (error as? FissionError)?.code == .invalidDate
        }
        #expect(await engine.state.groupCheckIns.isEmpty)
        #expect(await fingerprint(engine) == before)
    }

    @Test("each group's board has its own limits: 64 activities in one group leave another free")
    func limitsArePerGroup() async throws {
        let engine = try await Self.engine()
        let activities = try (0..<CheckInBoard.maximumActivities).map { try CheckInActivityID("a\($0)") }
        let batch = try activities.map { activity -> (key: EventID, command: EngineCommand) in
            (key: try EventID("w-\(activity)"), command: .checkIn("bob", activity: activity, group: "west-1"))
        }
        for result in try await engine.submit(batch: batch, at: start) { _ = try result.get() }
        await #expect {
            try await engine.submit(.checkIn("bob", activity: "one-more", group: "west-1"), key: "w-more", at: start)
        } throws: { error in
            (error as? FissionError)?.code == .invalidCheckInSettings
        }
        try await engine.submit(.checkIn("alice", activity: "one-more", group: "east-1"), key: "e-more", at: start)
    }
}

struct EngineGroupBoardsSnapshotTests {
    /// `bytes` (a snapshot of `state`) with its series section replaced by `series`, in the order
    /// given, and sealed again with a valid checksum.
    static func replacingSeries(
        in bytes: [UInt8],
        of state: EngineState,
        with series: [GroupSeriesID]
    ) throws
        -> [UInt8]
    {
        var boards = ByteWriter(capacity: 256)
        boards.append(UInt32(state.groupCheckIns.count))
        for (group, board) in state.groupCheckIns.sorted(by: { $0.key < $1.key }) {
            boards.append(identifier: group)
            try board.encode(into: &boards)
        }
        let boardBytes = boards.finish()
        var identifiers = ByteWriter(capacity: 64)
        for id in state.seriesOnTheCommunityBoard.sorted() { identifiers.append(identifier: id) }
        let sectionStart = bytes.count - 8 - boardBytes.count - 4 - identifiers.count
        var section = ByteWriter(capacity: 64)
        section.append(UInt32(series.count))
        for id in series { section.append(identifier: id) }
        let unsealed =
            Array(bytes[..<sectionStart]) + section.finish()
            + Array(bytes[(bytes.count - 8 - boardBytes.count)..<(bytes.count - 8)])
        return EngineState.sealedSnapshot(unsealed)
    }

    @Test("a snapshot refuses a board of a group whose series counts on the community board, and series out of order")
    func sectionsThatNoStateHas() async throws {
        let engine = try await EngineGroupCheckInTests.engine()
        try await engine.submit(.checkIn("alice", activity: "run", group: "west-1"), key: "c", at: start)
        let state = await engine.state
        let bytes = try state.snapshot()
        // The section rebuilt as it is restores to the same bytes: the helper cuts where it should.
        #expect(
            try EngineState(snapshot: try Self.replacingSeries(in: bytes, of: state, with: []), configuration: .init())
                .snapshot() == bytes
        )
        for series: [GroupSeriesID] in [["west"], ["west", "east"]] {
            let spoiled = try Self.replacingSeries(in: bytes, of: state, with: series)
            #expect {
                try EngineState(snapshot: spoiled, configuration: .init())
            } throws: { error in
                (error as? FissionError)?.code == .corruptSnapshot
            }
        }
        // ["east"] alone is a state the engine can hold (east has no board): it restores.
        let east = try EngineState(
            snapshot: try Self.replacingSeries(in: bytes, of: state, with: ["east"]),
            configuration: .init()
        )
        #expect(east.seriesOnTheCommunityBoard == ["east"])
    }

    @Test(
        "the inviter's groups in a join's facts are neither used nor journaled: a join with many is a repeat of one with none"
    )
    func inviterGroupsAreIgnored() async throws {
        let store = InMemoryStore()
        let engine = try await EngineJoinFactsTests.engine(on: store)
        var facts = MemberFacts(hasPaidOrder: true)
        facts.inviterGroups = Array(repeating: GroupID("elsewhere"), count: MemberFacts.maximumInviterGroups + 1)
        let first = try await engine.submit(
            .joinGroup("b", into: .group("vip-1"), invitedBy: nil, channel: nil, facts: facts),
            key: "j",
            at: start
        )
        let again = try await engine.submit(
            .joinGroup("b", into: .group("vip-1"), invitedBy: nil, channel: nil, facts: .init(hasPaidOrder: true)),
            key: "j",
            at: start
        )
        #expect(!first.isDuplicate && again.isDuplicate)
        #expect(await fingerprint(try FissionEngine(store: store)) == fingerprint(engine))
    }
}

struct EngineCheckInCapacityTests {
    @Test("the configured capacity bounds each board; forgetting a member makes room; a reopening may raise it")
    func capacityAndForgetting() async throws {
        let store = InMemoryStore()
        let configuration = FissionEngine.Configuration(checkInCapacity: 2)
        let engine = try FissionEngine(store: store, configuration: configuration)
        try await register(["a", "b", "c"], on: engine)
        try await engine.submit(.checkIn("a", activity: "run", group: nil), key: "c-a", at: start)
        try await engine.submit(.checkIn("b", activity: "run", group: nil), key: "c-b", at: start)
        await #expect {
            try await engine.submit(.checkIn("c", activity: "run", group: nil), key: "c-c", at: start)
        } throws: { error in
            (error as? FissionError)?.code == .checkInBoardFull
        }
        let forgotten = try await engine.submit(.forgetCheckIns("a"), key: "forget-a", at: start)
        #expect(forgotten.effects.isEmpty)
        try await engine.submit(.checkIn("c", activity: "run", group: nil), key: "c-c", at: start)
        await #expect {
            try await engine.submit(.forgetCheckIns("nobody"), key: "forget-nobody", at: start)
        } throws: { error in
            (error as? FissionError)?.code == .unknownMember
        }
        // The journal replays under the same capacity; a snapshot reopens under a larger one, and
        // under a smaller one too: the capacity limits new check-ins only.
        #expect(await fingerprint(try FissionEngine(store: store, configuration: configuration)) == fingerprint(engine))
        try await engine.checkpoint()
        let larger = try FissionEngine(store: store, configuration: .init(checkInCapacity: 10))
        #expect(await larger.state.checkIns.capacity == 10)
        let smaller = try FissionEngine(store: store, configuration: .init(checkInCapacity: 1))
        #expect(await smaller.state.checkIns.streakCount == 2)
        try await smaller.submit(.checkIn("b", activity: "run", group: nil), key: "c-b2", at: at(days: 1))
        await #expect {
            try await smaller.submit(.checkIn("a", activity: "run", group: nil), key: "c-a2", at: at(days: 1))
        } throws: { error in
            (error as? FissionError)?.code == .checkInBoardFull
        }
        #expect {
            try FissionEngine(store: InMemoryStore(), configuration: .init(checkInCapacity: 0))
        } throws: { error in
            (error as? FissionError)?.code == .invalidConfiguration
        }
    }
}

struct EngineMemberCommandTests {
    @Test("a member's layer and tags, set by command, open groups whose entry rules ask for them")
    func layerAndTagsReachEntryRules() async throws {
        let store = InMemoryStore()
        let policy = try LayeringPolicy(
            tiers: [.init(layer: .kol, requirement: nil), .init(layer: .core, requirement: nil)],
            fallback: .ordinary,
            windowDays: 21,
            graceDays: 7,
            currency: .cny
        )
        let configuration = FissionEngine.Configuration(layeringPolicy: policy)
        let engine = try FissionEngine(store: store, configuration: configuration)
        try await engine.submit(.registerMember("a", invitedBy: nil, campaign: nil, channel: nil), key: "r", at: start)
        try await engine.submit(.addGroupSeries(try series("clubs")), key: "s", at: start)
        let shanghai = try MemberTag.region("shanghai")
        for (id, rule) in [("core-1", EntryRule.layer(atLeast: .core)), ("sh-1", .hasTag(shanghai))] {
            try await engine.submit(
                .addGroup(
                    try CommunityGroup(id: GroupID(id), name: id, purpose: .core, capacity: 10, entryRule: rule),
                    series: "clubs"
                ),
                key: EventID("g-\(id)"),
                at: start
            )
        }
        for group: GroupID in ["core-1", "sh-1"] {
            await #expect {
                try await engine.submit(
                    .joinGroup("a", into: .group(group), invitedBy: nil, channel: nil),
                    key: "j",
                    at: start
                )
            } throws: { error in
                (error as? FissionError)?.code == .entryRuleNotMet
            }
        }
        let before = await fingerprint(engine)
        await #expect {
            try await engine.submit(.setMemberLayer("a", layer: try Layer("vip")), key: "l-vip", at: start)
        } throws: { error in
            (error as? FissionError)?.code == .unknownLayer
        }
        await #expect {
            try await engine.submit(.setMemberLayer("nobody", layer: .core), key: "l-nobody", at: start)
        } throws: { error in
            (error as? FissionError)?.code == .unknownMember
        }
        #expect(await fingerprint(engine) == before)
        try await engine.submit(.setMemberLayer("a", layer: .core), key: "l-core", at: start)
        try await engine.submit(
            .joinGroup("a", into: .group("core-1"), invitedBy: nil, channel: nil),
            key: "j1",
            at: start
        )
        try await engine.submit(.leaveGroup("a", group: "core-1"), key: "leave", at: start)
        try await engine.submit(.setMemberTags("a", tags: [shanghai]), key: "t", at: start)
        try await engine.submit(
            .joinGroup("a", into: .group("sh-1"), invitedBy: nil, channel: nil),
            key: "j2",
            at: start
        )
        #expect(await engine.state.member("a")?.layer == .core)
        #expect(await engine.state.member("a")?.tags == [shanghai])
        #expect(await fingerprint(try FissionEngine(store: store, configuration: configuration)) == fingerprint(engine))
        try await engine.checkpoint()
        #expect(await fingerprint(try FissionEngine(store: store, configuration: configuration)) == fingerprint(engine))
    }
}

struct EngineCheckInCapacityReviewTests {
    @Test("engines with different capacities share a store: each refuses new pairs past its own, replays all")
    func enginesWithDifferentCapacities() async throws {
        let store = InMemoryStore()
        let small = try FissionEngine(store: store, configuration: .init(checkInCapacity: 1))
        try await register(["a", "b"], on: small)
        try await small.submit(.checkIn("a", activity: "run", group: nil), key: "c-a", at: start)
        let large = try FissionEngine(store: store, configuration: .init(checkInCapacity: 10))
        try await large.submit(.checkIn("b", activity: "run", group: nil), key: "c-b", at: start)
        try await small.refresh()
        #expect(await small.state.checkIns.streakCount == 2)
        #expect(await small.lastSequence == large.lastSequence)
        // Without a snapshot, reopening under the small capacity replays both.
        let reopened = try FissionEngine(store: store, configuration: .init(checkInCapacity: 1))
        #expect(await reopened.state.checkIns.streakCount == 2)
    }

    @Test("a group's board takes the configured capacity, and forgetting a member frees room on it")
    func groupBoards() async throws {
        let engine = try FissionEngine(store: InMemoryStore(), configuration: .init(checkInCapacity: 1))
        try await engine.submit(.addGroupSeries(try series("club")), key: "s", at: start)
        try await register(["a", "b"], on: engine)
        // Capacity 2 a group: both in club-1.
        try await engine.submit(
            .joinGroup("a", into: .series("club"), invitedBy: nil, channel: nil),
            key: "j-a",
            at: start
        )
        try await engine.submit(
            .joinGroup("b", into: .series("club"), invitedBy: nil, channel: nil),
            key: "j-b",
            at: start
        )
        try await engine.submit(.checkIn("a", activity: "run", group: "club-1"), key: "c-a", at: start)
        #expect(await engine.state.groupCheckIns["club-1"]?.capacity == 1)
        await #expect {
            try await engine.submit(.checkIn("b", activity: "run", group: "club-1"), key: "c-b", at: start)
        } throws: { error in
            (error as? FissionError)?.code == .checkInBoardFull
        }
        try await engine.submit(.forgetCheckIns("a"), key: "forget-a", at: start)
        #expect(await engine.state.groupCheckIns["club-1"]?.streakCount == 0)
        try await engine.submit(.checkIn("b", activity: "run", group: "club-1"), key: "c-b", at: start)
    }

    @Test("a member set back to ordinary under a policy whose fallback is another layer")
    func backToOrdinary() async throws {
        let policy = try LayeringPolicy(
            tiers: [.init(layer: .kol, requirement: nil)],
            fallback: .core,
            windowDays: 21,
            graceDays: 7,
            currency: .cny
        )
        let engine = try FissionEngine(store: InMemoryStore(), configuration: .init(layeringPolicy: policy))
        try await engine.submit(.registerMember("a", invitedBy: nil, campaign: nil, channel: nil), key: "r", at: start)
        try await engine.submit(.setMemberLayer("a", layer: .kol), key: "l1", at: start)
        try await engine.submit(.setMemberLayer("a", layer: .ordinary), key: "l2", at: start)
        #expect(await engine.state.member("a")?.layer == .ordinary)
    }

    @Test(
        "a journaled tag or layer that no longer validates, or a tag repeated, is corruptJournal naming the entry",
        arguments: [("region", "regio\u{7}"), ("core", "cor\u{7}"), ("A-tag", "M-tag")]
    )
    func badMemberCommandBytes(original: String, replacement: String) async throws {
        let (engine, written, configuration) = try await engine(ranking: .core)
        let command: EngineCommand =
            original == "core"
            ? .setMemberLayer("a", layer: .core)
            : .setMemberTags(
                "a",
                tags: [
                    try MemberTag(category: "A-tag", value: "x"), try MemberTag(category: "M-tag", value: "x"),
                    try .region("sh"),
                ]
            )
        try await engine.submit(command, key: "m", at: start)
        var entries = try written.entries(after: 0, limit: 10)
        let last = entries[1]
        var bytes = last.command
        let needle = Array(original.utf8)
        let at = try #require(bytes.indices.first { bytes[$0...].starts(with: needle) })
        let swap = Array(replacement.utf8)
        try #require(swap.count == needle.count)
        bytes.replaceSubrange(at..<(at + needle.count), with: swap)
        entries[1] = last.replacing(payloadDigest: stableDigest(bytes[8...]), command: bytes)
        let spoiled = InMemoryStore()
        try spoiled.append(entries, expectingLastSequence: 0)
        #expect {
            try FissionEngine(store: spoiled, configuration: configuration)
        } throws: { error in
            (error as? FissionError)?.code == .corruptJournal
                && (error as? FissionError)?.reason.hasPrefix("journal entry 2") == true
        }
    }
}

extension EngineMemberCommandTests {
    /// A `setMemberTags` command's bytes with the tags in the order given.
    static func tagCommand(_ values: [String]) -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        writer.append(UInt8(24))
        writer.append(identifier: MemberID("a"))
        writer.append(UInt32(values.count))
        for value in values {
            writer.append(string: "interest")
            writer.append(string: value)
        }
        return writer.finish()
    }

    @Test("a setMemberTags entry reads with its tags in any order; a tag written twice, in any spelling, is refused")
    func tagOrdersThatRead() throws {
        // String order is not consistent for every text: neither of these is below the other,
        // yet they differ, so a tag set sorted by it can be journaled in either order.
        let hindi = ["\u{958}", "\u{915}"]
        #expect(!(hindi[0] < hindi[1]) && !(hindi[1] < hindi[0]) && hindi[0] != hindi[1])
        for order in [hindi, hindi.reversed(), ["f", "e\u{301}x"], ["e\u{301}x", "f"]] {
            var reader = ByteReader(bytes: Self.tagCommand(order))
            let tags = try TagSet(order.map { try MemberTag(category: "interest", value: $0) })
            #expect(try EngineCommand.decode(from: &reader) == .setMemberTags("a", tags: tags), "\(order)")
        }
        for order in [["f", "f"], ["caf\u{E9}", "cafe\u{301}"], ["a", "b", "a"]] {
            var refused = ByteReader(bytes: Self.tagCommand(order))
            #expect(throws: FissionError.self, "\(order)") { try EngineCommand.decode(from: &refused) }
        }
    }

    @Test(
        "a join gated on a tag the member holds in another spelling replays, from the journal and from a snapshot",
        arguments: [false, true]
    )
    func aTagSetReadBackStillHoldsEveryTag(checkpoint: Bool) async throws {
        let store = InMemoryStore()
        let engine = try FissionEngine(store: store)
        let oneCharacter = try MemberTag(category: "region", value: "\u{958}")
        try await engine.submit(.registerMember("a", invitedBy: nil, campaign: nil, channel: nil), key: "r", at: start)
        let series = try GroupSeries(
            id: "s",
            name: "S",
            purpose: .core,
            entryRule: .hasTag(oneCharacter),
            maximumGroups: 1
        )
        try await engine.submit(.addGroupSeries(series), key: "s", at: start)
        let tags = try TagSet([
            MemberTag(category: "region", value: "\u{915}\u{93C}"), oneCharacter,
            MemberTag(category: "region", value: "\u{915}"),
        ])
        try await engine.submit(.setMemberTags("a", tags: tags), key: "t", at: start)
        if checkpoint { try await engine.checkpoint() }
        try await engine.submit(.joinGroup("a", into: .series("s"), invitedBy: nil, channel: nil), key: "j", at: start)
        let reopened = try FissionEngine(store: store)
        #expect(await fingerprint(reopened) == fingerprint(engine))
    }

    /// `entry` with its command replaced by `body` after its 8 bytes of time, digest recomputed.
    static func rewritten(_ entry: JournalEntry, _ body: (inout ByteWriter) -> Void) -> JournalEntry {
        var writer = ByteWriter(capacity: 64)
        writer.append(contentsOf: Array(entry.command.prefix(8)))
        body(&writer)
        let bytes = writer.finish()
        return entry.replacing(payloadDigest: stableDigest(bytes[8...]), command: bytes)
    }

    @Test("a setMemberLayer journaled in another spelling of a ranked layer still replays")
    func layerSpelledOtherwiseReplays() async throws {
        let layer = try Layer("caf\u{E9}")
        let (engine, written, configuration) = try await engine(ranking: layer)
        try await engine.submit(.setMemberLayer("a", layer: layer), key: "l", at: start)
        var entries = try written.entries(after: 0, limit: 10)
        // What a Fission before normalization journaled for the decomposed spelling.
        entries[1] = Self.rewritten(entries[1]) {
            $0.append(UInt8(25))
            $0.append(identifier: MemberID("a"))
            $0.append(string: "cafe\u{301}")
        }
        let old = InMemoryStore()
        try old.append(entries, expectingLastSequence: 0)
        let reopened = try FissionEngine(store: old, configuration: configuration)
        #expect(await reopened.lastSequence == 2)
        #expect(await reopened.state.registeredMembers[0].layer == layer)
    }

    @Test("a join admitted on a tag journaled in another spelling still replays")
    func tagSpelledOtherwiseReplays() async throws {
        let written = InMemoryStore()
        let engine = try FissionEngine(store: written)
        try await engine.submit(.registerMember("a", invitedBy: nil, campaign: nil, channel: nil), key: "r", at: start)
        let series = try GroupSeries(id: "clubs", name: "Clubs", purpose: .acquisition, capacity: 10, maximumGroups: 5)
        try await engine.submit(.addGroupSeries(series), key: "s", at: start)
        let tag = try MemberTag(category: "interest", value: "caf\u{E9}")
        let group = try CommunityGroup(id: "c-1", name: "C", purpose: .core, capacity: 10, entryRule: .hasTag(tag))
        try await engine.submit(.addGroup(group, series: "clubs"), key: "g", at: start)
        try await engine.submit(.setMemberTags("a", tags: [tag]), key: "t", at: start)
        try await engine.submit(.joinGroup("a", into: .group("c-1"), invitedBy: nil, channel: nil), key: "j", at: start)
        var entries = try written.entries(after: 0, limit: 10)
        entries[3] = Self.rewritten(entries[3]) {
            $0.append(UInt8(24))
            $0.append(identifier: MemberID("a"))
            $0.append(UInt32(1))
            $0.append(string: "interest")
            $0.append(string: "cafe\u{301}")
        }
        let old = InMemoryStore()
        try old.append(entries, expectingLastSequence: 0)
        #expect(await (try FissionEngine(store: old)).lastSequence == 5)
    }
}

/// A second model for configuration tests: it keeps nothing and does nothing.
struct IdleModel: CampaignModel {
    struct Command: CampaignModelCommand {
        init() {}
        init(encoded bytes: [UInt8]) throws(FissionError) {}
        func encoded() -> [UInt8] { [] }
    }

    static let name = "idle"
    init() {}
    init(snapshot bytes: [UInt8]) throws(FissionError) {
        guard bytes.isEmpty else { throw FissionError(code: .corruptSnapshot, reason: "idle has no state") }
    }
    func snapshot() -> [UInt8] { [] }
    mutating func apply(_ command: Command, context: CampaignModelContext) throws(FissionError) -> CampaignModelStep {
        CampaignModelStep()
    }
}

struct EngineModelReviewTests {
    @Test("a help while the share's campaign is paused is refused, not used up; after resuming it pays")
    func aHelpWhilePaused() async throws {
        let engine = try await seededEngine(.memory)
        try await engine.submit(
            .model(.open(share: "s1", sharer: "alice", campaign: spring, goal: 1), of: MutualShareModel.self),
            key: "open",
            at: at(days: 1)
        )
        try await engine.submit(.pauseCampaign(spring), key: "pause", at: at(days: 1))
        let before = await fingerprint(engine)
        await #expect {
            try await engine.submit(
                .model(.help(share: "s1", helper: "bob"), of: MutualShareModel.self),
                key: "help",
                at: at(days: 1)
            )
        } throws: { error in
            (error as? FissionError)?.code == .invalidShare
        }
        #expect(await fingerprint(engine) == before)
        await #expect {
            try await engine.submit(
                .model(.open(share: "s2", sharer: "alice", campaign: spring, goal: 1), of: MutualShareModel.self),
                key: "open-2",
                at: at(days: 1)
            )
        } throws: { error in
            (error as? FissionError)?.code == .invalidShare
        }
        try await engine.submit(.resumeCampaign(spring), key: "resume", at: at(days: 1))
        let help = try await engine.submit(
            .model(.help(share: "s1", helper: "bob"), of: MutualShareModel.self),
            key: "help",
            at: at(days: 1)
        )
        #expect(help.effects.contains { if case .granted = $0 { true } else { false } })
    }

    @Test(
        "a model configured after a snapshot was taken starts empty; a snapshot's model the configuration lacks is refused"
    )
    func addingAModel() async throws {
        let store = InMemoryStore()
        let engine = try await seededEngine(.memory)
        try store.append(try engine.store.entries(after: 0, limit: 100), expectingLastSequence: 0)
        let first = try FissionEngine(store: store)
        try await first.checkpoint()
        let more = FissionEngine.Configuration(models: [MutualShareModel.self, IdleModel.self])
        let reopened = try FissionEngine(store: store, configuration: more)
        #expect(await fingerprint(reopened) == fingerprint(first))
        try await reopened.checkpoint()
        #expect {
            try FissionEngine(store: store)
        } throws: { error in
            (error as? FissionError)?.code == .configurationMismatch
        }
    }

    @Test(
        "a mutual-share snapshot no state writes is corruptSnapshot",
        arguments: [
            "a goal of 0", "more helpers than the goal", "the sharer among the helpers", "a helper twice",
            "shares out of order",
        ]
    )
    func strictModelSnapshots(spoiling: String) throws {
        func share(_ id: EventID, goal: Int64, helpers: [MemberID], sharer: MemberID = "alice") -> [UInt8] {
            var writer = ByteWriter(capacity: 64)
            writer.append(identifier: id)
            writer.append(identifier: sharer)
            writer.append(identifier: spring)
            writer.append(goal)
            writer.append(UInt32(helpers.count))
            for helper in helpers { writer.append(identifier: helper) }
            return writer.finish()
        }
        var shares: [[UInt8]]
        switch spoiling {
        case "a goal of 0": shares = [share("s1", goal: 0, helpers: [])]
        case "more helpers than the goal": shares = [share("s1", goal: 1, helpers: ["bob", "carol"])]
        case "the sharer among the helpers": shares = [share("s1", goal: 2, helpers: ["alice"])]
        case "a helper twice": shares = [share("s1", goal: 3, helpers: ["bob", "bob"])]
        default: shares = [share("s2", goal: 1, helpers: []), share("s1", goal: 1, helpers: [])]
        }
        let count = UInt32(shares.count)
        let bytes = (0..<4).map { UInt8(truncatingIfNeeded: count >> (8 * $0)) } + shares.flatMap { $0 }
        #expect {
            try MutualShareModel(snapshot: bytes)
        } throws: { error in
            (error as? FissionError)?.code == .corruptSnapshot
        }
        // The good form of the same shares restores.
        let good = [share("s1", goal: 2, helpers: ["bob"]), share("s2", goal: 1, helpers: [])]
        #expect(
            try MutualShareModel(snapshot: [2, 0, 0, 0] + good.flatMap { $0 }).snapshot() == [2, 0, 0, 0]
                + good.flatMap { $0 }
        )
    }
}
