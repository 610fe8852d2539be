import FissionCore
import FissionMembers
import Foundation
import Testing

/// Refunds taken back out of recorded spend (`ActivityStats.recordRefund(_:paidOn:)`).
struct RefundTests {
    private func cny(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: .cny) }

    @Test func aRefundedSpenderLeavesTheTier() throws {
        let spender = try Layer("spender")
        var roster = MemberRoster(policy: try makePolicy(graceDays: 0), offset: beijing)
        try roster.add(Member(id: 1, joinedAt: try noon(0)))
        try roster.record(ActivityRecord(member: 1, at: try noon(2), kind: .spend(self.cny(60_000))))
        let promoted = roster.reevaluateLayers(on: try dayNumber(2))
        #expect(promoted.map(\.to) == [spender])
        try roster.recordRefund(self.cny(20_000), of: 1, paidAt: try noon(2))
        #expect(roster.entry(1)?.stats.lifetime.spend == self.cny(40_000))
        #expect(
            roster.entry(1)?.stats.summary(windowDays: 21, endingOn: try dayNumber(3)).spend == self.cny(40_000),
            "the window no longer counts the refunded part"
        )
        let changes = roster.reevaluateLayers(on: try dayNumber(3))
        #expect(changes == [.init(member: 1, from: spender, to: .ordinary, isPromotion: false)])
    }

    @Test func refundsAddUpToTheDaysSpendAndNoMore() throws {
        var stats = ActivityStats(currency: .cny, retainedDays: 30)
        try stats.record(.spend(self.cny(100)), on: try dayNumber(1))
        try stats.record(.spend(self.cny(50)), on: try dayNumber(3))
        #expect(stats.refundableSpend(paidOn: try dayNumber(1)) == self.cny(100))
        #expect(stats.refundableSpend(paidOn: try dayNumber(2)) == self.cny(0))
        try stats.recordRefund(self.cny(30), paidOn: try dayNumber(1))
        #expect(stats.refundableSpend(paidOn: try dayNumber(1)) == self.cny(70))
        try stats.recordRefund(self.cny(70), paidOn: try dayNumber(1))
        let before = stats
        #expect(Self.code { try stats.recordRefund(self.cny(1), paidOn: try dayNumber(1)) } == .refundExceedsSpend)
        #expect(stats == before, "a refused refund changes nothing")
        #expect(stats.lifetime.spend == self.cny(50))
        #expect(stats.days.map(\.summary.spend) == [self.cny(0), self.cny(50)])
        #expect(stats.lastActiveDay == (try dayNumber(3)), "the refunded day stays an active day")
        // The day 3 spend is not refundable as day 1's, though the lifetime holds it.
        #expect(Self.code { try stats.recordRefund(self.cny(50), paidOn: try dayNumber(2)) } == .refundExceedsSpend)
        #expect(Self.code { try stats.recordRefund(self.cny(50), paidOn: try dayNumber(4)) } == .refundExceedsSpend)
        try stats.recordRefund(self.cny(50), paidOn: try dayNumber(3))
        #expect(stats.lifetime == .empty(.cny))
    }

    @Test func aRefundOfSpendBeforeTheKeptDaysLowersTheLifetimeOnly() throws {
        var stats = ActivityStats(currency: .cny, retainedDays: 5)
        try stats.record(.spend(self.cny(100)), on: try dayNumber(0))
        try stats.record(.spend(self.cny(40)), on: try dayNumber(10))  // day 0 is no longer kept
        #expect(stats.days.map(\.day) == [try dayNumber(10)])
        // Only the 100 of the days no longer kept can be refunded as an older day's.
        #expect(Self.code { try stats.recordRefund(self.cny(101), paidOn: try dayNumber(0)) } == .refundExceedsSpend)
        #expect(stats.refundableSpend(paidOn: try dayNumber(0)) == self.cny(100), "spend no kept day holds")
        #expect(stats.refundableSpend(paidOn: try dayNumber(10)) == self.cny(140), "day 10's and that")
        try stats.recordRefund(self.cny(100), paidOn: try dayNumber(0))
        #expect(stats.lifetime.spend == self.cny(40))
        #expect(stats.days.map(\.summary.spend) == [self.cny(40)])
        #expect(Self.code { try stats.recordRefund(self.cny(1), paidOn: try dayNumber(2)) } == .refundExceedsSpend)
    }

    @Test func refundedStatsStillDecode() throws {
        var stats = ActivityStats(currency: .cny, retainedDays: 5)
        try stats.record(.spend(self.cny(100)), on: try dayNumber(0))
        try stats.record(.use, on: try dayNumber(7))
        try stats.record(.spend(self.cny(60)), on: try dayNumber(8))
        try stats.recordRefund(self.cny(100), paidOn: try dayNumber(0))
        try stats.recordRefund(self.cny(60), paidOn: try dayNumber(8))
        let decoded = try JSONDecoder().decode(ActivityStats.self, from: try JSONEncoder().encode(stats))
        #expect(decoded == stats)
    }

    @Test func badRefundsAreRefusedAndChangeNothing() throws {
        var stats = ActivityStats(currency: .cny, retainedDays: 5)
        try stats.record(.spend(self.cny(100)), on: try dayNumber(1))
        let before = stats
        let usd = Money(minorUnits: 10, currency: .usd)
        #expect(Self.code { try stats.recordRefund(usd, paidOn: try dayNumber(1)) } == .currencyMismatch)
        let day1 = try dayNumber(1)
        let otherCurrency = #expect(throws: FissionError.self) { try stats.record(.spend(usd), on: day1) }
        #expect(otherCurrency?.code == .currencyMismatch)
        #expect(otherCurrency?.reason == "a spend of 0.10 USD cannot count toward spend kept in CNY")
        #expect(Self.code { try stats.recordRefund(self.cny(-1), paidOn: try dayNumber(1)) } == .negativeAmount)
        try stats.recordRefund(self.cny(0), paidOn: try dayNumber(9))
        #expect(stats == before)

        var roster = MemberRoster(policy: try makePolicy(), offset: beijing)
        try roster.add(Member(id: 1, joinedAt: try noon(0)))
        try roster.record(ActivityRecord(member: 1, at: try noon(1), kind: .spend(self.cny(100))))
        let rosterBefore = roster
        #expect(Self.code { try roster.recordRefund(self.cny(1), of: 2, paidAt: try noon(1)) } == .memberNotFound)
        #expect(Self.code { try roster.recordRefund(self.cny(1), of: 1, paidAt: try noon(-1)) } == .activityBeforeJoin)
        #expect(Self.code { try roster.recordRefund(self.cny(1), of: 1, paidAt: .latest) } == .invalidDate)
        #expect(Self.code { try roster.recordRefund(self.cny(101), of: 1, paidAt: try noon(1)) } == .refundExceedsSpend)
        #expect(roster.entry(1) == rosterBefore.entry(1))
    }

    /// Spend no kept day holds, in a kept range that grew: its day was dropped before the window
    /// grew, or was already older than the kept days when recorded. It is still refundable.
    @Test func spendNoKeptDayHoldsIsRefundableAfterTheWindowGrows() throws {
        var dropped = MemberRoster(policy: try corePolicy(windowDays: 5), offset: beijing)
        try dropped.add(Member(id: 1, joinedAt: try noon(0)))
        try dropped.record(ActivityRecord(member: 1, at: try noon(0), kind: .spend(self.cny(100))))
        try dropped.record(ActivityRecord(member: 1, at: try noon(10), kind: .spend(self.cny(40))))
        try dropped.replacePolicy(try corePolicy(windowDays: 30))
        #expect(dropped.entry(1)?.stats.days.map(\.summary.spend) == [self.cny(40)])
        try dropped.recordRefund(self.cny(100), of: 1, paidAt: try noon(0))
        #expect(dropped.entry(1)?.stats.lifetime.spend == self.cny(40))
        #expect(Self.code { try dropped.recordRefund(self.cny(1), of: 1, paidAt: try noon(0)) } == .refundExceedsSpend)

        var late = MemberRoster(policy: try corePolicy(windowDays: 5), offset: beijing)
        try late.add(Member(id: 1, joinedAt: try noon(0)))
        try late.record(ActivityRecord(member: 1, at: try noon(10), kind: .use))
        try late.record(ActivityRecord(member: 1, at: try noon(3), kind: .spend(self.cny(100))))  // lifetime only
        try late.replacePolicy(try corePolicy(windowDays: 30))
        try late.recordRefund(self.cny(60), of: 1, paidAt: try noon(3))
        #expect(late.entry(1)?.stats.lifetime.spend == self.cny(40))
    }

    /// Seeded records, growing windows and refunds: every refusal changes nothing, and the stats
    /// always decode (a checkpoint holding them reopens).
    @Test func randomRefundsKeepTheStatsDecodable() throws {
        var generator = SeededGenerator(seed: 33)
        for _ in 0..<200 {
            var window = Int(generator.next(below: 6)) + 1
            var roster = MemberRoster(policy: try corePolicy(windowDays: window), offset: beijing)
            try roster.add(Member(id: 1, joinedAt: try noon(0)))
            for _ in 0..<30 {
                let time = try noon(Int64(generator.next(below: 31)))
                switch generator.next(below: 10) {
                case 0: try roster.record(ActivityRecord(member: 1, at: time, kind: .use))
                case 1...3:
                    let spend = self.cny(Int64(generator.next(below: 101)))
                    try roster.record(ActivityRecord(member: 1, at: time, kind: .spend(spend)))
                case 4:
                    window = min(window + Int(generator.next(below: 10)) + 1, 3_660)
                    try roster.replacePolicy(try corePolicy(windowDays: window))
                default:
                    let before = roster.entry(1)
                    do {
                        try roster.recordRefund(self.cny(Int64(generator.next(below: 121))), of: 1, paidAt: time)
                    } catch {
                        #expect(roster.entry(1) == before)
                    }
                }
                let stats = try #require(roster.entry(1)?.stats)
                #expect(try JSONDecoder().decode(ActivityStats.self, from: try JSONEncoder().encode(stats)) == stats)
            }
        }
    }

    private static func code(_ body: () throws -> Void) -> FissionError.Code? {
        do {
            try body()
            return nil
        } catch {
            return (error as? FissionError)?.code
        }
    }
}
