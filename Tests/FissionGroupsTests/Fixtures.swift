import FissionCore
import FissionGroups
import FissionMembers
import Foundation

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

/// Everything a test can observe about some groups of a directory, for "state unchanged" checks:
/// settings, members, logs, invite counts and invitees of everyone who appears in a log, retained
/// counts, the latest sequence number, and the whole value.
struct DirectorySnapshot: Equatable {
    var groups: [CommunityGroup?]
    var members: [[Membership]]
    var logs: [[MembershipEvent]]
    var series: [GroupSeries?]
    var lastEventSequence: Int64
    /// Per group, per member who appears in any log: invitation count, retained count (7 days as
    /// of the last event), invitees.
    var invitationCounts: [[Int]]
    var retainedCounts: [[Int]]
    var invitees: [[[MemberID]]]
    var directory: GroupDirectory

    init(_ directory: GroupDirectory, groups: [GroupID], series: [GroupSeriesID]) {
        self.groups = groups.map { directory.group($0) }
        self.members = groups.map { directory.members(of: $0) }
        self.logs = groups.map { directory.log(of: $0, limit: 10_000) }
        self.series = series.map { directory.series($0) }
        self.lastEventSequence = directory.lastEventSequence
        var people: Set<MemberID> = ["x", "z"]
        for log in self.logs {
            for event in log {
                people.insert(event.member)
                if case .joined(let inviter?, _) = event.kind { people.insert(inviter) }
            }
        }
        let everyone = people.sorted()
        let asOf = self.logs.flatMap { $0 }.map(\.at).max() ?? Timestamp.earliest
        self.invitationCounts = groups.map { group in everyone.map { directory.invitationCount(by: $0, into: group) } }
        self.retainedCounts = groups.map { group in
            everyone.map {
                (try? directory.retainedInvitationCount(by: $0, into: group, stayedDays: 7, asOf: asOf)) ?? -1
            }
        }
        self.invitees = groups.map { group in everyone.map { directory.invitees(of: $0, into: group) } }
        self.directory = directory
    }
}

/// The seeds a randomized suite runs: `ciCount` seeds from `base`, or as many as
/// `FISSION_PROPERTY_SEEDS` says, for a long run by hand (Contributing.md).
func propertySeeds(from base: UInt64, ciCount: Int) -> [UInt64] {
    let count = ProcessInfo.processInfo.environment["FISSION_PROPERTY_SEEDS"].flatMap { Int($0) } ?? ciCount
    return (0..<UInt64(max(count, 1))).map { base + $0 }
}
