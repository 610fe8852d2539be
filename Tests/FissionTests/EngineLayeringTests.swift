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
        // Unpinning a member who is not pinned changes nothing.
        try await engine.submit(.unpinMemberLayer("carol"), key: "unpin-carol", at: at(days: 5))
        try await engine.submit(.evaluateLayers(on: Self.day(5)), key: "eval-5b", at: at(days: 5))
        let moved = try await engine.submit(.evaluateLayers(on: Self.day(7)), key: "eval-7", at: at(days: 7))
        #expect(moved.effects == [.layerChanged("bob", from: .kol, to: .ordinary, isPromotion: false)])
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
        #expect(try await engine.state.snapshot().prefix(4) == [6, 0, 0, 0])
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
