import FissionCore
import FissionGroups
import FissionMembers
import Foundation
import Testing

struct EntryRuleTests {
    static let shanghai = try! MemberTag.region("shanghai")
    static let cutoff = try! hour(100)

    @Test func combinatorsRefuseEmptyDeepAndLargeRules() throws {
        #expect(throws: FissionError(code: .invalidEntryRule)) { try EntryRule.all([]) }
        #expect(throws: FissionError(code: .invalidEntryRule)) { try EntryRule.any([]) }
        var deep = EntryRule.hasPaidOrder
        for _ in 1..<EntryRule.maximumDepth { deep = try EntryRule.not(deep) }
        #expect(throws: FissionError(code: .invalidEntryRule)) { try EntryRule.not(deep) }
        let wide = Array(repeating: EntryRule.hasPaidOrder, count: EntryRule.maximumNodes - 1)
        _ = try EntryRule.all(wide)
        #expect(throws: FissionError(code: .invalidEntryRule)) { try EntryRule.all(wide + [.hasPaidOrder]) }
    }

    static let malformed: [(String, [EntryRule.Node])] = [
        ("empty", []),
        ("all of nothing", [.all(childCount: 0), .clause(.hasPaidOrder)]),
        ("negative count", [.any(childCount: -1)]),
        ("missing child", [.all(childCount: 2), .clause(.hasPaidOrder)]),
        ("not without child", [.not]),
        ("two roots", [.clause(.hasPaidOrder), .clause(.hasPaidEntryFee)]),
        ("extra after tree", [.not, .clause(.hasPaidOrder), .clause(.hasPaidOrder)]),
    ]

    @Test(arguments: EntryRuleTests.malformed)
    func malformedNodeListsAreRefused(name: String, nodes: [EntryRule.Node]) {
        #expect(throws: FissionError(code: .invalidEntryRule), "\(name)") { try EntryRule(nodes: nodes) }
    }

    static let cases: [(rule: EntryRule, layer: Layer, tagged: Bool, facts: MemberFacts, expected: Bool)] = {
        let spend = Money(minorUnits: 10_000, currency: .cny)
        let rich = MemberFacts(hasPaidOrder: true, totalSpend: Money(minorUnits: 20_000, currency: .cny))
        let poor = MemberFacts(hasPaidOrder: true, totalSpend: Money(minorUnits: 5_000, currency: .cny))
        let dollars = MemberFacts(totalSpend: Money(minorUnits: 99_999, currency: .usd))
        let coreOrSpender = try! EntryRule.any([.layer(atLeast: .core), .spend(atLeast: spend)])
        let localNotFee = try! EntryRule.all([.hasTag(shanghai), try! .not(.hasPaidEntryFee)])
        return [
            (.layer(atLeast: .core), .kol, false, .none, true),
            (.layer(atLeast: .core), .core, false, .none, true),
            (.layer(atLeast: .core), .ordinary, false, .none, false),
            (.spend(atLeast: spend), .ordinary, false, rich, true),
            (.spend(atLeast: spend), .ordinary, false, poor, false),
            (.spend(atLeast: spend), .ordinary, false, dollars, false),
            (.spend(atLeast: spend), .ordinary, false, .none, false),
            (coreOrSpender, .ordinary, false, rich, true),
            (coreOrSpender, .ordinary, false, poor, false),
            (coreOrSpender, .core, false, .none, true),
            (localNotFee, .ordinary, true, .none, true),
            (localNotFee, .ordinary, true, MemberFacts(hasPaidEntryFee: true), false),
            (localNotFee, .ordinary, false, .none, false),
            (.invitedByMember(of: "core-1"), .ordinary, false, MemberFacts(inviterGroups: ["core-1"]), true),
            (.invitedByMember(of: "core-1"), .ordinary, false, MemberFacts(inviterGroups: ["core-2"]), false),
            (.joined(before: cutoff), .ordinary, false, .none, true),
            (.joined(atOrAfter: cutoff), .ordinary, false, .none, false),
        ]
    }()

    @Test(arguments: EntryRuleTests.cases)
    func evaluatesClausesAndCombinators(
        rule: EntryRule,
        layer: Layer,
        tagged: Bool,
        facts: MemberFacts,
        expected: Bool
    ) throws {
        let policy = try makePolicy()
        let candidate = try member("m", layer: layer, tags: tagged ? [Self.shanghai] : [])
        #expect(rule.isSatisfied(by: candidate, facts: facts, policy: policy) == expected, "\(rule)")
        let explanation = rule.explain(for: candidate, facts: facts, policy: policy)
        #expect(explanation.isSatisfied == expected)
        #expect(explanation.failures.isEmpty == expected)
    }

    @Test func explanationNamesTheFailedClauses() throws {
        let policy = try makePolicy()
        let rule = try EntryRule.all([
            .layer(atLeast: .core),
            .hasTag(Self.shanghai),
            try .not(.hasPaidEntryFee),
            try .any([.hasPaidOrder, .joined(atOrAfter: Self.cutoff)]),
        ])
        let candidate = try member("m", tags: [Self.shanghai])
        let explanation = rule.explain(for: candidate, facts: MemberFacts(hasPaidEntryFee: true), policy: policy)
        #expect(!explanation.isSatisfied)
        #expect(
            explanation.failures.map(\.clause) == [
                .layerAtLeast(.core), .hasPaidEntryFee, .hasPaidOrder, .joinedAtOrAfter(Self.cutoff),
            ]
        )
        #expect(explanation.failures.map(\.neededToHold) == [true, false, true, true])
        #expect(explanation.failures[0].detail == "layer ordinary is not at least core")
        #expect(explanation.failures[1].detail == "member paid the entry fee")
    }

    @Test func roundTripsThroughJSONAndRendersAsText() throws {
        let rule = try EntryRule.any([
            .layer(atLeast: .core),
            try .all([.hasPaidOrder, .spend(atLeast: Money(minorUnits: 100, currency: .cny))]),
            try .not(.hasTag(Self.shanghai)),
            .invitedByMember(of: "g1"),
            .joined(before: Self.cutoff),
        ])
        let data = try JSONEncoder().encode(rule)
        #expect(try JSONDecoder().decode(EntryRule.self, from: data) == rule)
        #expect(
            rule.description
                == "any(layer >= core, all(paid order, spend >= 1.00 CNY), not(tag region:shanghai), "
                + "invited by a member of g1, joined before \(Self.cutoff))"
        )
        let malformed = Data(#"[{"op":"all","count":2},{"op":"hasPaidOrder"}]"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(EntryRule.self, from: malformed) }
        let unknown = Data(#"[{"op":"isNice"}]"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(EntryRule.self, from: unknown) }
    }

    @Test func randomRulesAgreeWithADirectEvaluation() throws {
        // Random trees within the limits, evaluated by the bit stack and by explain's pass.
        let seed: UInt64 = 0x5EED_0301
        var generator = SeededGenerator(seed: seed)
        let policy = try makePolicy()
        let leaves: [EntryRule] = [.hasPaidOrder, .hasPaidEntryFee, .layer(atLeast: .core), .hasTag(Self.shanghai)]
        for round in 0..<300 {
            var pool = (0..<6).map { _ in leaves[Int(generator.next(below: 4))] }
            while pool.count > 1 {
                let take = min(pool.count, Int(generator.next(below: 3)) + 1)
                let parts = Array(pool.suffix(take))
                pool.removeLast(take)
                let combined: EntryRule? =
                    switch generator.next(below: 3) {
                    case 0: try? EntryRule.all(parts)
                    case 1: try? EntryRule.any(parts)
                    default: try? EntryRule.not(parts[0])
                    }
                pool.append(combined ?? parts[0])
            }
            let rule = pool[0]
            let facts = MemberFacts(
                hasPaidOrder: generator.next(below: 2) == 0,
                hasPaidEntryFee: generator.next(below: 2) == 0
            )
            let candidate = try member(
                "m",
                layer: generator.next(below: 2) == 0 ? .core : .ordinary,
                tags: generator.next(below: 2) == 0 ? [Self.shanghai] : []
            )
            let fast = rule.isSatisfied(by: candidate, facts: facts, policy: policy)
            let slow = rule.explain(for: candidate, facts: facts, policy: policy).isSatisfied
            let reference = Self.reference(rule.nodes, at: 0) { clause in
                EntryRule(clause).explain(for: candidate, facts: facts, policy: policy).isSatisfied
            }.value
            #expect(fast == slow, "seed \(seed) round \(round): \(rule)")
            #expect(fast == reference, "seed \(seed) round \(round): \(rule)")
            let data = try JSONEncoder().encode(rule)
            #expect(try JSONDecoder().decode(EntryRule.self, from: data) == rule, "seed \(seed) round \(round)")
        }
    }

    /// A recursive evaluator of prefix-order nodes, independent of the library's.
    static func reference(
        _ nodes: [EntryRule.Node],
        at index: Int,
        leaf: (EntryRule.Clause) -> Bool
    ) -> (value: Bool, next: Int) {
        switch nodes[index] {
        case .clause(let clause): return (leaf(clause), index + 1)
        case .not:
            let (value, next) = reference(nodes, at: index + 1, leaf: leaf)
            return (!value, next)
        case .all(let count), .any(let count):
            var next = index + 1
            var values: [Bool] = []
            for _ in 0..<count {
                let (value, after) = reference(nodes, at: next, leaf: leaf)
                values.append(value)
                next = after
            }
            if case .all = nodes[index] { return (values.allSatisfy { $0 }, next) }
            return (values.contains(true), next)
        }
    }
}
