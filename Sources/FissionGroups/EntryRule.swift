public import FissionCore
public import FissionMembers

/// Who may join a group: a small rule language over a member, with and, or and not.
///
/// Build a rule from clauses and combine them; every combinator checks the limits, so a rule
/// that exists is well formed:
///
/// ```swift
/// let coreGroupRule = try EntryRule.any([
///     .layer(atLeast: .core),
///     try .all([.hasPaidOrder, .spend(atLeast: Money(minorUnits: 100_000, currency: .cny))]),
/// ])
/// ```
///
/// A rule is stored flat, as its nodes in prefix order (each `all` or `any` says how many
/// children follow), so that checking, evaluating, encoding and decoding it never recurse. In JSON
/// a rule is that list of nodes:
///
/// ```json
/// [{"op": "any", "count": 2}, {"op": "layerAtLeast", "layer": "core"},
///  {"op": "all", "count": 2}, {"op": "hasPaidOrder"}, {"op": "spendAtLeast", "amount": ...}]
/// ```
///
/// Evaluate with ``isSatisfied(by:facts:policy:)``, and ask ``explain(for:facts:policy:)`` which
/// clauses failed.
public struct EntryRule: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The most nodes (clauses and operators) a rule may have.
    public static var maximumNodes: Int { 64 }
    /// The deepest a rule may nest: a lone clause has depth 1.
    public static var maximumDepth: Int { 8 }

    /// One test of a member.
    public enum Clause: Hashable, Sendable {
        /// The member's layer ranks at or above this one under the layering policy.
        case layerAtLeast(Layer)
        /// The member carries this tag.
        case hasTag(MemberTag)
        /// The member has at least one paid order (``MemberFacts/hasPaidOrder``).
        case hasPaidOrder
        /// The member paid the entry fee (``MemberFacts/hasPaidEntryFee``).
        case hasPaidEntryFee
        /// The member's total spend is at least this amount, in the same currency.
        case spendAtLeast(Money)
        /// The member who invited them into the group is a member of this group.
        case invitedByMemberOf(GroupID)
        /// The member joined the community strictly before this instant.
        case joinedBefore(Timestamp)
        /// The member joined the community at or after this instant.
        case joinedAtOrAfter(Timestamp)
    }

    /// One node of a rule in prefix order.
    public enum Node: Hashable, Sendable {
        /// Holds when each of the next `childCount` subtrees holds.
        case all(childCount: Int)
        /// Holds when at least one of the next `childCount` subtrees holds.
        case any(childCount: Int)
        /// Holds when the next subtree does not.
        case not
        /// A test of the member.
        case clause(Clause)
    }

    /// The rule's nodes in prefix order.
    public let nodes: [Node]
    /// For each node, the index just past its subtree.
    let subtreeEnds: [Int]

    /// Creates a rule from its nodes in prefix order.
    ///
    /// - Parameter nodes: A single tree: each `all` and `any` is followed by `childCount` subtrees
    ///   (at least one), each `not` by one.
    /// - Throws: ``FissionError/Code/invalidEntryRule`` for an empty list, an operator without
    ///   children, missing or extra nodes, more than ``maximumNodes`` nodes or nesting deeper than
    ///   ``maximumDepth``.
    /// - Complexity: O(*n*) in the number of nodes.
    public init(nodes: [Node]) throws(FissionError) {
        self.subtreeEnds = try Self.check(nodes)
        self.nodes = nodes
    }

    /// A rule of one clause.
    public init(_ clause: Clause) {
        self.nodes = [.clause(clause)]
        self.subtreeEnds = [1]
    }

    /// A rule that holds when every rule in `rules` holds.
    ///
    /// - Throws: ``FissionError/Code/invalidEntryRule`` if `rules` is empty or the result breaks
    ///   the size or depth limit.
    public static func all(_ rules: [EntryRule]) throws(FissionError) -> EntryRule {
        try Self.combine(.all(childCount: rules.count), rules)
    }

    /// A rule that holds when at least one rule in `rules` holds.
    ///
    /// - Throws: ``FissionError/Code/invalidEntryRule`` if `rules` is empty or the result breaks
    ///   the size or depth limit.
    public static func any(_ rules: [EntryRule]) throws(FissionError) -> EntryRule {
        try Self.combine(.any(childCount: rules.count), rules)
    }

    /// A rule that holds when `rule` does not.
    ///
    /// - Throws: ``FissionError/Code/invalidEntryRule`` if the result breaks the size or depth limit.
    public static func not(_ rule: EntryRule) throws(FissionError) -> EntryRule {
        try Self.combine(.not, [rule])
    }

    /// The member's layer is `layer` or higher.
    public static func layer(atLeast layer: Layer) -> EntryRule { EntryRule(.layerAtLeast(layer)) }
    /// The member carries `tag`.
    public static func hasTag(_ tag: MemberTag) -> EntryRule { EntryRule(.hasTag(tag)) }
    /// The member has a paid order.
    public static var hasPaidOrder: EntryRule { EntryRule(.hasPaidOrder) }
    /// The member paid the entry fee.
    public static var hasPaidEntryFee: EntryRule { EntryRule(.hasPaidEntryFee) }
    /// The member spent at least `amount`.
    public static func spend(atLeast amount: Money) -> EntryRule { EntryRule(.spendAtLeast(amount)) }
    /// The member who invited them into the group is in `group`.
    public static func invitedByMember(of group: GroupID) -> EntryRule { EntryRule(.invitedByMemberOf(group)) }
    /// The member joined strictly before `instant`.
    public static func joined(before instant: Timestamp) -> EntryRule { EntryRule(.joinedBefore(instant)) }
    /// The member joined at or after `instant`.
    public static func joined(atOrAfter instant: Timestamp) -> EntryRule { EntryRule(.joinedAtOrAfter(instant)) }

    /// The rule in prefix notation, such as `all(layer >= core, not(tag region:beijing))`.
    ///
    /// - Complexity: O(*n*) in the number of nodes.
    public var description: String {
        var text = ""
        // Each open operator: the index its subtree ends at, and whether a child was written yet.
        var open: [(end: Int, hasChild: Bool)] = []
        for (index, node) in self.nodes.enumerated() {
            if let last = open.indices.last {
                if open[last].hasChild { text += ", " }
                open[last].hasChild = true
            }
            switch node {
            case .all: text += "all("
            case .any: text += "any("
            case .not: text += "not("
            case .clause(let clause): text += clause.description
            }
            if case .clause = node {
                while let last = open.last, last.end == index + 1 {
                    text += ")"
                    open.removeLast()
                }
            } else {
                open.append((self.subtreeEnds[index], false))
            }
        }
        return text
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.nodes == rhs.nodes }

    public func hash(into hasher: inout Hasher) { hasher.combine(self.nodes) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let nodes = try container.decode([Node].self)
        do {
            try self.init(nodes: nodes)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.reason)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.nodes)
    }

    private static func combine(_ head: Node, _ rules: [EntryRule]) throws(FissionError) -> EntryRule {
        let total = rules.reduce(1) { $0 + $1.nodes.count }
        guard total <= Self.maximumNodes else {
            throw FissionError(
                code: .invalidEntryRule,
                reason: "\(total) nodes; a rule has at most \(Self.maximumNodes)"
            )
        }
        var nodes = [head]
        nodes.reserveCapacity(total)
        for rule in rules { nodes += rule.nodes }
        return try EntryRule(nodes: nodes)
    }

    /// Checks that `nodes` form one tree within the limits; returns each node's subtree end.
    private static func check(_ nodes: [Node]) throws(FissionError) -> [Int] {
        guard !nodes.isEmpty else {
            throw FissionError(code: .invalidEntryRule, reason: "a rule needs at least one clause")
        }
        guard nodes.count <= Self.maximumNodes else {
            throw FissionError(
                code: .invalidEntryRule,
                reason: "\(nodes.count) nodes; a rule has at most \(Self.maximumNodes)"
            )
        }
        var ends = [Int](repeating: 0, count: nodes.count)
        // The operators whose children are still being read, with how many children have not started.
        var open: [(index: Int, remaining: Int)] = []
        for (index, node) in nodes.enumerated() {
            if index > 0 && open.isEmpty {
                throw FissionError(
                    code: .invalidEntryRule,
                    reason: "node \(index) follows a complete rule; a rule is a single tree"
                )
            }
            if let last = open.indices.last { open[last].remaining -= 1 }
            let childCount: Int
            switch node {
            case .all(let count), .any(let count):
                // At most the nodes after it: a count no rule can have is refused here, before any
                // arithmetic on it.
                guard count >= 1, count < nodes.count - index else {
                    throw FissionError(
                        code: .invalidEntryRule,
                        reason: "node \(index) combines \(count) rules; \(nodes.count - index - 1) nodes follow it"
                    )
                }
                childCount = count
            case .not: childCount = 1
            case .clause: childCount = 0
            }
            if childCount > 0 {
                guard open.count + 1 < Self.maximumDepth else {
                    throw FissionError(
                        code: .invalidEntryRule,
                        reason: "the rule nests deeper than \(Self.maximumDepth) levels"
                    )
                }
                open.append((index, childCount))
                continue
            }
            ends[index] = index + 1
            while let last = open.last, last.remaining == 0 {
                ends[last.index] = index + 1
                open.removeLast()
            }
        }
        guard open.isEmpty else {
            throw FissionError(
                code: .invalidEntryRule,
                reason:
                    "node \(open[open.count - 1].index) is missing \(open[open.count - 1].remaining + 1) or more children"
            )
        }
        return ends
    }
}

extension EntryRule.Clause: CustomStringConvertible {
    /// The clause as text, such as `layer >= core` or `spend >= 100.00 CNY`.
    public var description: String {
        switch self {
        case .layerAtLeast(let layer): "layer >= \(layer)"
        case .hasTag(let tag): "tag \(tag)"
        case .hasPaidOrder: "paid order"
        case .hasPaidEntryFee: "paid entry fee"
        case .spendAtLeast(let amount): "spend >= \(amount)"
        case .invitedByMemberOf(let group): "invited by a member of \(group)"
        case .joinedBefore(let instant): "joined before \(instant)"
        case .joinedAtOrAfter(let instant): "joined at or after \(instant)"
        }
    }
}

extension EntryRule.Node: Codable {
    private enum CodingKeys: String, CodingKey {
        case op
        case count
        case layer
        case tag
        case amount
        case group
        case at
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let op = try container.decode(String.self, forKey: .op)
        switch op {
        case "all": self = .all(childCount: try container.decode(Int.self, forKey: .count))
        case "any": self = .any(childCount: try container.decode(Int.self, forKey: .count))
        case "not": self = .not
        case "layerAtLeast": self = .clause(.layerAtLeast(try container.decode(Layer.self, forKey: .layer)))
        case "hasTag": self = .clause(.hasTag(try container.decode(MemberTag.self, forKey: .tag)))
        case "hasPaidOrder": self = .clause(.hasPaidOrder)
        case "hasPaidEntryFee": self = .clause(.hasPaidEntryFee)
        case "spendAtLeast": self = .clause(.spendAtLeast(try container.decode(Money.self, forKey: .amount)))
        case "invitedByMemberOf":
            self = .clause(.invitedByMemberOf(try container.decode(GroupID.self, forKey: .group)))
        case "joinedBefore": self = .clause(.joinedBefore(try container.decode(Timestamp.self, forKey: .at)))
        case "joinedAtOrAfter": self = .clause(.joinedAtOrAfter(try container.decode(Timestamp.self, forKey: .at)))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .op,
                in: container,
                debugDescription: "unknown entry rule operation \"\(op)\""
            )
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .all(let count):
            try container.encode("all", forKey: .op)
            try container.encode(count, forKey: .count)
        case .any(let count):
            try container.encode("any", forKey: .op)
            try container.encode(count, forKey: .count)
        case .not: try container.encode("not", forKey: .op)
        case .clause(.layerAtLeast(let layer)):
            try container.encode("layerAtLeast", forKey: .op)
            try container.encode(layer, forKey: .layer)
        case .clause(.hasTag(let tag)):
            try container.encode("hasTag", forKey: .op)
            try container.encode(tag, forKey: .tag)
        case .clause(.hasPaidOrder): try container.encode("hasPaidOrder", forKey: .op)
        case .clause(.hasPaidEntryFee): try container.encode("hasPaidEntryFee", forKey: .op)
        case .clause(.spendAtLeast(let amount)):
            try container.encode("spendAtLeast", forKey: .op)
            try container.encode(amount, forKey: .amount)
        case .clause(.invitedByMemberOf(let group)):
            try container.encode("invitedByMemberOf", forKey: .op)
            try container.encode(group, forKey: .group)
        case .clause(.joinedBefore(let instant)):
            try container.encode("joinedBefore", forKey: .op)
            try container.encode(instant, forKey: .at)
        case .clause(.joinedAtOrAfter(let instant)):
            try container.encode("joinedAtOrAfter", forKey: .op)
            try container.encode(instant, forKey: .at)
        }
    }
}
