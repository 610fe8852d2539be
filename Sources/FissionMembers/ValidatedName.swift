public import FissionCore

/// A value that is only a validated, operator-chosen name, such as a ``Layer``.
///
/// It compares, prints, encodes and decodes as its name; decoding validates the name again, so a
/// stored value that is no longer valid fails to decode instead of slipping in. Ordering is by
/// name only, for stable listings: any rank comes from elsewhere (a ``LayeringPolicy`` ranks
/// layers).
public protocol ValidatedName: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The longest name, in UTF-8 bytes.
    static var maximumUTF8Length: Int { get }

    /// The name.
    var name: String { get }

    /// Creates the value, validating the name.
    init(_ name: String) throws(FissionError)
}

extension ValidatedName {
    public var description: String { self.name }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.name < rhs.name }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        do {
            try self.init(name)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.reason)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.name)
    }
}
