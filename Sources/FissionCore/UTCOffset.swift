/// A fixed offset from UTC, such as +08:00 for China Standard Time.
///
/// A campaign or group states its offset so that "today", daily caps and check-in days mean the
/// same thing to every member and every replay. Fixed offsets have no daylight-saving gaps; a
/// host in a zone with daylight saving chooses the offset a campaign runs in.
public struct UTCOffset: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The smallest offset in use, -12:00.
    public static let minimumSeconds: Int32 = -12 * 3_600
    /// The largest offset in use, +14:00.
    public static let maximumSeconds: Int32 = 14 * 3_600

    /// UTC itself.
    public static let utc = UTCOffset(validated: 0)
    /// China Standard Time, +08:00.
    public static let chinaStandardTime = UTCOffset(validated: 8 * 3_600)

    /// Seconds east of UTC (negative west of it).
    public let seconds: Int32

    /// Creates an offset from seconds east of UTC.
    ///
    /// - Throws: ``FissionError/Code/invalidUTCOffset`` outside -12:00...+14:00 or when not a
    ///   whole number of minutes.
    public init(seconds: Int) throws(FissionError) {
        guard seconds >= Int(Self.minimumSeconds), seconds <= Int(Self.maximumSeconds) else {
            throw FissionError(code: .invalidUTCOffset, reason: "\(seconds) s is outside -12:00...+14:00")
        }
        guard seconds % 60 == 0 else {
            throw FissionError(code: .invalidUTCOffset, reason: "\(seconds) s is not a whole number of minutes")
        }
        self.seconds = Int32(seconds)
    }

    /// Creates an offset from hours and minutes, such as `(hours: 5, minutes: 45)` for Nepal or
    /// `(hours: -3, minutes: -30)` for Newfoundland.
    ///
    /// - Throws: ``FissionError/Code/invalidUTCOffset`` if the parts are out of range or differ in sign.
    public init(hours: Int, minutes: Int = 0) throws(FissionError) {
        guard (-59...59).contains(minutes), hours == 0 || minutes == 0 || (hours < 0) == (minutes < 0) else {
            throw FissionError(code: .invalidUTCOffset, reason: "\(hours) h \(minutes) min is not a valid offset")
        }
        guard (-12...14).contains(hours) else {
            throw FissionError(code: .invalidUTCOffset, reason: "\(hours) h is outside -12...+14")
        }
        try self.init(seconds: hours * 3_600 + minutes * 60)
    }

    private init(validated seconds: Int32) {
        self.seconds = seconds
    }

    /// The offset as `+08:00`, `-03:30` or `+00:00`.
    public var description: String {
        let sign = self.seconds < 0 ? "-" : "+"
        let magnitude = Int64(self.seconds.magnitude)
        return "\(sign)\(pad(magnitude / 3_600, 2)):\(pad(magnitude / 60 % 60, 2))"
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.seconds < rhs.seconds }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let seconds = try container.decode(Int.self)
        do {
            try self.init(seconds: seconds)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.reason)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Int(self.seconds))
    }
}
