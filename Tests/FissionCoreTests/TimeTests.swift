import FissionCore
import Foundation
import Testing

struct CalendarDayTests {
    @Test func componentsRoundTripOverEveryDayOfFourCenturies() throws {
        // Walk day by day with a naive calendar and compare: covers every month end and leap rule.
        var (year, month, day) = (1899, 12, 31)
        var calendarDay = try CalendarDay(year: 1899, month: 12, day: 31)
        for _ in 0..<(400 * 366) {
            let components = calendarDay.components
            #expect(components.year == year && components.month == month && components.day == day, "\(calendarDay)")
            day += 1
            if day > CalendarDay.daysIn(month: month, year: year) {
                day = 1
                month += 1
                if month > 12 {
                    month = 1
                    year += 1
                }
            }
            calendarDay = try calendarDay.adding(days: 1)
        }
        #expect(try CalendarDay(year: year, month: month, day: day) == calendarDay)
    }

    @Test func knownDays() throws {
        #expect(try CalendarDay(year: 1970, month: 1, day: 1).daysSinceEpoch == 0)
        #expect(try CalendarDay(year: 2000, month: 3, day: 1).daysSinceEpoch == 11_017)
        #expect(try CalendarDay(year: 1, month: 1, day: 1) == .first)
        #expect(try CalendarDay(year: 9999, month: 12, day: 31) == .last)
        #expect(try CalendarDay(year: 2026, month: 11, day: 22).isoWeekday == 7)  // a Sunday
        #expect(try CalendarDay(year: 1969, month: 12, day: 29).isoWeekday == 1)  // a Monday
        #expect(try CalendarDay(parsing: "2024-02-29").description == "2024-02-29")
    }

    @Test(
        "Dates that do not exist are refused",
        arguments: [
            (2026, 2, 29), (2100, 2, 29), (2026, 13, 1), (2026, 0, 1), (2026, 4, 31), (0, 1, 1), (10_000, 1, 1),
        ]
    )
    func invalidDates(year: Int, month: Int, day: Int) {
        #expect(throws: FissionError(code: .invalidDate)) { try CalendarDay(year: year, month: month, day: day) }
    }

    @Test(arguments: ["2026-2-1", "2026-02-30", "20260201", "2026-02-01T00:00", "", "-026-02-01", "2026-+2-01"])
    func malformedDayText(text: String) {
        #expect(throws: FissionError(code: .invalidDate)) { try CalendarDay(parsing: text) }
    }

    @Test func movingPastTheCalendarIsAnError() {
        #expect(throws: FissionError(code: .invalidDate)) { try CalendarDay.last.adding(days: 1) }
        #expect(throws: FissionError(code: .invalidDate)) { try CalendarDay.first.adding(days: -1) }
        #expect(throws: FissionError(code: .invalidDate)) { try CalendarDay.first.adding(days: .max) }
    }

    @Test func dayRoundTripsThroughJSONAsText() throws {
        let day = try CalendarDay(year: 2026, month: 11, day: 22)
        let data = try JSONEncoder().encode([day])
        #expect(String(decoding: data, as: UTF8.self) == #"["2026-11-22"]"#)
        #expect(try JSONDecoder().decode([CalendarDay].self, from: data) == [day])
    }
}

struct TimestampTests {
    @Test func calendarDayDependsOnTheOffset() throws {
        let beijing = UTCOffset.chinaStandardTime
        // 2026-11-21T15:59:59.999Z is 23:59:59.999 in Beijing; one millisecond later is the 22nd.
        let lastMoment = try Timestamp(millisecondsSinceEpoch: 1_763_740_799_999)
        #expect(lastMoment.description == "2025-11-21T15:59:59.999Z")
        #expect(lastMoment.calendarDay(in: beijing).description == "2025-11-21")
        let midnight = try lastMoment.adding(milliseconds: 1)
        #expect(midnight.calendarDay(in: beijing).description == "2025-11-22")
        #expect(midnight.calendarDay(in: .utc).description == "2025-11-21")
        #expect(midnight.calendarDay(in: beijing).start(in: beijing) == midnight)
    }

    @Test func negativeTimestampsFloorToTheRightDay() throws {
        let beforeEpoch = try Timestamp(millisecondsSinceEpoch: -1)
        #expect(beforeEpoch.calendarDay(in: .utc).description == "1969-12-31")
        #expect(beforeEpoch.description == "1969-12-31T23:59:59.999Z")
        let newYork = try UTCOffset(hours: -5)
        #expect(
            try Timestamp(millisecondsSinceEpoch: 4 * 3_600_000).calendarDay(in: newYork).description == "1969-12-31"
        )
    }

    @Test func startOfDayAndDayAgreeForRandomInstants() throws {
        var generator = SeededGenerator(seed: 0x5EED_0004)
        let offsets = try [-12 * 60, -210, 0, 345, 480, 14 * 60].map { try UTCOffset(seconds: $0 * 60) }
        for caseNumber in 0..<10_000 {
            let instant = try Timestamp(
                millisecondsSinceEpoch: generator.next(
                    in: Timestamp.earliest.millisecondsSinceEpoch...Timestamp.latest.millisecondsSinceEpoch
                )
            )
            let offset = offsets[Int(generator.next(below: UInt64(offsets.count)))]
            let day = instant.calendarDay(in: offset)
            let start = day.start(in: offset)
            #expect(start <= instant, "seed 0x5EED0004 case \(caseNumber)")
            #expect(
                instant.milliseconds(since: start) < Timestamp.millisecondsPerDay,
                "seed 0x5EED0004 case \(caseNumber)"
            )
        }
    }

    @Test func timestampsOutsideYearsOneTo9999AreRefused() {
        #expect(throws: FissionError(code: .invalidDate)) { try Timestamp(millisecondsSinceEpoch: .max) }
        #expect(throws: FissionError(code: .invalidDate)) {
            try Timestamp(millisecondsSinceEpoch: Timestamp.earliest.millisecondsSinceEpoch - 1)
        }
        #expect(throws: FissionError(code: .invalidDate)) { try Timestamp(secondsSinceEpoch: .max) }
        #expect(throws: FissionError(code: .invalidDate)) { try Timestamp.latest.adding(milliseconds: 1) }
        #expect(throws: FissionError(code: .invalidDate)) { try Timestamp.latest.adding(days: .max) }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([Timestamp].self, from: Data("[\(Int64.max)]".utf8))
        }
    }

    @Test func leapDayAndYearEnd() throws {
        let leapDay = try CalendarDay(year: 2028, month: 2, day: 29)
        #expect(try leapDay.adding(days: 1).description == "2028-03-01")
        #expect(try leapDay.adding(days: -60).description == "2027-12-31")
        let start = leapDay.start(in: .chinaStandardTime)
        #expect(start.description == "2028-02-28T16:00:00.000Z")
    }
}

struct UTCOffsetTests {
    @Test(arguments: [-12 * 3_600 - 60, 14 * 3_600 + 60, 30, 3_601, Int.max])
    func invalidOffsetsAreRefused(seconds: Int) {
        #expect(throws: FissionError(code: .invalidUTCOffset)) { try UTCOffset(seconds: seconds) }
    }

    @Test(arguments: [(14, 30), (-3, 30), (15, 0), (0, 60), (5, -45)])
    func invalidHourMinuteOffsetsAreRefused(hours: Int, minutes: Int) {
        #expect(throws: FissionError(code: .invalidUTCOffset)) { try UTCOffset(hours: hours, minutes: minutes) }
    }

    @Test func textAndValidOffsets() throws {
        #expect(UTCOffset.chinaStandardTime.description == "+08:00")
        #expect(try UTCOffset(hours: -3, minutes: -30).description == "-03:30")
        #expect(try UTCOffset(hours: 5, minutes: 45).seconds == 20_700)
        #expect(try UTCOffset(hours: 0, minutes: -30).description == "-00:30")
        #expect(UTCOffset.utc.description == "+00:00")
    }
}
