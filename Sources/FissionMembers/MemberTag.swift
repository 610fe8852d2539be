public import FissionCore

/// A label on a member, in a category: `region:shanghai`, `interest:night running`.
///
/// Operators segment members and gate groups by tags. The category keeps "Shanghai the region"
/// apart from "Shanghai the interest group", and lets a rule ask for any tag of a category.
///
/// A tag's category and value are kept in Unicode normalization form C: `café` written with a
/// precomposed `é` and `café` written with `e` and a combining accent are the same tag, with one
/// spelling. Tags compare, hash and order by those UTF-8 bytes (category, then value), which in
/// form C is the order `String` comparison gives; so tags that are equal encode to the same
/// bytes, and a ``TagSet``'s order (and so its encoding) does not depend on the order its tags
/// were added in.
public struct MemberTag: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The longest category or value, in UTF-8 bytes.
    public static var maximumUTF8Length: Int { 64 }

    /// What kind of label this is, such as `"region"` or `"interest"`.
    public let category: String
    /// The label itself, such as `"night running"`.
    public let value: String

    /// Creates a tag, both parts kept in Unicode normalization form C.
    ///
    /// - Throws: ``FissionError/Code/invalidTag`` if either part is empty, longer than
    ///   ``maximumUTF8Length`` bytes (in form C) or holds a control character.
    public init(category: String, value: String) throws(FissionError) {
        let category = canonicalText(category)
        let value = canonicalText(value)
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

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.category.utf8.elementsEqual(rhs.category.utf8) && lhs.value.utf8.elementsEqual(rhs.value.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        hashUTF8(self.category, into: &hasher)
        hashUTF8(self.value, into: &hasher)
    }

    /// By the category's UTF-8 bytes, then the value's.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        if !lhs.category.utf8.elementsEqual(rhs.category.utf8) {
            return lhs.category.utf8.lexicographicallyPrecedes(rhs.category.utf8)
        }
        return lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
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

/// A sorted set of tags with a stable order, so encoding a member always gives the same bytes.
///
/// Tags are kept in ``MemberTag``'s order (by UTF-8 bytes) and are distinct byte for byte, so
/// two sets are equal exactly when they encode to the same bytes.
public struct TagSet: Hashable, Sendable, Codable, Sequence, ExpressibleByArrayLiteral {
    /// The most tags one member may carry.
    public static var maximumCount: Int { 64 }

    /// The tags, sorted and without duplicates.
    public private(set) var elements: [MemberTag]

    /// Creates a set from tags in any order; duplicates collapse.
    ///
    /// - Throws: ``FissionError/Code/invalidTag`` for more than ``maximumCount`` distinct tags.
    public init(_ tags: some Sequence<MemberTag>) throws(FissionError) {
        var unique: [MemberTag] = []
        for tag in tags.sorted() where unique.last != tag { unique.append(tag) }
        guard unique.count <= Self.maximumCount else {
            throw FissionError(
                code: .invalidTag,
                reason: "\(unique.count) tags; a member carries at most \(Self.maximumCount)"
            )
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

    /// Whether the set holds `tag`.
    ///
    /// - Complexity: O(log *n*).
    public func contains(_ tag: MemberTag) -> Bool {
        let index = self.insertionIndex(of: tag)
        return index < self.elements.count && self.elements[index] == tag
    }

    /// Whether the set holds any tag of `category`, compared in normalization form C as tags
    /// keep their text (so any spelling of the same text matches).
    ///
    /// - Complexity: O(*n*).
    public func contains(category: String) -> Bool {
        let category = canonicalText(category)
        return self.elements.contains { $0.category.utf8.elementsEqual(category.utf8) }
    }

    /// Adds `tag`; returns whether it was new.
    ///
    /// - Throws: ``FissionError/Code/invalidTag`` if the set already holds ``maximumCount`` tags.
    @discardableResult
    public mutating func insert(_ tag: MemberTag) throws(FissionError) -> Bool {
        let index = self.insertionIndex(of: tag)
        if index < self.elements.count && self.elements[index] == tag { return false }
        guard self.elements.count < Self.maximumCount else {
            throw FissionError(code: .invalidTag, reason: "a member carries at most \(Self.maximumCount) tags")
        }
        self.elements.insert(tag, at: index)
        return true
    }

    /// Removes `tag`; returns whether it was there.
    @discardableResult
    public mutating func remove(_ tag: MemberTag) -> Bool {
        let index = self.insertionIndex(of: tag)
        guard index < self.elements.count && self.elements[index] == tag else { return false }
        self.elements.remove(at: index)
        return true
    }

    public func makeIterator() -> IndexingIterator<[MemberTag]> { self.elements.makeIterator() }

    private func insertionIndex(of tag: MemberTag) -> Int {
        var low = 0
        var high = self.elements.count
        while low < high {
            let middle = (low + high) / 2
            if self.elements[middle] < tag { low = middle + 1 } else { high = middle }
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
