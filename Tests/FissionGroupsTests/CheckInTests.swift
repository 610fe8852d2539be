import FissionCore
import FissionGroups
import FissionMembers
import Foundation
import Testing

struct CheckInTests {
    /// An instant given as a local date and time at `offset`.
    func local(_ year: Int, _ month: Int, _ day: Int, _ milliseconds: Int64, _ offset: UTCOffset) throws -> Timestamp {
        try CalendarDay(year: year, month: month, day: day).start(in: offset).adding(milliseconds: milliseconds)
    }

    static let lastMillisecond: Int64 = 86_399_999

    static let offsets: [UTCOffset] = [
        .utc, .chinaStandardTime, try! UTCOffset(hours: -3, minutes: -30), try! UTCOffset(hours: 14),
        try! UTCOffset(hours: -12), try! UTCOffset(hours: 5, minutes: 45),
    ]

    @Test(arguments: CheckInTests.offsets)
    func daysAreCountedInTheGroupsOffset(offset: UTCOffset) throws {
        var board = CheckInBoard(offset: offset)
        let someone = Member(id: "m", joinedAt: try local(2026, 1, 1, 0, offset))
        let lastMoment = try local(2026, 3, 10, Self.lastMillisecond, offset)
        #expect(
            try board.checkIn(someone, activity: "run", at: lastMoment).day
                == CalendarDay(year: 2026, month: 3, day: 10)
        )
        #expect(throws: FissionError(code: .alreadyCheckedIn)) {
            try board.checkIn(someone, activity: "run", at: self.local(2026, 3, 10, 0, offset))
        }
        // One millisecond later is the next day, and the streak goes on.
        let receipt = try board.checkIn(someone, activity: "run", at: lastMoment.adding(milliseconds: 1))
        #expect(try receipt.day == CalendarDay(year: 2026, month: 3, day: 11))
        #expect(receipt.streak.current == 2)
        // Another activity is counted apart.
        #expect(try board.checkIn(someone, activity: "post", at: lastMoment).streak.current == 1)
    }

    @Test("an instant whose day in the board's offset is outside years 1 to 9999 is invalidDate")
    func daysOutsideTheCalendar() throws {
        var late = CheckInBoard(offset: .chinaStandardTime)
        let lateInstant = try Timestamp(millisecondsSinceEpoch: 253_402_272_000_000)  // 9999-12-31T16:00Z
        let someone = Member(id: "m", joinedAt: .earliest)
        #expect(throws: FissionError(code: .invalidDate)) {
            try late.checkIn(someone, activity: "run", at: lateInstant)
        }
        // One millisecond earlier is still 9999-12-31 there.
        #expect(try late.checkIn(someone, activity: "run", at: lateInstant.adding(milliseconds: -1)).day == .last)
        var early = CheckInBoard(offset: try UTCOffset(hours: -5))
        #expect(throws: FissionError(code: .invalidDate)) {
            try early.checkIn(someone, activity: "run", at: .earliest)
        }
        #expect(early.streakCount == 0)
    }

    @Test("a board's capacity: full past it, room after forget, kept through Codable")
    func capacity() throws {
        var board = try CheckInBoard(offset: .utc, capacity: 2)
        let joined = try Timestamp(millisecondsSinceEpoch: 0)
        let day = try Timestamp(millisecondsSinceEpoch: 10 * Timestamp.millisecondsPerDay)
        for name in ["a", "b"] {
            _ = try board.checkIn(Member(id: try MemberID(name), joinedAt: joined), activity: "run", at: day)
        }
        let carol = Member(id: "c", joinedAt: joined)
        #expect(throws: FissionError(code: .checkInBoardFull)) { try board.checkIn(carol, activity: "run", at: day) }
        #expect(throws: FissionError(code: .invalidCheckInSettings)) { try board.setCapacity(0) }
        #expect(throws: FissionError(code: .invalidCheckInSettings)) { try CheckInBoard(offset: .utc, capacity: 0) }
        let json = try JSONEncoder().encode(board)
        #expect(try JSONDecoder().decode(CheckInBoard.self, from: json) == board)
        // A lower capacity keeps the pairs the board tracks and refuses new ones until forget
        // brings it below; so does its Codable form.
        try board.setCapacity(1)
        #expect(board.streakCount == 2)
        let lowered = try JSONEncoder().encode(board)
        #expect(try JSONDecoder().decode(CheckInBoard.self, from: lowered) == board)
        board.forget("a")
        #expect(throws: FissionError(code: .checkInBoardFull)) { try board.checkIn(carol, activity: "run", at: day) }
        board.forget("b")
        #expect(try board.checkIn(carol, activity: "run", at: day).streak.current == 1)
        // A board of the default capacity writes none, as boards did before capacities.
        let plain = try JSONSerialization.jsonObject(with: JSONEncoder().encode(CheckInBoard(offset: .utc)))
        #expect((plain as? [String: Any])?["capacity"] == nil)
        // A capacity below 1 is refused.
        var object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        for capacity in [0, -1] {
            object["capacity"] = capacity
            #expect(throws: DecodingError.self) {
                try JSONDecoder().decode(CheckInBoard.self, from: JSONSerialization.data(withJSONObject: object))
            }
        }
    }

    static let boundaries: [(String, (Int, Int, Int), Int)] = [
        ("month end", (2026, 1, 30), 4),
        ("leap day", (2028, 2, 27), 4),
        ("no leap day", (2100, 2, 27), 4),
        ("year end", (2026, 12, 30), 4),
        ("leap year 2000", (2000, 2, 28), 3),
    ]

    @Test(arguments: CheckInTests.boundaries)
    func streaksRunAcrossMonthEndsAndLeapDays(name: String, start: (Int, Int, Int), days: Int) throws {
        var board = CheckInBoard(
            offset: .chinaStandardTime,
            settings: try CheckInSettings(milestones: [3, 4], makeUpsPerMonth: 0)
        )
        let first = try CalendarDay(year: start.0, month: start.1, day: start.2)
        let someone = Member(id: "m", joinedAt: first.start(in: .chinaStandardTime))
        var milestones: [Int] = []
        for index in 0..<days {
            let day = try first.adding(days: Int64(index))
            let receipt = try board.checkIn(
                someone,
                activity: "run",
                at: day.start(in: .chinaStandardTime).adding(milliseconds: 3_600_000)
            )
            #expect(receipt.streak.current == index + 1, "\(name) \(day)")
            milestones += receipt.milestonesReached
        }
        #expect(milestones == [3, 4].filter { $0 <= days }, "\(name)")
        let dayAfter = try first.adding(days: Int64(days))
        #expect(board.streak(of: "m", activity: "run", asOf: dayAfter.start(in: .chinaStandardTime)).current == days)
        let twoAfter = try first.adding(days: Int64(days + 1)).start(in: .chinaStandardTime)
        let broken = board.streak(of: "m", activity: "run", asOf: twoAfter)
        #expect(broken.current == 0 && broken.longest == days, "\(name)")
    }

    @Test func makeUpsJoinRunsAndAreLimitedPerMonth() throws {
        var board = CheckInBoard(offset: .utc, settings: try CheckInSettings(milestones: [3, 5], makeUpsPerMonth: 1))
        let someone = Member(id: "m", joinedAt: try local(2026, 3, 1, 0, .utc))
        let noon: Int64 = 12 * 3_600_000
        for day in [1, 2, 4, 5] { _ = try board.checkIn(someone, activity: "run", at: local(2026, 3, day, noon, .utc)) }
        let now = try local(2026, 3, 5, noon + 1, .utc)
        let receipt = try board.makeUp(
            someone,
            activity: "run",
            day: CalendarDay(year: 2026, month: 3, day: 3),
            at: now
        )
        #expect(receipt.isMakeUp && receipt.streak.current == 5 && receipt.milestonesReached == [3, 5])
        #expect(throws: FissionError(code: .makeUpNotAllowed)) {
            try board.makeUp(someone, activity: "run", day: CalendarDay(year: 2026, month: 3, day: 6), at: now)
        }
        var second = board
        _ = try second.checkIn(someone, activity: "run", at: local(2026, 3, 8, noon, .utc))
        #expect(throws: FissionError(code: .makeUpNotAllowed)) {
            try second.makeUp(
                someone,
                activity: "run",
                day: CalendarDay(year: 2026, month: 3, day: 7),
                at: self.local(2026, 3, 8, noon, .utc)
            )
        }
        // A new month brings new make-ups, but not for last month's days.
        _ = try board.checkIn(someone, activity: "run", at: local(2026, 4, 2, noon, .utc))
        #expect(throws: FissionError(code: .makeUpNotAllowed)) {
            try board.makeUp(
                someone,
                activity: "run",
                day: CalendarDay(year: 2026, month: 3, day: 31),
                at: self.local(2026, 4, 2, noon, .utc)
            )
        }
        let april = try board.makeUp(
            someone,
            activity: "run",
            day: CalendarDay(year: 2026, month: 4, day: 1),
            at: local(2026, 4, 2, noon, .utc)
        )
        #expect(april.streak.current == 2)
    }

    @Test func badCheckInsThrowAndChangeNothing() throws {
        var board = CheckInBoard(offset: .chinaStandardTime)
        let someone = Member(id: "m", joinedAt: try hour(48))
        #expect(throws: FissionError(code: .checkInBeforeJoin)) {
            try board.checkIn(someone, activity: "run", at: hour(47))
        }
        _ = try board.checkIn(someone, activity: "run", at: hour(24 * 5))
        #expect(throws: FissionError(code: .checkInOutOfOrder)) {
            try board.checkIn(someone, activity: "run", at: hour(24 * 4))
        }
        #expect(throws: FissionError(code: .alreadyCheckedIn)) {
            try board.checkIn(someone, activity: "run", at: hour(24 * 5 + 23))
        }
        #expect(throws: FissionError(code: .checkInBeforeJoin)) {
            try board.makeUp(
                someone,
                activity: "run",
                day: CalendarDay(year: 2026, month: 11, day: 1),
                at: hour(24 * 5)
            )
        }
        #expect(throws: FissionError(code: .makeUpNotAllowed)) {
            try board.makeUp(
                someone,
                activity: "run",
                day: CalendarDay(year: 2026, month: 11, day: 6),
                at: hour(24 * 5)
            )
        }
        let streak = board.streak(of: "m", activity: "run", asOf: try hour(24 * 5))
        let lastDay = try CalendarDay(year: 2026, month: 11, day: 6)
        #expect(streak.current == 1 && streak.longest == 1 && streak.lastDay == lastDay)
        #expect(throws: FissionError(code: .invalidCheckInSettings)) {
            try CheckInSettings(milestones: [3, 3], makeUpsPerMonth: 1)
        }
        #expect(throws: FissionError(code: .invalidCheckInSettings)) {
            try CheckInSettings(milestones: [0], makeUpsPerMonth: 1)
        }
        #expect(throws: FissionError(code: .invalidCheckInSettings)) {
            try CheckInSettings(milestones: [3], makeUpsPerMonth: 32)
        }
    }

    /// Make-ups while the host's clock is behind the member's latest check-in would record a day
    /// twice once old runs are dropped; they are refused.
    @Test func makeUpsWithAClockBehindTheLatestCheckInAreRefused() throws {
        var board = CheckInBoard(offset: .utc, settings: try CheckInSettings(milestones: [3], makeUpsPerMonth: 5))
        let someone = Member(id: "m", joinedAt: try local(2026, 1, 1, 0, .utc))
        let noon: Int64 = 12 * 3_600_000
        _ = try board.checkIn(someone, activity: "run", at: local(2026, 1, 10, noon, .utc))
        _ = try board.checkIn(someone, activity: "run", at: local(2026, 3, 31, noon, .utc))
        let before = board
        // Jan 10's run was dropped when Mar 31 came in; a clock saying Jan 20 may not refill it.
        #expect(throws: FissionError(code: .checkInOutOfOrder)) {
            try board.makeUp(
                someone,
                activity: "run",
                day: CalendarDay(year: 2026, month: 1, day: 10),
                at: self.local(2026, 1, 20, noon, .utc)
            )
        }
        #expect(board == before)

        var other = CheckInBoard(offset: .utc, settings: try CheckInSettings(milestones: [3], makeUpsPerMonth: 5))
        _ = try other.checkIn(someone, activity: "run", at: local(2026, 1, 10, noon, .utc))
        #expect(throws: FissionError(code: .checkInOutOfOrder)) {
            try other.makeUp(
                someone,
                activity: "run",
                day: CalendarDay(year: 2026, month: 1, day: 3),
                at: self.local(2026, 1, 5, noon, .utc)
            )
        }
        // With the clock right again, the same make-up is fine.
        let receipt = try other.makeUp(
            someone,
            activity: "run",
            day: CalendarDay(year: 2026, month: 1, day: 9),
            at: local(2026, 1, 10, noon + 1, .utc)
        )
        #expect(receipt.streak.current == 2)
    }

    /// A random walk of check-ins and make-ups, some with a clock that went back: no day is ever
    /// recorded twice, so the longest streak never outgrows the distinct days.
    @Test(arguments: propertySeeds(from: 1, ciCount: 4))
    func noDayIsRecordedTwiceWhateverTheClockSays(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        var board = CheckInBoard(
            offset: .chinaStandardTime,
            settings: try CheckInSettings(milestones: [2], makeUpsPerMonth: 31)
        )
        let start = try CalendarDay(year: 2026, month: 1, day: 1)
        let someone = Member(id: "m", joinedAt: start.start(in: .chinaStandardTime))
        var recorded: [Int64] = []
        for step in 0..<300 {
            let today = try start.adding(days: generator.next(in: 0...200))
            let now = try today.start(in: .chinaStandardTime).adding(milliseconds: 3_600_000)
            if generator.next(below: 2) == 0 {
                if let receipt = try? board.checkIn(someone, activity: "run", at: now) {
                    recorded.append(receipt.day.daysSinceEpoch)
                }
            } else {
                let day = try today.adding(days: -generator.next(in: 1...27))
                if let receipt = try? board.makeUp(someone, activity: "run", day: day, at: now) {
                    recorded.append(receipt.day.daysSinceEpoch)
                }
            }
            #expect(Set(recorded).count == recorded.count, "seed \(seed) step \(step): a day recorded twice")
        }
    }

    /// The group's join, not only the community's, bounds check-ins and make-ups.
    @Test func checkInsMayNotPredateTheGroupJoin() throws {
        var directory = GroupDirectory(policy: try makePolicy())
        try directory.addSeries(GroupSeries(id: "s", name: "S", purpose: .core, maximumGroups: 1))
        try directory.openGroup(in: "s")
        let someone = Member(id: "m", joinedAt: try local(2026, 1, 1, 0, .utc))
        try directory.join(someone, into: .group("s-1"), at: local(2026, 3, 10, 3_600_000, .chinaStandardTime))
        let since = try #require(directory.membership(of: "m", in: "s-1")?.since)
        var board = CheckInBoard(offset: .chinaStandardTime)
        #expect(throws: FissionError(code: .checkInBeforeJoin)) {
            try board.checkIn(someone, activity: "run", at: since.adding(milliseconds: -1), inGroupSince: since)
        }
        let now = try local(2026, 3, 12, 3_600_000, .chinaStandardTime)
        #expect(throws: FissionError(code: .checkInBeforeJoin)) {
            try board.makeUp(
                someone,
                activity: "run",
                day: CalendarDay(year: 2026, month: 3, day: 9),
                at: now,
                inGroupSince: since
            )
        }
        // The day of the group join itself may be made up.
        let receipt = try board.makeUp(
            someone,
            activity: "run",
            day: CalendarDay(year: 2026, month: 3, day: 10),
            at: now,
            inGroupSince: since
        )
        #expect(receipt.isMakeUp)
        // Without the group join, only the community join (Jan 1) bounds a make-up.
        #expect(
            try board.makeUp(someone, activity: "run", day: CalendarDay(year: 2026, month: 3, day: 9), at: now).isMakeUp
        )
    }

    static let monthEnds: [(String, UTCOffset, (Int, Int, Int))] = [
        ("UTC-03:30, March", try! UTCOffset(hours: -3, minutes: -30), (2026, 3, 31)),
        ("UTC+14, March", try! UTCOffset(hours: 14), (2026, 3, 31)),
        ("UTC+08:00, leap February", .chinaStandardTime, (2028, 2, 29)),
        ("UTC-12, February", try! UTCOffset(hours: -12), (2027, 2, 28)),
        ("UTC+05:45, December", try! UTCOffset(hours: 5, minutes: 45), (2026, 12, 31)),
    ]

    /// At the last millisecond of a month, in the group's offset, the month's days may be made up;
    /// one millisecond later it is the next month and they may not, whatever day it is in UTC.
    @Test(arguments: CheckInTests.monthEnds)
    func makeUpsFollowTheMonthInTheGroupsOffset(name: String, offset: UTCOffset, last: (Int, Int, Int)) throws {
        let lastDay = try CalendarDay(year: last.0, month: last.1, day: last.2)
        let someone = Member(id: "m", joinedAt: try lastDay.adding(days: -40).start(in: offset))
        let settings = try CheckInSettings(milestones: [3], makeUpsPerMonth: 3)
        var board = CheckInBoard(offset: offset, settings: settings)
        let lastMoment = try local(last.0, last.1, last.2, Self.lastMillisecond, offset)
        let dayBefore = try lastDay.adding(days: -1)
        _ = try board.checkIn(someone, activity: "run", at: lastDay.adding(days: -2).start(in: offset))
        var afterMidnight = board
        let receipt = try board.makeUp(someone, activity: "run", day: dayBefore, at: lastMoment)
        #expect(receipt.streak.current == 2, "\(name)")
        // The last day itself is today: not a make-up.
        #expect(throws: FissionError(code: .makeUpNotAllowed), "\(name)") {
            try board.makeUp(someone, activity: "run", day: lastDay, at: lastMoment)
        }
        let nextMonth = try lastMoment.adding(milliseconds: 1)
        #expect(nextMonth.calendarDay(in: offset) == (try lastDay.adding(days: 1)), "\(name)")
        for day in [dayBefore, lastDay] {
            #expect(throws: FissionError(code: .makeUpNotAllowed), "\(name) \(day)") {
                try afterMidnight.makeUp(someone, activity: "run", day: day, at: nextMonth)
            }
        }
        // The new month's first day may be made up the next day, and joins last month's streak.
        _ = try afterMidnight.makeUp(someone, activity: "run", day: dayBefore, at: lastMoment)
        _ = try afterMidnight.checkIn(someone, activity: "run", at: lastMoment)
        let firstOfMonth = try lastDay.adding(days: 1)
        let joined = try afterMidnight.makeUp(
            someone,
            activity: "run",
            day: firstOfMonth,
            at: firstOfMonth.adding(days: 1).start(in: offset)
        )
        #expect(joined.streak.current == 4 && joined.milestonesReached.isEmpty, "\(name)")
    }

    @Test func boardsLimitTheirStreaksAndForgetMembers() throws {
        var board = CheckInBoard(offset: .utc)
        let someone = Member(id: "m", joinedAt: try local(2026, 1, 1, 0, .utc))
        _ = try board.checkIn(someone, activity: "run", at: local(2026, 1, 1, 0, .utc))
        _ = try board.checkIn(someone, activity: "post", at: local(2026, 1, 1, 0, .utc))
        #expect(board.streakCount == 2)
        board.forget("m")
        #expect(board.streakCount == 0)
        #expect(board.streak(of: "m", activity: "run", asOf: try local(2026, 1, 1, 0, .utc)).longest == 0)
        #expect(CheckInBoard.maximumStreaks == 1 << 20)
    }
}
