/// A day of the proleptic Gregorian calendar, with no time and no zone.
///
/// A `CalendarDay` is what "today" means for a campaign: get it with
/// ``Timestamp/calendarDay(in:)`` in the campaign's ``UTCOffset``. Days are ordered, can be
/// counted between and moved by whole days. In JSON a day is the string `"2026-11-22"`.
public struct CalendarDay: Hashable, Comparable, Strideable, Sendable, Codable, CustomStringConvertible {
    /// Days since 1970-01-01 (which is day 0); negative before it.
    public let daysSinceEpoch: Int64

    /// Creates a day from its year, month and day of month.
    ///
    /// - Throws: ``FissionError/Code/invalidDate`` if the date does not exist (2026-02-29,
    ///   2026-13-01) or is outside years 1 to 9999.
    public init(year: Int, month: Int, day: Int) throws(FissionError) {
        guard (1...9999).contains(year), (1...12).contains(month),
            day >= 1, day <= Self.daysIn(month: month, year: year)
        else {
            throw FissionError(code: .invalidDate, reason: "\(year)-\(month)-\(day) is not a date in years 1 to 9999")
        }
        self.daysSinceEpoch = Self.daysFromCivil(year: Int64(year), month: Int64(month), day: Int64(day))
    }

    /// Reads a day written as `YYYY-MM-DD`.
    ///
    /// - Throws: ``FissionError/Code/invalidDate`` for any other shape or a date that does not exist.
    public init(parsing text: String) throws(FissionError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else {
            throw FissionError(code: .invalidDate, reason: "\"\(text)\" is not a date like 2026-11-22")
        }
        try self.init(year: year, month: month, day: day)
    }

    /// A day computed by Fission from a valid timestamp or day; always near years 1 to 9999.
    package init(unchecked daysSinceEpoch: Int64) {
        self.daysSinceEpoch = daysSinceEpoch
    }

    /// The day `daysSinceEpoch` days from 1970-01-01, or `nil` outside years 1 to 9999: for days
    /// read back from bytes.
    package init?(daysSinceEpoch: Int64) {
        guard daysSinceEpoch >= Self.first.daysSinceEpoch, daysSinceEpoch <= Self.last.daysSinceEpoch else {
            return nil
        }
        self.daysSinceEpoch = daysSinceEpoch
    }

    /// The year, month (1 to 12) and day of month (1 to 31).
    public var components: (year: Int, month: Int, day: Int) {
        // Howard Hinnant's civil_from_days.
        let shifted = self.daysSinceEpoch + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    /// The day of the week, 1 for Monday through 7 for Sunday (ISO 8601).
    public var isoWeekday: Int {
        // 1970-01-01 was a Thursday (4).
        let index = (self.daysSinceEpoch + 3) % 7
        return Int(index < 0 ? index + 7 : index) + 1
    }

    /// The first instant of this day for a clock at `offset` from UTC.
    public func start(in offset: UTCOffset) -> Timestamp {
        Timestamp(unchecked: self.daysSinceEpoch * Timestamp.millisecondsPerDay - Int64(offset.seconds) * 1_000)
    }

    /// The day `days` after this one (before it when negative).
    ///
    /// - Throws: ``FissionError/Code/invalidDate`` if the result leaves years 1 to 9999.
    public func adding(days: Int64) throws(FissionError) -> CalendarDay {
        let (sum, overflow) = self.daysSinceEpoch.addingReportingOverflow(days)
        guard !overflow, sum >= Self.first.daysSinceEpoch, sum <= Self.last.daysSinceEpoch else {
            throw FissionError(code: .invalidDate, reason: "\(self) + \(days) days leaves years 1 to 9999")
        }
        return CalendarDay(unchecked: sum)
    }

    /// Whole days from this day to `other`: 1 from a day to the next.
    public func days(until other: CalendarDay) -> Int64 {
        other.daysSinceEpoch - self.daysSinceEpoch
    }

    /// 0001-01-01.
    public static let first = CalendarDay(unchecked: -719_162)
    /// 9999-12-31.
    public static let last = CalendarDay(unchecked: 2_932_896)

    /// Whether `year` has a 29th of February.
    public static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    /// The number of days in `month` of `year`.
    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// The day as `YYYY-MM-DD`.
    public var description: String {
        let (year, month, day) = self.components
        return "\(pad(Int64(year), 4))-\(pad(Int64(month), 2))-\(pad(Int64(day), 2))"
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    public func distance(to other: CalendarDay) -> Int64 { self.days(until: other) }

    public func advanced(by days: Int64) -> CalendarDay {
        CalendarDay(unchecked: self.daysSinceEpoch + days)
    }

    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        // Howard Hinnant's days_from_civil.
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.reason)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.description)
    }
}
