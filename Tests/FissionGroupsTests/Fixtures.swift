import FissionCore
import FissionGroups
import FissionMembers

/// KOL (appointed), core, and everyone else ordinary.
func makePolicy() throws -> LayeringPolicy {
    try LayeringPolicy(
        tiers: [
            .init(layer: .kol, requirement: nil),
            .init(layer: .core, requirement: ActivityRequirement(minimumUses: 6, maximumDaysSinceLastUse: 21)),
        ],
        fallback: .ordinary,
        windowDays: 21,
        graceDays: 7,
        currency: .cny
    )
}

let beijing = UTCOffset.chinaStandardTime

/// `hours` hours after 2026-11-01T00:00 in Beijing.
func hour(_ hours: Int64) throws -> Timestamp {
    try CalendarDay(year: 2026, month: 11, day: 1).start(in: beijing).adding(milliseconds: hours * 3_600_000)
}

func member(_ id: MemberID, layer: Layer = .ordinary, tags: TagSet = [], joinedAt: Timestamp? = nil) throws -> Member {
    Member(id: id, joinedAt: try joinedAt ?? hour(0), tags: tags, layer: layer)
}

/// Everything a test can observe about some groups of a directory, for "state unchanged" checks.
struct DirectorySnapshot: Equatable {
    var groups: [CommunityGroup?]
    var members: [[Membership]]
    var logs: [[MembershipEvent]]
    var series: [GroupSeries?]

    init(_ directory: GroupDirectory, groups: [GroupID], series: [GroupSeriesID]) {
        self.groups = groups.map { directory.group($0) }
        self.members = groups.map { directory.members(of: $0) }
        self.logs = groups.map { directory.log(of: $0, limit: 10_000) }
        self.series = series.map { directory.series($0) }
    }
}
