@_spi(FissionCoding) import FissionCore
import Testing

@testable import Fission

/// Layers computed from activity: `trackActivity` starts recording what the engine sees members
/// do (bindings, paid orders, check-ins, messages) and what the host reports, `evaluateLayers`
/// moves members between the policy's layers with the policy's grace, operators' layers stay
/// pinned until `unpinMemberLayer`. Refusals change nothing; the journal replays, restores and
/// answers retries; a snapshot holds the activity only once it is tracked.
struct EngineLayeringTests {
    /// KOL by appointment; core for 2 uses in a week, the last at most 6 days ago; word-of-mouth
    /// for an invitation in the week; demotion after 2 days of failing.
    static let policy = try! LayeringPolicy(
        tiers: [
            .init(layer: .kol, requirement: nil),
            .init(layer: .core, requirement: try! ActivityRequirement(minimumUses: 2, maximumDaysSinceLastUse: 6)),
            .init(layer: .wordOfMouth, requirement: try! ActivityRequirement(minimumInvites: 1)),
        ],
        fallback: .ordinary,
        windowDays: 7,
        graceDays: 2,
        currency: .cny
    )

    static var configuration: FissionEngine.Configuration { FissionEngine.Configuration(layeringPolicy: Self.policy) }

    /// The community's day `days` after the fixtures' start (which is 16:00 there: the hours
    /// used below stay on the day).
    static func day(_ days: Int64) -> CalendarDay {
        at(days: days).calendarDay(in: Self.configuration.checkInOffset)
    }

    /// After the seed (alice ← bob ← carol): alice appointed KOL, tracking on, dave registered
    /// by carol and paying 100 yuan, bob checking in and reporting a use the next day, then
    /// three evaluations and alice's pin released.
    static let story: [(key: EventID, command: EngineCommand, at: Timestamp)] = [
        ("kol-alice", .setMemberLayer("alice", layer: .kol), at(hours: 2)),
        ("track", .trackActivity, at(hours: 2)),
        ("reg-dave", .registerMember("dave", invitedBy: "carol", campaign: spring, channel: nil), at(hours: 3)),
        ("o1", .orderPaid(order: "o1", buyer: "dave", kind: .regular, lines: [line(100)]), at(hours: 4)),
        ("ci-bob", .checkIn("bob", activity: "run", group: nil), at(hours: 5)),
        ("use-bob", .recordActivity("bob", kind: .use), at(days: 1, hours: 1)),
        ("eval-1", .evaluateLayers(on: day(1)), at(days: 1, hours: 2)),
        ("eval-1-again", .evaluateLayers(on: day(1)), at(days: 1, hours: 3)),
        ("unpin-alice", .unpinMemberLayer("alice"), at(days: 2)),
        ("eval-10", .evaluateLayers(on: day(10)), at(days: 10)),
        ("eval-12", .evaluateLayers(on: day(12)), at(days: 12)),
    ]

    @Test("activity counts what the engine sees; evaluations promote at once and demote after the grace")
    func story() async throws {
        let engine = try await seededEngine(.memory, configuration: Self.configuration)
        var outcomes: [EngineOutcome] = []
        for (key, command, time) in Self.story {
            outcomes.append(try await engine.submit(command, key: key, at: time))
        }
        let state = await engine.state
        #expect(state.tracksActivity)
        // Carol's invitation of dave counts; bob's of carol was before tracking began.
        #expect(state.activity(of: "carol")?.lifetime.invites == 1)
        #expect(state.activity(of: "bob")?.lifetime.invites == 0)
        #expect(state.activity(of: "dave")?.lifetime.spend == yuan(100))
        #expect(state.activity(of: "bob")?.lifetime.uses == 2)
        #expect(state.activity(of: "bob")?.lastUseDay == Self.day(1))
        #expect(state.activity(of: "nobody") == nil)

        // Day 1: bob has two uses, carol an invitation; alice is pinned, dave only spent.
        #expect(
            outcomes[6].effects == [
                .layerChanged("bob", from: .ordinary, to: .core, isPromotion: true),
                .layerChanged("carol", from: .ordinary, to: .wordOfMouth, isPromotion: true),
            ]
        )
        #expect(outcomes[7].effects.isEmpty)
        // Day 10: everyone fails their layer; the grace keeps them. Day 12: all three move down.
        #expect(outcomes[9].effects.isEmpty)
        #expect(state.layerState(of: "bob")?.layer == .ordinary)
        #expect(
            outcomes[10].effects == [
                .layerChanged("alice", from: .kol, to: .ordinary, isPromotion: false),
                .layerChanged("bob", from: .core, to: .ordinary, isPromotion: false),
                .layerChanged("carol", from: .wordOfMouth, to: .ordinary, isPromotion: false),
            ]
        )
        #expect(state.member("alice")?.layer == .ordinary)
        #expect(state.layerState(of: "alice")?.isPinned == false)
        #expect(
            state.registeredMembers.map(\.layer) == state.registeredMembers.map { state.layerState(of: $0.id)?.layer }
        )
    }

    @Test("an operator's layer stays pinned through evaluations until released")
    func pinning() async throws {
        let engine = try await seededEngine(.memory, configuration: Self.configuration)
        try await engine.submit(.trackActivity, key: "track", at: at(hours: 2))
        try await engine.submit(.setMemberLayer("bob", layer: .kol), key: "kol-bob", at: at(hours: 2))
        #expect(await engine.state.layerState(of: "bob") == LayerState(layer: .kol, since: Self.day(0), isPinned: true))
        let pinned = try await engine.submit(.evaluateLayers(on: Self.day(5)), key: "eval-5", at: at(days: 5))
        #expect(pinned.effects.isEmpty)
        try await engine.submit(.unpinMemberLayer("bob"), key: "unpin", at: at(days: 5))
        try await engine.submit(.evaluateLayers(on: Self.day(5)), key: "eval-5b", at: at(days: 5))
        // Unpinning a member who is not pinned changes nothing: bob's failing run, begun on day 5,
        // is kept, so his grace ends on day 7 all the same.
        let failing = try #require(await engine.state.layerState(of: "bob"))
        #expect(failing.failingSince == Self.day(5) && !failing.isPinned)
        try await engine.submit(.unpinMemberLayer("bob"), key: "unpin-again", at: at(days: 6))
        #expect(await engine.state.layerState(of: "bob") == failing)
        let moved = try await engine.submit(.evaluateLayers(on: Self.day(7)), key: "eval-7", at: at(days: 7))
        #expect(moved.effects == [.layerChanged("bob", from: .kol, to: .ordinary, isPromotion: false)])
    }

    @Test("an evaluation may not go back before the latest one, or before tracking began")
    func evaluationsGoForward() async throws {
        let engine = try await seededEngine(.memory, configuration: Self.configuration)
        try await engine.submit(.trackActivity, key: "track", at: at(days: 1))
        try await expectRefused(.evaluateLayers(on: Self.day(0)), .invalidDate, on: engine, at: at(days: 3))
        try await engine.submit(.recordActivity("bob", kind: .use), key: "u1", at: at(days: 3))
        try await engine.submit(.recordActivity("bob", kind: .use), key: "u2", at: at(days: 3, hours: 1))
        let promoted = try await engine.submit(.evaluateLayers(on: Self.day(3)), key: "e3", at: at(days: 3, hours: 2))
        #expect(promoted.effects == [.layerChanged("bob", from: .ordinary, to: .core, isPromotion: true)])
        // Re-running day 1 would have started bob's failing run there and demoted him on day 10,
        // his first failing day, without the grace.
        try await expectRefused(.evaluateLayers(on: Self.day(1)), .invalidDate, on: engine, at: at(days: 3))
        let sameDay = try await engine.submit(.evaluateLayers(on: Self.day(3)), key: "e3b", at: at(days: 4))
        #expect(sameDay.effects.isEmpty)
        let failing = try await engine.submit(.evaluateLayers(on: Self.day(10)), key: "e10", at: at(days: 10))
        #expect(failing.effects.isEmpty)
        let demoted = try await engine.submit(.evaluateLayers(on: Self.day(12)), key: "e12", at: at(days: 12))
        #expect(demoted.effects == [.layerChanged("bob", from: .core, to: .ordinary, isPromotion: false)])
    }

    @Test("yesterday's evaluation sees its whole window after today's first activity")
    func yesterdayAfterTodaysActivity() async throws {
        let policy = try LayeringPolicy(
            tiers: [.init(layer: .core, requirement: try ActivityRequirement(minimumUses: 2))],
            fallback: .ordinary,
            windowDays: 2,
            graceDays: 0,
            currency: .cny
        )
        let engine = try await seededEngine(.memory, configuration: FissionEngine.Configuration(layeringPolicy: policy))
        try await engine.submit(.trackActivity, key: "track", at: at(hours: 2))
        try await engine.submit(.recordActivity("bob", kind: .use), key: "u0", at: at(hours: 3))
        try await engine.submit(.recordActivity("bob", kind: .use), key: "u1", at: at(days: 1))
        // Midnight passes; bob's first use of day 2 comes in before the nightly job.
        try await engine.submit(.recordActivity("bob", kind: .use), key: "u2", at: at(days: 2))
        let nightly = try await engine.submit(.evaluateLayers(on: Self.day(1)), key: "e1", at: at(days: 2, hours: 1))
        #expect(nightly.effects == [.layerChanged("bob", from: .ordinary, to: .core, isPromotion: true)])
        #expect(EngineState.retainedDays(under: policy) == 3)
        #expect(EngineState.retainedDays(under: Self.policy) == 8)
    }

    @Test("one use a day from check-ins, and an invite only for a first binding")
    func usesAndInvitesAreNotInflated() async throws {
        let configuration = FissionEngine.Configuration(
            bindingPolicy: BindingPolicy(duration: .lastTouch),
            layeringPolicy: Self.policy
        )
        let engine = try await seededEngine(.memory, configuration: configuration)
        try await engine.submit(.trackActivity, key: "track", at: at(hours: 2))
        try await engine.submit(.checkIn("carol", activity: "run", group: nil), key: "c1", at: at(hours: 2))
        try await engine.submit(.checkIn("carol", activity: "swim", group: nil), key: "c2", at: at(hours: 3))
        try await engine.submit(.forgetCheckIns("carol"), key: "forget", at: at(hours: 4))
        try await engine.submit(.checkIn("carol", activity: "run", group: nil), key: "c3", at: at(hours: 5))
        #expect(await engine.state.activity(of: "carol")?.lifetime.uses == 1)
        try await engine.submit(.checkIn("carol", activity: "run", group: nil), key: "c4", at: at(days: 1))
        #expect(await engine.state.activity(of: "carol")?.lifetime.uses == 2)
        // A host's report counts as reported.
        try await engine.submit(.recordActivity("carol", kind: .use), key: "r1", at: at(days: 1))
        #expect(await engine.state.activity(of: "carol")?.lifetime.uses == 3)

        // Dave registers through carol (an invite), is rebound to alice and back to carol by
        // later touches: those move the invitation, they make none.
        try await engine.submit(
            .registerMember("dave", invitedBy: "carol", campaign: nil, channel: nil),
            key: "reg-dave",
            at: at(days: 1)
        )
        let toAlice = try await engine.submit(.bind("dave", to: "alice", campaign: nil), key: "b1", at: at(days: 1))
        #expect(toAlice.effects == [.bound("dave", inviter: "alice")])
        try await engine.submit(.bind("dave", to: "carol", campaign: nil), key: "b2", at: at(days: 1, hours: 1))
        #expect(await engine.state.activity(of: "carol")?.lifetime.invites == 1)
        #expect(await engine.state.activity(of: "alice")?.lifetime.invites == 0)
    }

    @Test("messages count unless they break a moderation rule; make-ups and other currencies do not")
    func messagesAndCurrencies() async throws {
        let configuration = FissionEngine.Configuration(
            layeringPolicy: Self.policy,
            checkInSettings: try CheckInSettings(milestones: [3], makeUpsPerMonth: 1)
        )
        let engine = try await seededEngine(.memory, configuration: configuration)
        try await engine.submit(.trackActivity, key: "track", at: at(hours: 1))
        try await engine.submit(.addGroupSeries(EngineGroupOperationsTests.club), key: "series", at: at(hours: 1))
        try await engine.submit(
            .joinGroup("carol", into: .series("club"), invitedBy: nil, channel: nil),
            key: "join",
            at: at(hours: 1)
        )
        let rules = try ModerationRules(sensitiveWords: ["scam"], ads: lightAdRules())
        try await engine.submit(.setModeration("club-1", rules: rules, policy: .standard), key: "mod", at: at(hours: 1))
        try await engine.submit(.messagePosted("carol", group: "club-1", text: "hello"), key: "m1", at: at(hours: 2))
        let warned = try await engine.submit(
            .messagePosted("carol", group: "club-1", text: "scam"),
            key: "m2",
            at: at(hours: 2)
        )
        #expect(warned.effects.first == .warnMember("carol", group: "club-1"))
        try await engine.submit(
            .orderPaid(
                order: "usd",
                buyer: "carol",
                kind: .regular,
                lines: [
                    OrderPaid.Line(sku: "sku-1", quantity: 1, netPaid: Money(minorUnits: 500, currency: .usd))
                ]
            ),
            key: "usd",
            at: at(hours: 3)
        )
        try await engine.submit(.checkIn("carol", activity: "run", group: nil), key: "ci", at: at(days: 2))
        try await engine.submit(
            .makeUpCheckIn("carol", activity: "run", group: nil, day: Self.day(1)),
            key: "make-up",
            at: at(days: 2)
        )
        let stats = try #require(await engine.state.activity(of: "carol"))
        #expect(stats.lifetime == ActivitySummary(uses: 1, spend: yuan(0), invites: 0, messages: 1))
    }

    @Test("segment queries page through the members by tag, layer and recent activity")
    func segments() async throws {
        let engine = try await seededEngine(.memory, configuration: Self.configuration)
        let runner = try MemberTag(category: "interest", value: "run")
        try await engine.submit(.setMemberTags("bob", tags: try TagSet([runner])), key: "tags-bob", at: at(hours: 2))
        try await engine.submit(.setMemberTags("carol", tags: try TagSet([runner])), key: "tags-c", at: at(hours: 2))
        var state = await engine.state
        // Without tracking, no segment may ask for recent activity: it would match nobody.
        let recent = Segment(activeSince: Self.day(1))
        #expect(throws: FissionError.self) { _ = try state.members(in: recent, limit: 10) }
        #expect(throws: FissionError.self) { _ = try state.members(in: Segment(), limit: 0) }
        let runners = try state.members(in: Segment(allTags: [runner]), limit: 1)
        #expect(runners.members.map(\.id) == ["bob"])
        let rest = try state.members(in: Segment(allTags: [runner]), after: runners.next, limit: 10)
        #expect(rest.members.map(\.id) == ["carol"] && rest.next == nil)

        for (key, command, time) in Self.story.prefix(7) { try await engine.submit(command, key: key, at: time) }
        state = await engine.state
        #expect(try state.members(in: recent, limit: 10).members.map(\.id) == ["bob"])
        #expect(
            try state.members(in: Segment(layers: [.core, .kol]), limit: 10).members.map(\.id) == ["alice", "bob"]
        )
        #expect(try state.members(in: Segment(), limit: 10).members.count == 4)
    }

    @Test("layering commands are refused before tracking, and bad reports after; nothing changes")
    func refusals() async throws {
        let engine = try await seededEngine(.memory, configuration: Self.configuration)
        try await expectRefused(.evaluateLayers(on: Self.day(0)), .activityNotTracked, on: engine)
        try await expectRefused(.recordActivity("bob", kind: .use), .activityNotTracked, on: engine)
        try await expectRefused(.unpinMemberLayer("bob"), .activityNotTracked, on: engine)
        try await expectRefused(.recordActivity("nobody", kind: .use), .unknownMember, on: engine)
        #expect(await engine.state.tracksActivity == false)
        #expect(try await engine.state.snapshot().prefix(4) == [5, 0, 0, 0])

        try await engine.submit(.trackActivity, key: "track", at: at(hours: 2))
        #expect(try await engine.state.snapshot().prefix(4) == [7, 0, 0, 0])
        #expect(await engine.state.activityCountsRefunds)
        try await expectRefused(.trackActivity, .activityAlreadyTracked, on: engine)
        try await expectRefused(
            .recordActivity("bob", kind: .spend(Money(minorUnits: 100, currency: .usd))),
            .currencyMismatch,
            on: engine
        )
        try await expectRefused(.recordActivity("bob", kind: .spend(yuan(-1))), .negativeAmount, on: engine)
        try await expectRefused(.recordActivity("nobody", kind: .invite), .unknownMember, on: engine)
        try await expectRefused(.unpinMemberLayer("nobody"), .unknownMember, on: engine)
        try await expectRefused(.evaluateLayers(on: Self.day(1)), .invalidDate, on: engine)
        try await expectRefused(.setMemberLayer("bob", layer: try Layer("gold")), .unknownLayer, on: engine)
        #expect(await engine.state.activity(of: "bob")?.lifetime == .empty(.cny))
    }

    @Test("the story replays, restores from a checkpoint and answers retries", arguments: StoreKind.allCases)
    func journal(kind: StoreKind) async throws {
        let store = try kind.make()
        let engine = try FissionEngine(store: store, configuration: Self.configuration)
        try await seed(engine)
        let restored = try await expectJournalReplaysAndAnswersRetries(Self.story, on: engine, store: store)
        #expect(await restored.state.layering == engine.state.layering)
        // The restored engine keeps counting: carol reports two uses and becomes core.
        try await restored.submit(.recordActivity("carol", kind: .use), key: "u1", at: at(days: 12, hours: 1))
        try await restored.submit(.recordActivity("carol", kind: .use), key: "u2", at: at(days: 12, hours: 2))
        let outcome = try await restored.submit(.evaluateLayers(on: Self.day(12)), key: "e", at: at(days: 12, hours: 3))
        #expect(outcome.effects == [.layerChanged("carol", from: .ordinary, to: .core, isPromotion: true)])
    }

    /// `state`'s snapshot with its activity section replaced by `section` (version 6, sealed with
    /// a valid checksum, so only the section's own checks can refuse it).
    static func snapshot(of state: EngineState, withActivity section: (inout ByteWriter) -> Void) throws -> [UInt8] {
        var plain = state
        plain.layering = nil
        var bytes = Array(try plain.snapshot().dropLast(8))
        bytes[0] = 6
        var writer = ByteWriter(capacity: 256)
        section(&writer)
        bytes += writer.finish()
        return EngineState.sealedSnapshot(bytes)
    }

    @Test("a damaged activity section is refused as corrupt; a rebuilt intact one restores")
    func damagedActivitySections() async throws {
        let engine = try await seededEngine(.memory, configuration: Self.configuration)
        try await engine.submit(.trackActivity, key: "track", at: at(hours: 2))
        let state = await engine.state
        let today = Self.day(0)
        /// One member's entry: uses and the days they were on, the last use, the layer state.
        func member(
            _ writer: inout ByteWriter,
            uses: [(CalendarDay, Int64)] = [],
            lastUse: CalendarDay? = nil,
            layer: String = "ordinary",
            since: CalendarDay? = nil,
            failingSince: CalendarDay? = nil,
            pinned: Bool = false,
            dayCount: UInt32? = nil
        ) {
            let total = uses.reduce(0) { $0 + $1.1 }
            for value in [total, 0, 0, 0] { writer.append(value) }
            writer.append(dayCount ?? UInt32(uses.count))
            for (day, count) in uses {
                writer.append(day.daysSinceEpoch)
                for value in [count, 0, 0, 0] { writer.append(value) }
            }
            writer.append(UInt8(lastUse == nil ? 0 : 1))
            if let lastUse { writer.append(lastUse.daysSinceEpoch) }
            writer.append(string: layer)
            writer.append((since ?? today).daysSinceEpoch)
            writer.append(UInt8(failingSince == nil ? 0 : 1))
            if let failingSince { writer.append(failingSince.daysSinceEpoch) }
            writer.append(UInt8(pinned ? 1 : 0))
        }
        /// The section with `first` for alice and plain entries for bob and carol.
        func section(
            earliest: CalendarDay = today,
            _ first: @escaping (inout ByteWriter) -> Void
        ) -> (inout ByteWriter) -> Void {
            { writer in
                writer.append(earliest.daysSinceEpoch)
                writer.append(UInt32(3))
                first(&writer)
                member(&writer)
                member(&writer)
            }
        }
        let intact = try Self.snapshot(
            of: state,
            withActivity: section { member(&$0, uses: [(today, 2)], lastUse: today) }
        )
        let restored = try EngineState(snapshot: intact, configuration: Self.configuration)
        #expect(restored.activity(of: "alice")?.lifetime.uses == 2)

        let damaged: [(String, (inout ByteWriter) -> Void)] = [
            ("a use without a last use day", section { member(&$0, uses: [(today, 1)]) }),
            ("a last use day without a use", section { member(&$0, lastUse: today) }),
            ("more days than the window", section { member(&$0, dayCount: 8) }),
            (
                "a day after the clock",
                section { member(&$0, uses: [(today.advanced(by: 1), 1)], lastUse: today.advanced(by: 1)) }
            ),
            ("a day in year 9999", section { member(&$0, uses: [(CalendarDay.last, 1)], lastUse: CalendarDay.last) }),
            ("a layer state since after the clock", section { member(&$0, since: today.advanced(by: 30)) }),
            ("a failing run after the clock", section { member(&$0, failingSince: today.advanced(by: 1)) }),
            ("a layer that is not the member's", section { member(&$0, layer: "core") }),
            ("a layer named by no layer", section { member(&$0, layer: "") }),
            ("a pinned layer with a failing run", section { member(&$0, failingSince: today, pinned: true) }),
            ("an evaluation after the clock", section(earliest: today.advanced(by: 1)) { member(&$0) }),
            (
                "fewer members",
                { writer in
                    writer.append(today.daysSinceEpoch)
                    writer.append(UInt32(2))
                    member(&writer)
                    member(&writer)
                }
            ),
            (
                "a truncated entry",
                { writer in
                    writer.append(today.daysSinceEpoch)
                    writer.append(UInt32(3))
                    member(&writer)
                    member(&writer)
                    writer.append(Int64(0))
                }
            ),
        ]
        for (what, damage) in damaged {
            let error = #expect(throws: FissionError.self, "\(what)") {
                _ = try EngineState(
                    snapshot: Self.snapshot(of: state, withActivity: damage),
                    configuration: Self.configuration
                )
            }
            #expect(error?.code == .corruptSnapshot, "\(what): \(String(describing: error))")
        }
    }

    @Test("a snapshot whose layer states disagree with the members is corrupt")
    func forgedSnapshots() async throws {
        let engine = try await seededEngine(.memory, configuration: Self.configuration)
        for (key, command, time) in Self.story.prefix(7) { try await engine.submit(command, key: key, at: time) }
        let state = await engine.state
        #expect(
            try EngineState(snapshot: state.snapshot(), configuration: Self.configuration).layering == state.layering
        )

        var otherLayer = state
        otherLayer.layering!.states[1] = LayerState(layer: .kol, since: Self.day(1))
        var pinnedAndFailing = state
        pinnedAndFailing.layering!.states[0] = LayerState(
            layer: .kol,
            since: Self.day(0),
            failingSince: Self.day(1),
            isPinned: true
        )
        for forged in [otherLayer, pinnedAndFailing] {
            let error = #expect(throws: FissionError.self) {
                _ = try EngineState(snapshot: forged.snapshot(), configuration: Self.configuration)
            }
            #expect(error?.code == .corruptSnapshot)
        }
        // Another layering policy is a configuration mismatch, as before.
        let other = FissionEngine.Configuration()
        let error = #expect(throws: FissionError.self) {
            _ = try EngineState(snapshot: state.snapshot(), configuration: other)
        }
        #expect(error?.code == .configurationMismatch)
    }
}
