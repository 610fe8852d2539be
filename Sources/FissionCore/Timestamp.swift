/// An instant in UTC, in whole milliseconds since 1970-01-01T00:00:00Z.
///
/// Fission never reads a clock: the host passes `now` in as a `Timestamp`, which keeps every
/// computation deterministic and replayable. Timestamps cover years 1 to 9999.
public struct Timestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Milliseconds in one day.
    public static let millisecondsPerDay: Int64 = 86_400_000

    /// The earliest accepted instant, 0001-01-01T00:00:00.000Z.
    public static let earliest = Timestamp(unchecked: -62_135_596_800_000)
    /// The latest accepted instant, 9999-12-31T23:59:59.999Z.
    public static let latest = Timestamp(unchecked: 253_402_300_799_999)

    /// Milliseconds since the Unix epoch; negative before 1970.
    public let millisecondsSinceEpoch: Int64

    /// Creates an instant from milliseconds since the Unix epoch.
    ///
    /// - Throws: ``FissionError/Code/invalidDate`` outside years 1 to 9999.
    public init(millisecondsSinceEpoch: Int64) throws(FissionError) {
        guard millisecondsSinceEpoch >= Self.earliest.millisecondsSinceEpoch,
            millisecondsSinceEpoch <= Self.latest.millisecondsSinceEpoch
        else {
            throw FissionError(
                code: .invalidDate,
                reason: "\(millisecondsSinceEpoch) ms since 1970 is outside years 1 to 9999"
            )
        }
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    /// Creates an instant from whole seconds since the Unix epoch.
    ///
    /// - Throws: ``FissionError/Code/invalidDate`` outside years 1 to 9999.
    public init(secondsSinceEpoch: Int64) throws(FissionError) {
        let (milliseconds, overflow) = secondsSinceEpoch.multipliedReportingOverflow(by: 1_000)
        guard !overflow else {
            throw FissionError(
                code: .invalidDate,
                reason: "\(secondsSinceEpoch) s since 1970 is outside years 1 to 9999"
            )
        }
        try self.init(millisecondsSinceEpoch: milliseconds)
    }

    /// An instant computed by Fission from valid inputs, which stays far inside `Int64`.
    package init(unchecked millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    /// This instant moved by `milliseconds` (negative moves back).
    ///
    /// - Throws: ``FissionError/Code/invalidDate`` if the result leaves years 1 to 9999.
    public func adding(milliseconds: Int64) throws(FissionError) -> Timestamp {
        let (sum, overflow) = self.millisecondsSinceEpoch.addingReportingOverflow(milliseconds)
        guard !overflow else {
            throw FissionError(code: .invalidDate, reason: "\(self) + \(milliseconds) ms leaves years 1 to 9999")
        }
        return try Timestamp(millisecondsSinceEpoch: sum)
    }

    /// This instant moved by whole days of 24 hours (negative moves back).
    ///
    /// - Throws: ``FissionError/Code/invalidDate`` if the result leaves years 1 to 9999.
    public func adding(days: Int64) throws(FissionError) -> Timestamp {
        let (milliseconds, overflow) = days.multipliedReportingOverflow(by: Self.millisecondsPerDay)
        guard !overflow else {
            throw FissionError(code: .invalidDate, reason: "\(self) + \(days) days leaves years 1 to 9999")
        }
        return try self.adding(milliseconds: milliseconds)
    }

    /// Milliseconds from `earlier` to this instant; negative if `earlier` is later.
    public func milliseconds(since earlier: Timestamp) -> Int64 {
        // Both lie within years 1...9999, so the difference fits easily.
        self.millisecondsSinceEpoch - earlier.millisecondsSinceEpoch
    }

    /// The calendar day this instant falls on for a clock at `offset` from UTC.
    ///
    /// 2026-11-21T16:30Z is 2026-11-22 at UTC+8: check-ins and daily caps use this.
    public func calendarDay(in offset: UTCOffset) -> CalendarDay {
        let local = self.millisecondsSinceEpoch + Int64(offset.seconds) * 1_000
        let days = local >= 0 ? local / Self.millisecondsPerDay : -((-local - 1) / Self.millisecondsPerDay) - 1
        return CalendarDay(unchecked: days)
    }

    /// ``calendarDay(in:)``, refused outside years 1 to 9999: an instant in the first or last hours
    /// of the timestamp range can fall on a day of year 0 or 10000 at `offset`, which no stored
    /// day can hold.
    ///
    /// - Parameter what: What happened at this instant, for the error (`"check-in"`).
    /// - Throws: ``FissionError/Code/invalidDate``.
    package func checkedCalendarDay(in offset: UTCOffset, what: String) throws(FissionError) -> CalendarDay {
        let day = self.calendarDay(in: offset)
        guard day >= CalendarDay.first, day <= CalendarDay.last else {
            throw FissionError(
                code: .invalidDate,
                reason: "\(what) at \(self) falls outside years 1 to 9999 at UTC offset \(offset)"
            )
        }
        return day
    }

    /// ISO 8601 in UTC with milliseconds, such as `2026-11-22T06:21:43.000Z`.
    public var description: String {
        let day = self.calendarDay(in: .utc)
        let millisecondOfDay = self.millisecondsSinceEpoch - day.start(in: .utc).millisecondsSinceEpoch
        let hours = millisecondOfDay / 3_600_000
        let minutes = millisecondOfDay / 60_000 % 60
        let seconds = millisecondOfDay / 1_000 % 60
        let milliseconds = millisecondOfDay % 1_000
        return "\(day)T\(pad(hours, 2)):\(pad(minutes, 2)):\(pad(seconds, 2)).\(pad(milliseconds, 3))Z"
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let milliseconds = try container.decode(Int64.self)
        do {
            try self.init(millisecondsSinceEpoch: milliseconds)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.reason)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.millisecondsSinceEpoch)
    }
}

/// `value` in decimal, left-padded with zeros to `width` digits.
package func pad(_ value: Int64, _ width: Int) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}
