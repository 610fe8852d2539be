import FissionCore
import FissionMembers

/// The articles' layers: KOLs appointed, core = about twice a week and at least every three
/// weeks, a "spender" tier, everyone else ordinary.
func makePolicy(graceDays: Int = 7) throws -> LayeringPolicy {
    try LayeringPolicy(
        tiers: [
            .init(layer: .kol, requirement: nil),
            .init(layer: .core, requirement: ActivityRequirement(minimumUses: 6, maximumDaysSinceLastUse: 21)),
            .init(
                layer: Layer("spender"),
                requirement: ActivityRequirement(minimumSpend: Money(minorUnits: 50_000, currency: .cny))
            ),
        ],
        fallback: .ordinary,
        windowDays: 21,
        graceDays: graceDays,
        currency: .cny
    )
}

let beijing = UTCOffset.chinaStandardTime

/// Noon in Beijing on `day` days after 2026-11-01.
func noon(_ day: Int64) throws -> Timestamp {
    try CalendarDay(year: 2026, month: 11, day: 1).adding(days: day).start(in: beijing).adding(
        milliseconds: 12 * 3_600_000
    )
}

func dayNumber(_ day: Int64) throws -> CalendarDay {
    try CalendarDay(year: 2026, month: 11, day: 1).adding(days: day)
}

/// A policy with one computed tier, core, for `minimumUses` uses in a window of `windowDays`.
func corePolicy(windowDays: Int, minimumUses: Int64 = 1) throws -> LayeringPolicy {
    try LayeringPolicy(
        tiers: [.init(layer: .core, requirement: ActivityRequirement(minimumUses: minimumUses))],
        fallback: .ordinary,
        windowDays: windowDays,
        graceDays: 0,
        currency: .cny
    )
}
