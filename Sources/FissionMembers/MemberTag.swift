public import FissionCore

/// A label on a member, in a category: `region:shanghai`, `interest:night running`.
///
/// Operators segment members and gate groups by tags. The category keeps "Shanghai the region"
/// apart from "Shanghai the interest group", and lets a rule ask for any tag of a category.
///
/// Tags compare and order as Strings do, by Unicode canonical equivalence: `café` written with a
/// precomposed `é` and with `e` and a combining accent are the same tag. A tag keeps the spelling
/// it was made with, so two equal tags may encode to different bytes.
public struct MemberTag: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The longest category or value, in UTF-8 bytes.
    public static var maximumUTF8Length: Int { 64 }

    /// What kind of label this is, such as `"region"` or `"interest"`.
    public let category: String
    /// The label itself, such as `"night running"`.
    public let value: String

    /// Creates a tag.
    ///
    /// - Throws: ``FissionError/Code/invalidTag`` if either part is empty, longer than
    ///   ``maximumUTF8Length`` bytes or holds a control character.
    public init(category: String, value: String) throws(FissionError) {
        try validateName(category, what: "tag category", maximumUTF8Length: Self.maximumUTF8Length, code: .invalidTag)
        try validateName(value, what: "tag value", maximumUTF8Length: Self.maximumUTF8Length, code: .invalidTag)
        self.category = category
        self.value = value
    }

    /// A `region` tag.
    ///
    /// - Throws: ``FissionError/Code/invalidTag``.
    public static func region(_ value: String) throws(FissionError) -> MemberTag {
        try MemberTag(category: "region", value: value)
    }

    /// An `interest` tag, such as "night running" or "slimming".
    ///
    /// - Throws: ``FissionError/Code/invalidTag``.
    public static func interest(_ value: String) throws(FissionError) -> MemberTag {
        try MemberTag(category: "interest", value: value)
    }

    /// `category:value`.
    public var description: String { "\(self.category):\(self.value)" }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.category, lhs.value) < (rhs.category, rhs.value)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let category = try container.decode(String.self, forKey: .category)
        let value = try container.decode(String.self, forKey: .value)
        do {
            try self.init(category: category, value: value)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .value, in: container, debugDescription: error.reason)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case category
        case value
    }
}

/// A set of tags, kept in one order whatever order they were added in, so encoding a member gives
/// the same bytes for the same tags.
///
/// Tags are equal as ``MemberTag`` says (by canonical equivalence); of two spellings of one tag,
/// the set keeps the one whose UTF-8 bytes come first, and it keeps its tags ordered by their
/// UTF-8 bytes (category, then value). Not by `MemberTag`'s `<`, which is `String`'s and is not a
/// consistent order for every text: neither `"\u{915}"` (क) nor `"\u{958}"` (क़) is below the
/// other, yet they differ, and a set sorted and searched by it lost tags when read back.
/// Two sets are equal when they hold equal tags, whatever their spellings.
public struct TagSet: Hashable, Sendable, Codable, Sequence, ExpressibleByArrayLiteral {
    /// The most tags one member may carry.
    public static var maximumCount: Int { 64 }

    /// The tags, without duplicates, in the order of their UTF-8 bytes.
    public private(set) var elements: [MemberTag]

    /// Creates a set from tags in any order; duplicates (in any spelling) collapse.
    ///
    /// - Throws: ``FissionError/Code/invalidTag`` for more than ``maximumCount`` distinct tags.
    public init(_ tags: some Sequence<MemberTag>) throws(FissionError) {
        var unique: [MemberTag] = []
        // Byte order first, so of two spellings of one tag the one that comes first is kept.
        for tag in tags.sorted(by: Self.precedes) where !unique.contains(tag) {
            guard unique.count < Self.maximumCount else {
                throw FissionError(
                    code: .invalidTag,
                    reason: "more than \(Self.maximumCount) tags; a member carries at most \(Self.maximumCount)"
                )
            }
            unique.append(tag)
        }
        self.elements = unique
    }

    /// Creates a set from a literal list of tags.
    ///
    /// - Precondition: At most ``maximumCount`` distinct tags.
    public init(arrayLiteral elements: MemberTag...) {
        do {
            try self.init(elements)
        } catch {
            preconditionFailure(error.reason)
        }
    }

    /// The number of tags.
    public var count: Int { self.elements.count }
    /// Whether there are no tags.
    public var isEmpty: Bool { self.elements.isEmpty }

    /// Whether the set holds `tag`, in any spelling.
    ///
    /// - Complexity: O(*n*), *n* at most ``maximumCount``.
    public func contains(_ tag: MemberTag) -> Bool {
        self.elements.contains(tag)
    }

    /// Whether the set holds any tag of `category`.
    ///
    /// - Complexity: O(*n*).
    public func contains(category: String) -> Bool {
        self.elements.contains { $0.category == category }
    }

    /// Adds `tag`; returns whether it was new. A tag the set holds in another spelling is not new:
    /// the set then keeps the spelling whose bytes come first, as ``init(_:)`` does.
    ///
    /// - Throws: ``FissionError/Code/invalidTag`` if the set already holds ``maximumCount`` tags.
    @discardableResult
    public mutating func insert(_ tag: MemberTag) throws(FissionError) -> Bool {
        if let index = self.elements.firstIndex(of: tag) {
            if Self.precedes(tag, self.elements[index]) {
                self.elements.remove(at: index)
                self.elements.insert(tag, at: self.insertionIndex(of: tag))
            }
            return false
        }
        guard self.elements.count < Self.maximumCount else {
            throw FissionError(code: .invalidTag, reason: "a member carries at most \(Self.maximumCount) tags")
        }
        self.elements.insert(tag, at: self.insertionIndex(of: tag))
        return true
    }

    /// Removes `tag`, in any spelling; returns whether it was there.
    @discardableResult
    public mutating func remove(_ tag: MemberTag) -> Bool {
        guard let index = self.elements.firstIndex(of: tag) else { return false }
        self.elements.remove(at: index)
        return true
    }

    public func makeIterator() -> IndexingIterator<[MemberTag]> { self.elements.makeIterator() }

    /// Equal when they hold equal tags, whatever their spellings.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.count == rhs.count && lhs.elements.allSatisfy { rhs.contains($0) }
    }

    /// Equal sets hash alike: each tag's hash (which is spelling-blind), combined in no order.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.count)
        hasher.combine(self.elements.reduce(0) { $0 &+ $1.hashValue })
    }

    /// The set's order: by the UTF-8 bytes of the category, then of the value. A strict total
    /// order on spellings, unlike `String`'s.
    static func precedes(_ lhs: MemberTag, _ rhs: MemberTag) -> Bool {
        if !lhs.category.utf8.elementsEqual(rhs.category.utf8) {
            return lhs.category.utf8.lexicographicallyPrecedes(rhs.category.utf8)
        }
        return lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
    }

    /// Where `tag` goes among the elements in ``precedes(_:_:)`` order.
    private func insertionIndex(of tag: MemberTag) -> Int {
        var low = 0
        var high = self.elements.count
        while low < high {
            let middle = (low + high) / 2
            if Self.precedes(self.elements[middle], tag) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let tags = try container.decode([MemberTag].self)
        do {
            try self.init(tags)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.reason)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.elements)
    }
}
