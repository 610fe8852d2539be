import FissionCore
import FissionMembers
import Testing

/// The README's quick-start code, kept compiling and true.
struct ReadmeExampleTests {
    @Test func quickStart() throws {
        let policy = try LayeringPolicy(
            tiers: [
                .init(layer: .kol, requirement: nil),  // appointed by operators
                .init(layer: .core, requirement: ActivityRequirement(minimumUses: 6, maximumDaysSinceLastUse: 21)),
            ],
            fallback: .ordinary,
            windowDays: 21,
            graceDays: 14,
            currency: .cny
        )
        var roster = MemberRoster(policy: policy, offset: .chinaStandardTime)
        let now = try Timestamp(millisecondsSinceEpoch: 1_763_800_000_000)  // the host passes time in
        try roster.add(Member(id: "openid-123", joinedAt: now))
        try roster.record(ActivityRecord(member: "openid-123", at: now, kind: .use))
        let changes = roster.reevaluateLayers(on: now.calendarDay(in: .chinaStandardTime))
        #expect(changes.isEmpty, "one use is not enough for core")

        let reward = try Money(parsing: "50", currency: .cny)
        let parts = try reward.split(weights: [15, 15, 20])  // paid on sign-up, first order, repurchase
        #expect(parts.map(\.description) == ["15.00 CNY", "15.00 CNY", "20.00 CNY"])
    }
}
