import FissionCore
import FissionMembers
import Foundation
import Testing

struct RosterTests {
    @Test func badInputLeavesTheRosterUnchanged() throws {
        var roster = MemberRoster(policy: try makePolicy(), offset: beijing)
        try roster.add(Member(id: "alice", joinedAt: noon(5)))
        try roster.record(ActivityRecord(member: "alice", at: noon(6), kind: .use))
        let before = try #require(roster.entry("alice"))

        #expect(throws: FissionError(code: .duplicateMember)) { try roster.add(Member(id: "alice", joinedAt: noon(9))) }
        #expect(throws: FissionError(code: .memberNotFound)) {
            try roster.record(ActivityRecord(member: "bob", at: noon(6), kind: .use))
        }
        #expect(throws: FissionError(code: .activityBeforeJoin)) {
            try roster.record(ActivityRecord(member: "alice", at: noon(4), kind: .use))
        }
        #expect(throws: FissionError(code: .currencyMismatch)) {
            try roster.record(
                ActivityRecord(member: "alice", at: noon(6), kind: .spend(Money(minorUnits: 5, currency: .usd)))
            )
        }
        #expect(throws: FissionError(code: .negativeAmount)) {
            try roster.record(
                ActivityRecord(member: "alice", at: noon(6), kind: .spend(Money(minorUnits: -5, currency: .cny)))
            )
        }
        try roster.record(
            ActivityRecord(member: "alice", at: noon(6), kind: .spend(Money(minorUnits: .max, currency: .cny)))
        )
        let afterMaximum = try #require(roster.entry("alice"))
        #expect(throws: FissionError(code: .arithmeticOverflow)) {
            try roster.record(
                ActivityRecord(member: "alice", at: noon(7), kind: .spend(Money(minorUnits: 1, currency: .cny)))
            )
        }
        #expect(roster.entry("alice") == afterMaximum)
        #expect(before.stats.lifetime.uses == afterMaximum.stats.lifetime.uses)
        #expect(roster.count == 1)
    }

    @Test func anInstantOnADayOutsideYears1To9999IsRefused() throws {
        var west = MemberRoster(policy: try makePolicy(), offset: try UTCOffset(hours: -12))
        // 0001-01-01T00:00Z is 0000-12-31 at UTC-12.
        #expect(throws: FissionError(code: .invalidDate)) { try west.add(Member(id: 1, joinedAt: .earliest)) }
        #expect(west.count == 0)
        #expect(west.entry(1) == nil)
        try west.add(Member(id: 1, joinedAt: Timestamp.earliest.adding(milliseconds: 12 * 3_600_000)))
        #expect(west.entry(1)?.layerState.since == CalendarDay.first)

        var east = MemberRoster(policy: try makePolicy(), offset: try UTCOffset(hours: 14))
        try east.add(Member(id: 1, joinedAt: noon(0)))
        let before = try #require(east.entry(1))
        // 9999-12-31T23:59:59.999Z is 10000-01-01 at UTC+14.
        #expect(throws: FissionError(code: .invalidDate)) {
            try east.record(ActivityRecord(member: 1, at: .latest, kind: .use))
        }
        #expect(east.entry(1) == before)
        try east.record(
            ActivityRecord(member: 1, at: Timestamp.latest.adding(milliseconds: -14 * 3_600_000), kind: .use)
        )
        let entry = try #require(east.entry(1))
        #expect(entry.stats.lastUseDay == CalendarDay.last)
        #expect(try JSONDecoder().decode(MemberRoster.Entry.self, from: JSONEncoder().encode(entry)) == entry)
    }

    @Test func trailingWindowsMatchABruteForceRecount() throws {
        let seed: UInt64 = 0x5EED_0101
        var generator = SeededGenerator(seed: seed)
        var stats = ActivityStats(currency: .cny, retainedDays: 21)
        var log: [(day: Int64, kind: ActivityRecord.Kind)] = []
        var latest: Int64 = 0
        for step in 0..<3_000 {
            // Mostly forward in time, sometimes late records.
            let day = max(0, latest + generator.next(in: -30...3))
            latest = max(latest, day)
            let kind: ActivityRecord.Kind =
                switch generator.next(below: 4) {
                case 0: .use
                case 1: .invite
                case 2: .message
                default: .spend(Money(minorUnits: generator.next(in: 0...10_000), currency: .cny))
                }
            try stats.record(kind, on: dayNumber(day))
            log.append((day, kind))
            let window = Int64(generator.next(in: 1...21))
            let end = try dayNumber(latest + generator.next(in: 0...3))
            let summary = stats.summary(windowDays: Int(window), endingOn: end)
            var expected = ActivitySummary.empty(.cny)
            for entry in log {
                let entryDay = try dayNumber(entry.day)
                guard entryDay <= end, entryDay.days(until: end) < window else { continue }
                switch entry.kind {
                case .use: expected.uses += 1
                case .invite: expected.invites += 1
                case .message: expected.messages += 1
                case .spend(let amount): expected.spend = try expected.spend.adding(amount)
                }
            }
            #expect(summary == expected, "seed \(seed) step \(step)")
            #expect(stats.days.count <= 21, "seed \(seed) step \(step)")
        }
        #expect(stats.lifetime.uses + stats.lifetime.invites + stats.lifetime.messages <= 3_000)
    }

    @Test func segmentsPageInJoinOrder() throws {
        var roster = MemberRoster(policy: try makePolicy(), offset: beijing)
        let shanghai = try MemberTag.region("shanghai")
        let running = try MemberTag.interest("night running")
        for index in Int64(0)..<25 {
            var tags: [MemberTag] = []
            if index % 2 == 0 { tags.append(shanghai) }
            if index % 3 == 0 { tags.append(running) }
            try roster.add(Member(id: MemberID(index), joinedAt: noon(index), tags: TagSet(tags)))
            if index % 5 == 0 {
                try roster.record(ActivityRecord(member: MemberID(index), at: noon(30), kind: .message))
            }
        }
        let segment = Segment(allTags: [shanghai], activeSince: try dayNumber(29))
        let first = try roster.members(in: segment, limit: 2)
        #expect(first.members.map(\.id) == [0, 10])
        let second = try roster.members(in: segment, after: first.next, limit: 2)
        #expect(second.members.map(\.id) == [20])
        #expect(second.next == nil)

        let either = Segment(anyTags: [shanghai, running], joinedAtOrAfter: try noon(10), joinedBefore: try noon(16))
        #expect(try roster.members(in: either, limit: 100).members.map(\.id) == [10, 12, 14, 15])
        #expect(try roster.members(in: Segment(layers: [.core]), limit: 100).members.isEmpty)
        #expect(throws: FissionError(code: .invalidPageSize)) { try roster.members(in: Segment(), limit: 0) }
        #expect(throws: FissionError(code: .invalidPageSize)) { try roster.members(in: Segment(), limit: 10_001) }
    }

    @Test func replacingThePolicyKeepsItsCurrency() throws {
        var roster = MemberRoster(policy: try makePolicy(), offset: beijing)
        let dollarPolicy = try LayeringPolicy(
            tiers: [],
            fallback: .ordinary,
            windowDays: 7,
            graceDays: 0,
            currency: .usd
        )
        #expect(throws: FissionError(code: .invalidLayeringPolicy)) { try roster.replacePolicy(dollarPolicy) }
        try roster.replacePolicy(makePolicy(graceDays: 1))
        #expect(roster.policy.graceDays == 1)
    }

    @Test func aShorterWindowKeepsWhatIsKeptAndEntriesStillDecode() throws {
        var roster = MemberRoster(policy: try corePolicy(windowDays: 30, minimumUses: 2), offset: beijing)
        try roster.add(Member(id: 1, joinedAt: noon(0)))
        try roster.record(ActivityRecord(member: 1, at: noon(0), kind: .use))
        try roster.record(ActivityRecord(member: 1, at: noon(25), kind: .use))
        try roster.replacePolicy(corePolicy(windowDays: 10, minimumUses: 2))
        try roster.replacePolicy(corePolicy(windowDays: 20, minimumUses: 2))
        let entry = try #require(roster.entry(1))
        #expect(entry.stats.retainedDays == 30, "days 0...25 are kept")
        #expect(entry.stats.days.count == 2)
        #expect(try JSONDecoder().decode(MemberRoster.Entry.self, from: JSONEncoder().encode(entry)) == entry)
        // A member added under the shorter window keeps that window's days.
        try roster.add(Member(id: 2, joinedAt: noon(26)))
        #expect(roster.entry(2)?.stats.retainedDays == 20)
        try roster.replacePolicy(corePolicy(windowDays: 40, minimumUses: 2))
        #expect(roster.entry(1)?.stats.retainedDays == 40)
        #expect(roster.entry(2)?.stats.retainedDays == 40)
    }
}

struct MemberValueTests {
    @Test(arguments: ["", String(repeating: "a", count: 65), "bad\u{7}"])
    func malformedTagsAreRefused(text: String) {
        #expect(throws: FissionError(code: .invalidTag)) { try MemberTag(category: "region", value: text) }
        #expect(throws: FissionError(code: .invalidTag)) { try MemberTag(category: text, value: "x") }
    }

    @Test func tagSetsAreSortedAndUnique() throws {
        let running = try MemberTag.interest("night running")
        let slimming = try MemberTag.interest("slimming")
        var tags = try TagSet([slimming, running, slimming])
        #expect(tags.elements == [running, slimming])
        #expect(tags.contains(running) && tags.contains(category: "interest") && !tags.contains(category: "region"))
        #expect(try tags.insert(running) == false)
        let removed = tags.remove(running)
        #expect(removed)
        #expect(tags.elements == [slimming])
        let many = try (0..<65).map { try MemberTag(category: "n", value: String($0)) }
        #expect(throws: FissionError(code: .invalidTag)) { try TagSet(many) }
    }

    @Test(
        "Raw personal data is refused as a fingerprint",
        arguments: [
            "13800138000", "alice@example.com", String(repeating: "g", count: 64), String(repeating: "a", count: 129),
        ]
    )
    func rawDataIsNotAFingerprint(text: String) {
        #expect(throws: FissionError(code: .invalidFingerprint)) { try Fingerprint(hex: text) }
    }

    @Test func fingerprintsAreNormalizedAndShared() throws {
        let upper = try Fingerprint(hex: String(repeating: "AB", count: 16))
        let lower = try Fingerprint(hex: String(repeating: "ab", count: 16))
        #expect(upper == lower)
        let other = try Fingerprint(hex: String(repeating: "cd", count: 16))
        let first = try RiskSignals(phoneHashes: [upper], deviceHashes: [other])
        let second = try RiskSignals(deviceHashes: [other])
        #expect(first.sharesFingerprint(with: second))
        #expect(!first.sharesFingerprint(with: try RiskSignals(phoneHashes: [other])))
        #expect(throws: FissionError(code: .invalidFingerprint)) {
            try RiskSignals(
                phoneHashes: (0..<17).map {
                    try Fingerprint(
                        hex: String(repeating: "0", count: 31) + String($0, radix: 16)
                            + String(repeating: "0", count: 1)
                    )
                }
            )
        }
    }

    @Test func layerAndChannelNamesAreValidated() {
        #expect(throws: FissionError(code: .invalidName)) { try Layer("") }
        #expect(throws: FissionError(code: .invalidName)) { try JoinSource(channel: String(repeating: "c", count: 65)) }
    }

    @Test func membersRoundTripThroughJSON() throws {
        let member = Member(
            id: "openid-123",
            joinedAt: try noon(3),
            source: try JoinSource(channel: "store-qr", invitedBy: 7, group: "acquisition-1"),
            tags: [try .region("shanghai")],
            layer: .core,
            riskSignals: try RiskSignals(deviceHashes: [Fingerprint(hex: String(repeating: "0f", count: 32))])
        )
        let data = try JSONEncoder().encode(member)
        #expect(try JSONDecoder().decode(Member.self, from: data) == member)
    }
}
