import FissionCore
public import FissionMembers

extension EntryRule {
    /// Why a rule did or did not admit a member.
    public struct Explanation: Hashable, Sendable {
        /// One clause that made the rule fail.
        public struct Failure: Hashable, Sendable, CustomStringConvertible {
            /// The clause.
            public let clause: Clause
            /// Whether the rule needed the clause to hold (`false` under an odd number of `not`s,
            /// where the clause held and should not have).
            public let neededToHold: Bool
            /// The node's index in ``EntryRule/nodes``.
            public let nodeIndex: Int
            /// What was found, such as `layer ordinary is not at least core`.
            public let detail: String

            public var description: String { self.detail }
        }

        /// Whether the rule admits the member.
        public let isSatisfied: Bool
        /// The clauses that made it fail, in rule order; empty when it is satisfied.
        ///
        /// Under `all`, the clauses that failed; under `any`, every alternative; under `not`, the
        /// clauses that held.
        public let failures: [Failure]
    }

    /// Whether `member` satisfies the rule.
    ///
    /// - Parameters:
    ///   - member: The member asking to join.
    ///   - facts: What the host knows beyond the member value; ``MemberFacts/inviterGroups`` answers
    ///     ``Clause/invitedByMemberOf(_:)``.
    ///   - policy: Ranks layers for ``Clause/layerAtLeast(_:)``.
    /// - Complexity: O(*n*) in the number of nodes; no allocation.
    public func isSatisfied(by member: Member, facts: MemberFacts, policy: LayeringPolicy) -> Bool {
        self.isSatisfied(by: member, facts: facts, policy: policy) { facts.inviterGroups.contains($0) }
    }

    /// Whether `member` satisfies the rule, with "is the inviter in this group" answered by a closure.
    func isSatisfied(
        by member: Member,
        facts: MemberFacts,
        policy: LayeringPolicy,
        inviterIsMember: (GroupID) -> Bool
    ) -> Bool {
        // Walk the prefix order backwards: children come before their operator, and the results
        // wait on a stack of bits (a rule has at most 64 nodes, so at most 64 pending results).
        var stack: UInt64 = 0
        var index = self.nodes.count
        while index > 0 {
            index -= 1
            switch self.nodes[index] {
            case .clause(let clause):
                let holds = clause.holds(for: member, facts: facts, policy: policy, inviterIsMember: inviterIsMember)
                stack = stack << 1 | (holds ? 1 : 0)
            case .not:
                stack ^= 1
            case .all(let count):
                let mask: UInt64 = count >= 64 ? .max : (1 << UInt64(count)) - 1
                let holds = stack & mask == mask
                stack = (stack >> UInt64(count)) << 1 | (holds ? 1 : 0)
            case .any(let count):
                let mask: UInt64 = count >= 64 ? .max : (1 << UInt64(count)) - 1
                let holds = stack & mask != 0
                stack = (stack >> UInt64(count)) << 1 | (holds ? 1 : 0)
            }
        }
        return stack & 1 == 1
    }

    /// Evaluates the rule for `member` and says which clauses made it fail.
    ///
    /// - Parameters:
    ///   - member: The member asking to join.
    ///   - facts: What the host knows beyond the member value.
    ///   - policy: Ranks layers for ``Clause/layerAtLeast(_:)``.
    /// - Complexity: O(*n*) in the number of nodes.
    public func explain(for member: Member, facts: MemberFacts, policy: LayeringPolicy) -> Explanation {
        self.explain(for: member, facts: facts, policy: policy) { facts.inviterGroups.contains($0) }
    }

    func explain(
        for member: Member,
        facts: MemberFacts,
        policy: LayeringPolicy,
        inviterIsMember: (GroupID) -> Bool
    ) -> Explanation {
        let values = self.nodeValues(member: member, facts: facts, policy: policy, inviterIsMember: inviterIsMember)
        guard !values[0] else { return Explanation(isSatisfied: true, failures: []) }
        var failures: [Explanation.Failure] = []
        // Nodes whose value was not what their parent needed, with what it needed. Children are
        // pushed last-first so that failures come out in rule order.
        var pending: [(index: Int, needed: Bool)] = [(0, true)]
        while let (index, needed) = pending.popLast() {
            switch self.nodes[index] {
            case .clause(let clause):
                failures.append(
                    Explanation.Failure(
                        clause: clause,
                        neededToHold: needed,
                        nodeIndex: index,
                        detail: clause.detail(held: values[index], member: member, facts: facts)
                    )
                )
            case .not:
                pending.append((index + 1, !needed))
            case .all, .any:
                // A failed `all` (or a held `any` under `not`) is explained by its children that
                // had the wrong value; a failed `any` (or held `all` under `not`) by all of them.
                for child in self.children(of: index).reversed() where values[child] != needed {
                    pending.append((child, needed))
                }
            }
        }
        return Explanation(isSatisfied: false, failures: failures)
    }

    private func children(of index: Int) -> [Int] {
        var result: [Int] = []
        var child = index + 1
        while child < self.subtreeEnds[index] {
            result.append(child)
            child = self.subtreeEnds[child]
        }
        return result
    }

    private func nodeValues(
        member: Member,
        facts: MemberFacts,
        policy: LayeringPolicy,
        inviterIsMember: (GroupID) -> Bool
    ) -> [Bool] {
        var values = [Bool](repeating: false, count: self.nodes.count)
        for index in self.nodes.indices.reversed() {
            switch self.nodes[index] {
            case .clause(let clause):
                values[index] = clause.holds(
                    for: member,
                    facts: facts,
                    policy: policy,
                    inviterIsMember: inviterIsMember
                )
            case .not: values[index] = !values[index + 1]
            case .all: values[index] = self.children(of: index).allSatisfy { values[$0] }
            case .any: values[index] = self.children(of: index).contains { values[$0] }
            }
        }
        return values
    }
}

extension EntryRule.Clause {
    func holds(
        for member: Member,
        facts: MemberFacts,
        policy: LayeringPolicy,
        inviterIsMember: (GroupID) -> Bool
    ) -> Bool {
        switch self {
        case .layerAtLeast(let layer): policy.isLayer(member.layer, atLeast: layer)
        case .hasTag(let tag): member.tags.contains(tag)
        case .hasPaidOrder: facts.hasPaidOrder
        case .hasPaidEntryFee: facts.hasPaidEntryFee
        case .spendAtLeast(let amount):
            if let spend = facts.totalSpend {
                spend.currency == amount.currency && spend.minorUnits >= amount.minorUnits
            } else {
                amount.minorUnits <= 0
            }
        case .invitedByMemberOf(let group): inviterIsMember(group)
        case .joinedBefore(let instant): member.joinedAt < instant
        case .joinedAtOrAfter(let instant): member.joinedAt >= instant
        }
    }

    func detail(held: Bool, member: Member, facts: MemberFacts) -> String {
        let isNot = held ? "is" : "is not"
        return switch self {
        case .layerAtLeast(let layer): "layer \(member.layer) \(isNot) at least \(layer)"
        case .hasTag(let tag): held ? "member has tag \(tag)" : "member lacks tag \(tag)"
        case .hasPaidOrder: held ? "member has a paid order" : "member has no paid order"
        case .hasPaidEntryFee: held ? "member paid the entry fee" : "member has not paid the entry fee"
        case .spendAtLeast(let amount):
            "spend \(facts.totalSpend.map { "\($0)" } ?? "none") \(isNot) at least \(amount)"
        case .invitedByMemberOf(let group):
            held ? "the inviter is a member of \(group)" : "no inviter who is a member of \(group)"
        case .joinedBefore(let instant):
            "joined at \(member.joinedAt), which \(isNot) before \(instant)"
        case .joinedAtOrAfter(let instant):
            "joined at \(member.joinedAt), which \(isNot) at or after \(instant)"
        }
    }
}
