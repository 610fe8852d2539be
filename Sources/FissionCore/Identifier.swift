/// A type-safe identifier that carries the host's own id, integer or string, unchanged.
///
/// The phantom `Kind` makes a ``MemberID`` and a ``CampaignID`` distinct types, so one cannot
/// be passed where the other is expected. Hosts bring their own ids: an integer key stays an
/// integer (`MemberID(42)`), and anything else (a UUID, a WeChat openid, an order number such as
/// `"SO-2026-0001"`) stays the exact string it was. Nothing is hashed, truncated or converted.
///
/// Two identifiers are equal when they have the same form and the same value: `MemberID(7)` and
/// `MemberID("7")` are different members. Strings compare by their UTF-8 bytes, not by Unicode
/// canonical equivalence, so an id that a database stores as bytes reads back as the same id.
///
/// Identifiers are ordered integers first (numerically), then strings (by UTF-8 bytes). The order
/// is stable across processes and is what Fission uses to break ties deterministically.
///
/// In JSON an integer identifier is a number and a string identifier a string.
public struct Identifier<Kind>: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The longest string identifier, in UTF-8 bytes.
    public static var maximumUTF8Length: Int { 128 }

    /// The host's value: an integer or a string.
    public enum Value: Hashable, Sendable {
        /// An integer id, such as a database's `BIGINT` key.
        case integer(Int64)
        /// A string id, such as a UUID or an openid, compared byte for byte.
        case string(String)
    }

    /// The value the host gave, unchanged.
    public let value: Value

    /// Creates an identifier from an integer id. Every `Int64` is valid.
    public init(_ value: Int64) {
        self.value = .integer(value)
    }

    /// Creates an identifier from a string id.
    ///
    /// Pass a `String` value: a string literal in its place (`try MemberID("")`) is taken as a
    /// literal, built by ``init(stringLiteral:)``, which stops the process on a bad literal rather
    /// than throwing.
    ///
    /// - Parameter string: The host's id. It must be 1 to ``maximumUTF8Length`` UTF-8 bytes long
    ///   and hold no control characters (they are invisible in logs and often a sign of bad input).
    /// - Throws: ``FissionError/Code/invalidIdentifier`` when the string breaks those rules.
    public init(_ string: String) throws(FissionError) {
        try Self.validate(string)
        self.value = .string(string)
    }

    /// Creates an identifier from an unsigned integer id.
    ///
    /// - Throws: ``FissionError/Code/invalidIdentifier`` if `value` is above `Int64.max`; such an
    ///   id should be passed as a string (its decimal digits) to keep it exact.
    public init(unsigned value: UInt64) throws(FissionError) {
        guard let signed = Int64(exactly: value) else {
            throw FissionError(
                code: .invalidIdentifier,
                reason: "\(value) is above Int64.max; pass it as a string to keep it exact"
            )
        }
        self.value = .integer(signed)
    }

    /// The integer id, or `nil` for a string identifier.
    public var integerValue: Int64? {
        if case .integer(let integer) = self.value { return integer }
        return nil
    }

    /// The string id, or `nil` for an integer identifier.
    public var stringValue: String? {
        if case .string(let string) = self.value { return string }
        return nil
    }

    /// The id as text: the decimal digits of an integer, or the string itself.
    public var description: String {
        switch self.value {
        case .integer(let integer): String(integer)
        case .string(let string): string
        }
    }

    private static func validate(_ string: String) throws(FissionError) {
        let length = string.utf8.count
        guard length > 0 else {
            throw FissionError(code: .invalidIdentifier, reason: "an identifier may not be empty")
        }
        guard length <= Self.maximumUTF8Length else {
            throw FissionError(
                code: .invalidIdentifier,
                reason: "identifier is \(length) UTF-8 bytes; at most \(Self.maximumUTF8Length) are allowed"
            )
        }
        for scalar in string.unicodeScalars where scalar.properties.generalCategory == .control {
            throw FissionError(
                code: .invalidIdentifier,
                reason: "identifier holds control character U+\(String(scalar.value, radix: 16, uppercase: true))"
            )
        }
    }

    // MARK: Equality, hashing and order by bytes

    // Inlinable, as `<` is: each caller gets a copy for its identifier's kind instead of a generic
    // call (sorting a million check-in streaks by member spent most of a checkpoint in those calls).
    @inlinable
    public static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs.value, rhs.value) {
        case (.integer(let left), .integer(let right)): left == right
        case (.string(let left), .string(let right)): left.utf8.elementsEqual(right.utf8)
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self.value {
        case .integer(let integer):
            hasher.combine(0 as UInt8)
            hasher.combine(integer)
        case .string(let string):
            hasher.combine(1 as UInt8)
            var bytes = string
            bytes.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        }
    }

    @inlinable
    public static func < (lhs: Self, rhs: Self) -> Bool {
        switch (lhs.value, rhs.value) {
        case (.integer(let left), .integer(let right)): left < right
        case (.integer, .string): true
        case (.string, .integer): false
        case (.string(let left), .string(let right)): left.utf8.lexicographicallyPrecedes(right.utf8)
        }
    }

    // MARK: Codable

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let integer = try? container.decode(Int64.self) {
            self.value = .integer(integer)
            return
        }
        let string = try container.decode(String.self)
        do {
            try Self.validate(string)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.reason)
        }
        self.value = .string(string)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self.value {
        case .integer(let integer): try container.encode(integer)
        case .string(let string): try container.encode(string)
        }
    }
}

extension Identifier: ExpressibleByIntegerLiteral {
    /// Creates an integer identifier from a literal, as in `let id: MemberID = 42`.
    public init(integerLiteral value: Int64) {
        self.init(value)
    }
}

extension Identifier: ExpressibleByStringLiteral {
    /// Creates a string identifier from a literal, as in `let id: MemberID = "alice"`.
    ///
    /// - Precondition: The literal is a valid identifier (non-empty, short, no control characters).
    ///   A bad literal is a programmer error; use ``init(_:)-(String)`` for input from outside.
    public init(stringLiteral value: String) {
        do {
            try self.init(value)
        } catch {
            preconditionFailure("invalid identifier literal \"\(value)\": \(error.reason)")
        }
    }
}

/// The phantom kinds that keep Fission's identifiers apart.
///
/// They live in FissionCore so that every module can name every kind of id without depending on
/// the module that defines the value (a group's rule can name a campaign, a member can name the
/// group they came through).
public enum IdentifierKind: Sendable {
    /// The kind of ``MemberID``.
    public enum Member: Sendable {}
    /// The kind of ``GroupID``.
    public enum Group: Sendable {}
    /// The kind of ``CampaignID``.
    public enum Campaign: Sendable {}
    /// The kind of ``OrderID``.
    public enum Order: Sendable {}
    /// The kind of ``EventID``.
    public enum Event: Sendable {}
    /// The kind of ``RuleID``.
    public enum Rule: Sendable {}
    /// The kind of ``SKUID``.
    public enum SKU: Sendable {}
}

/// A member of the community, as the host identifies them.
public typealias MemberID = Identifier<IdentifierKind.Member>
/// A community group (a chat group).
public typealias GroupID = Identifier<IdentifierKind.Group>
/// A growth campaign.
public typealias CampaignID = Identifier<IdentifierKind.Campaign>
/// An order in the host's shop.
public typealias OrderID = Identifier<IdentifierKind.Order>
/// A host event or command; its id is the idempotency key (for example `"order-123:paid"`).
public typealias EventID = Identifier<IdentifierKind.Event>
/// A reward rule inside a campaign.
public typealias RuleID = Identifier<IdentifierKind.Rule>
/// A stock-keeping unit: a product, a gift or a coupon type.
public typealias SKUID = Identifier<IdentifierKind.SKU>
