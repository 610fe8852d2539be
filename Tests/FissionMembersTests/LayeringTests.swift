import FissionCore
import FissionMembers
import Testing

struct LayeringTests {
    private func roster(graceDays: Int = 7) throws -> MemberRoster {
        var roster = MemberRoster(policy: try makePolicy(graceDays: graceDays), offset: beijing)
        try roster.add(Member(id: 1, joinedAt: noon(0)))
        try roster.add(Member(id: 2, joinedAt: noon(0)))
        return roster
    }

    @Test func frequentUseIsPromotedToCoreAtOnce() throws {
        var roster = try self.roster()
        for day in stride(from: Int64(0), to: 21, by: 3) {  // 7 uses, every 3 days
            try roster.record(ActivityRecord(member: 1, at: noon(day), kind: .use))
        }
        let changes = roster.reevaluateLayers(on: try dayNumber(20))
        #expect(changes == [.init(member: 1, from: .ordinary, to: .core, isPromotion: true)])
        #expect(roster.member(1)?.layer == .core)
        #expect(roster.member(2)?.layer == .ordinary)
        #expect(roster.reevaluateLayers(on: try dayNumber(20)).isEmpty, "the same day twice changes nothing")
    }

    @Test func demotionWaitsForTheGracePeriod() throws {
        var roster = try self.roster(graceDays: 7)
        for day in Int64(0)..<6 { try roster.record(ActivityRecord(member: 1, at: noon(day), kind: .use)) }
        #expect(roster.reevaluateLayers(on: try dayNumber(5)).count == 1)
        // Day 21: the first use leaves the 21-day window; 5 uses remain, so the member fails core.
        for day in Int64(21)...27 {
            #expect(roster.reevaluateLayers(on: try dayNumber(day)).isEmpty, "day \(day) is inside the grace period")
            #expect(roster.member(1)?.layer == .core)
        }
        #expect(roster.entry(1)?.layerState.failingSince == (try dayNumber(21)))
        let changes = roster.reevaluateLayers(on: try dayNumber(28))
        #expect(changes == [.init(member: 1, from: .core, to: .ordinary, isPromotion: false)])
    }

    @Test func meetingTheRequirementAgainResetsTheGracePeriod() throws {
        var roster = try self.roster(graceDays: 7)
        for day in Int64(0)..<6 { try roster.record(ActivityRecord(member: 1, at: noon(day), kind: .use)) }
        _ = roster.reevaluateLayers(on: try dayNumber(5))
        _ = roster.reevaluateLayers(on: try dayNumber(22))  // failing since day 22
        #expect(roster.entry(1)?.layerState.failingSince != nil)
        for _ in 0..<3 { try roster.record(ActivityRecord(member: 1, at: noon(23), kind: .use)) }
        _ = roster.reevaluateLayers(on: try dayNumber(23))  // 6 uses in days 3...23 again
        #expect(roster.entry(1)?.layerState.failingSince == nil)
        // Failing again from day 29 (3 uses in days 9...29): a new grace period starts there.
        #expect(roster.reevaluateLayers(on: try dayNumber(29)).isEmpty)
        #expect(roster.entry(1)?.layerState.failingSince == (try dayNumber(29)))
        #expect(roster.member(1)?.layer == .core)
    }

    @Test func zeroGraceDemotesAtOnceToTheHighestTierStillMet() throws {
        var roster = try self.roster(graceDays: 0)
        for day in Int64(0)..<6 { try roster.record(ActivityRecord(member: 1, at: noon(day), kind: .use)) }
        try roster.record(
            ActivityRecord(member: 1, at: noon(20), kind: .spend(Money(minorUnits: 60_000, currency: .cny)))
        )
        _ = roster.reevaluateLayers(on: try dayNumber(20))
        #expect(roster.member(1)?.layer == .core)
        let changes = roster.reevaluateLayers(on: try dayNumber(21))
        #expect(changes.map(\.to) == [try Layer("spender")])
    }

    @Test func recencyIsPartOfCore() throws {
        var roster = try self.roster()
        for _ in 0..<10 { try roster.record(ActivityRecord(member: 1, at: noon(0), kind: .use)) }
        #expect(roster.reevaluateLayers(on: try dayNumber(0)).count == 1)
        let policy = try makePolicy()
        let stats = try #require(roster.entry(1)?.stats)
        #expect(policy.qualifyingLayer(for: stats, on: try dayNumber(21)) == .ordinary)
    }

    @Test func aUseRecordedAfterTheDayDoesNotFailItsRecency() throws {
        let policy = try makePolicy()
        var stats = ActivityStats(currency: .cny, retainedDays: 21)
        for day in Int64(0)..<6 { try stats.record(.use, on: dayNumber(day)) }
        #expect(policy.qualifyingLayer(for: stats, on: try dayNumber(6)) == .core)
        try stats.record(.use, on: dayNumber(7))  // tomorrow's use, recorded before day 6 is evaluated
        #expect(policy.qualifyingLayer(for: stats, on: try dayNumber(6)) == .core)
        #expect(policy.qualifyingLayer(for: stats, on: try dayNumber(27)) == .ordinary, "7 uses, none on days 7...27")
    }

    @Test func theLastUseOnOrBeforeADayComesFromTheKeptDays() throws {
        var stats = ActivityStats(currency: .cny, retainedDays: 21)
        for day: Int64 in [2, 5, 12] { try stats.record(.use, on: dayNumber(day)) }
        try stats.record(.message, on: dayNumber(8))
        #expect(stats.lastUse(onOrBefore: try dayNumber(15)) == (try dayNumber(12)))
        #expect(stats.lastUse(onOrBefore: try dayNumber(12)) == (try dayNumber(12)))
        #expect(stats.lastUse(onOrBefore: try dayNumber(11)) == (try dayNumber(5)), "day 8 has a message only")
        #expect(stats.lastUse(onOrBefore: try dayNumber(4)) == (try dayNumber(2)))
        #expect(stats.lastUse(onOrBefore: try dayNumber(1)) == nil)

        // With 3 days kept, day 0's use is no longer known day by day: as of day 9 the kept days
        // (8...10) hold no use, so recency fails whatever the requirement's limit.
        var short = ActivityStats(currency: .cny, retainedDays: 3)
        try short.record(.use, on: dayNumber(0))
        try short.record(.use, on: dayNumber(10))
        #expect(short.lastUse(onOrBefore: try dayNumber(9)) == nil)
        let recency = try LayeringPolicy(
            tiers: [.init(layer: .core, requirement: ActivityRequirement(maximumDaysSinceLastUse: 1))],
            fallback: .ordinary,
            windowDays: 3,
            graceDays: 0,
            currency: .cny
        )
        #expect(recency.qualifyingLayer(for: short, on: try dayNumber(9)) == .ordinary)
        #expect(recency.qualifyingLayer(for: short, on: try dayNumber(11)) == .core)
    }

    @Test func reevaluatingYesterdayAfterTodaysUseKeepsAnActiveMember() throws {
        var roster = try self.roster(graceDays: 0)
        for day in Int64(0)..<6 { try roster.record(ActivityRecord(member: 1, at: noon(day), kind: .use)) }
        #expect(roster.reevaluateLayers(on: try dayNumber(5)).map(\.to) == [.core])
        try roster.record(ActivityRecord(member: 1, at: noon(7), kind: .use))
        // As of day 6: 6 uses in the window, the last the day before.
        #expect(roster.reevaluateLayers(on: try dayNumber(6)).isEmpty)
        #expect(roster.member(1)?.layer == .core)
    }

    @Test func leavingALayerThePolicyDoesNotKnowIsAPromotion() throws {
        var roster = MemberRoster(policy: try makePolicy(), offset: beijing)
        let legacy = try Layer("legacy")
        try roster.add(Member(id: 1, joinedAt: noon(0), layer: legacy))
        try roster.add(Member(id: 2, joinedAt: noon(0), layer: legacy))
        for day in Int64(0)..<6 { try roster.record(ActivityRecord(member: 1, at: noon(day), kind: .use)) }
        let changes = roster.reevaluateLayers(on: try dayNumber(5))
        #expect(
            changes == [
                .init(member: 1, from: legacy, to: .core, isPromotion: true),
                .init(member: 2, from: legacy, to: .ordinary, isPromotion: true),
            ]
        )
    }

    @Test func pinnedLayersAreNotRecomputed() throws {
        var roster = try self.roster(graceDays: 0)
        try roster.assignLayer(.kol, to: 2, on: dayNumber(0))
        #expect(roster.reevaluateLayers(on: try dayNumber(30)).isEmpty)
        #expect(roster.member(2)?.layer == .kol)
        try roster.unpinLayer(of: 2)
        #expect(roster.reevaluateLayers(on: try dayNumber(30)).map(\.to) == [.ordinary])
        #expect(throws: FissionError(code: .unknownLayer)) {
            try roster.assignLayer(Layer("vip"), to: 2, on: dayNumber(30))
        }
        #expect(throws: FissionError(code: .memberNotFound)) { try roster.assignLayer(.kol, to: 99, on: dayNumber(30)) }
    }

    @Test func ranksCompareLayers() throws {
        let policy = try makePolicy()
        #expect(policy.isLayer(.kol, atLeast: .core))
        #expect(policy.isLayer(.core, atLeast: .core))
        #expect(!policy.isLayer(.ordinary, atLeast: .core))
        #expect(policy.rank(of: .ordinary) == 3)
        #expect(policy.rank(of: .wordOfMouth) == nil)
        #expect(!policy.isLayer(.wordOfMouth, atLeast: .ordinary))
        // A layer the policy does not know is at least itself only (entry rules rely on it).
        #expect(!policy.isLayer(.core, atLeast: .wordOfMouth))
        #expect(policy.isLayer(.wordOfMouth, atLeast: .wordOfMouth))
    }
}

struct LayeringPolicyValidationTests {
    private let core = try! ActivityRequirement(minimumUses: 6, maximumDaysSinceLastUse: 21)

    @Test func aLowerTierAskingAtLeastAsMuchIsAContradiction() throws {
        let stricter = try ActivityRequirement(minimumUses: 8, maximumDaysSinceLastUse: 14)
        #expect(throws: FissionError(code: .contradictoryThresholds)) {
            try LayeringPolicy(
                tiers: [
                    .init(layer: .core, requirement: self.core), .init(layer: Layer("active"), requirement: stricter),
                ],
                fallback: .ordinary,
                windowDays: 21,
                graceDays: 7,
                currency: .cny
            )
        }
        // Asking for more uses but allowing a longer gap is not implied: both tiers are reachable.
        let different = try ActivityRequirement(minimumUses: 8, maximumDaysSinceLastUse: 30)
        _ = try LayeringPolicy(
            tiers: [
                .init(layer: .core, requirement: self.core), .init(layer: Layer("active"), requirement: different),
            ],
            fallback: .ordinary,
            windowDays: 21,
            graceDays: 7,
            currency: .cny
        )
    }

    @Test(
        "Malformed policies are refused",
        arguments: [(0, 7, "windowDays"), (367, 7, "windowDays"), (21, -1, "graceDays"), (21, 367, "graceDays")]
    )
    func malformedWindows(windowDays: Int, graceDays: Int, what: String) {
        #expect(throws: FissionError(code: .invalidLayeringPolicy), "\(what)") {
            try LayeringPolicy(
                tiers: [],
                fallback: .ordinary,
                windowDays: windowDays,
                graceDays: graceDays,
                currency: .cny
            )
        }
    }

    @Test func duplicateLayersAreRefused() {
        #expect(throws: FissionError(code: .duplicateLayer)) {
            try LayeringPolicy(
                tiers: [.init(layer: .core, requirement: self.core), .init(layer: .core, requirement: nil)],
                fallback: .ordinary,
                windowDays: 21,
                graceDays: 7,
                currency: .cny
            )
        }
        #expect(throws: FissionError(code: .duplicateLayer)) {
            try LayeringPolicy(
                tiers: [.init(layer: .ordinary, requirement: self.core)],
                fallback: .ordinary,
                windowDays: 21,
                graceDays: 7,
                currency: .cny
            )
        }
    }

    @Test func requirementsMustAskForSomethingNonNegative() {
        #expect(throws: FissionError(code: .invalidLayeringPolicy)) { try ActivityRequirement() }
        #expect(throws: FissionError(code: .invalidLayeringPolicy)) { try ActivityRequirement(minimumUses: -1) }
        #expect(throws: FissionError(code: .invalidLayeringPolicy)) {
            try ActivityRequirement(minimumSpend: Money(minorUnits: -1, currency: .cny))
        }
        #expect(throws: FissionError(code: .invalidLayeringPolicy)) {
            try ActivityRequirement(minimumUses: 1, maximumDaysSinceLastUse: -1)
        }
    }

    @Test func spendThresholdsMustBeInThePolicyCurrency() throws {
        let dollars = try ActivityRequirement(minimumSpend: Money(minorUnits: 100, currency: .usd))
        #expect(throws: FissionError(code: .invalidLayeringPolicy)) {
            try LayeringPolicy(
                tiers: [.init(layer: .core, requirement: dollars)],
                fallback: .ordinary,
                windowDays: 21,
                graceDays: 7,
                currency: .cny
            )
        }
    }
}
