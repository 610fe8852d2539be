public import FissionCore

/// A value that is only a validated, operator-chosen name, such as a ``Layer``.
///
/// It compares, prints, encodes and decodes as its name; decoding validates the name again, so a
/// stored value that is no longer valid fails to decode instead of slipping in. Ordering is by
/// name only, for stable listings: any rank comes from elsewhere (a ``LayeringPolicy`` ranks
/// layers).
///
/// Names are kept in Unicode normalization form C (``canonicalText(_:)``): a name written with a
/// precomposed `é` and one written with `e` and a combining accent are the same value, with one
/// spelling, so equal values always encode to the same bytes. They compare, hash and order by
/// those UTF-8 bytes, which in form C is the order `String` comparison gives.
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

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.name.utf8.elementsEqual(rhs.name.utf8) }

    public func hash(into hasher: inout Hasher) { hashUTF8(self.name, into: &hasher) }

    /// By the names' UTF-8 bytes.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
    }

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

/// `text` in Unicode normalization form C, the spelling names and tags are kept in: text that is
/// canonically equal (a precomposed `é`, or `e` and a combining accent) becomes the same bytes,
/// so byte comparison agrees with `String`'s, and a value has one encoding.
///
/// Journals and snapshots written before names were normalized hold the caller's spelling; read
/// back through the initializers, it becomes this one, equal to the value it was equal to then.
package func canonicalText(_ text: String) -> String {
    // ASCII, by far the common case, is already in form C.
    if text.utf8.allSatisfy({ $0 < 0x80 }) { return text }
    return String(decoding: Array(text._nfcCodeUnits), as: UTF8.self)
}

/// Feeds `text`'s UTF-8 bytes, then their count, to `hasher`: equal bytes hash equally, whatever
/// their Unicode normalization, and two strings hashed in a row cannot run into each other.
package func hashUTF8(_ text: String, into hasher: inout Hasher) {
    var text = text
    text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    hasher.combine(text.utf8.count)
}
