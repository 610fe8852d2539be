import FissionCore
import FissionGroups
import FissionMembers
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
}
