import Testing

@testable import Fission

/// The engine's `withdraw` and `writeOffDebt` commands: a payout out of a member's wallet, exactly
/// once, after what they owe from clawbacks, and an operator forgiving such a debt; refusals
/// change nothing, and the journal replays, restores and answers retries with the stored outcome
/// on both stores.
struct EngineWithdrawalTests {
    /// The seeded engine (alice ← bob ← carol; bob earned 5 yuan for carol's registration) after
    /// carol's 100-yuan order at day 1 and the holds' end: bob has 15 yuan available.
    static func engine(_ store: any FissionStore) async throws -> FissionEngine {
        let engine = try FissionEngine(store: store)
        try await seed(engine)
        try await engine.submit(
            .orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(100)]),
            key: "o1:paid",
            at: at(days: 1)
        )
        try await engine.advance(to: at(days: 9))
        #expect(wallet(await engine.state, "bob").available == 1_500)
        return engine
    }

    /// The commands of the withdrawal story, in order, after ``engine(_:)``.
    static let story: [(key: EventID, command: EngineCommand, at: Timestamp)] = [
        ("w-bob-1", .withdraw("bob", amount: try! .money(yuan(12))), at(days: 9)),
        ("o1:refund", .orderRefunded(order: "o1", amount: yuan(100)), at(days: 10)),
        ("reg-dave", .registerMember("dave", invitedBy: "bob", campaign: spring, channel: nil), at(days: 10)),
        ("forgive-bob", .writeOffDebt("bob", amount: try! .money(yuan(2))), at(days: 10)),
        ("o2:paid", .orderPaid(order: "o2", buyer: "carol", kind: .regular, lines: [line(200)]), at(days: 11)),
        ("advance", .advance, at(days: 19)),
        ("w-bob-2", .withdraw("bob", amount: try! .money(yuan(10))), at(days: 19)),
        ("w-alice", .withdraw("alice", amount: try! .money(yuan(3))), at(days: 19)),
    ]

    @Test("a withdrawal pays out; after a clawback the next one repays the debt first", arguments: StoreKind.allCases)
    func payoutAndDebt(kind: StoreKind) async throws {
        let engine = try await Self.engine(try kind.make())
        var outcomes: [EngineOutcome] = []
        for (key, command, time) in Self.story.prefix(3) {
            outcomes.append(try await engine.submit(command, key: key, at: time))
        }
        guard case .withdrawn("bob", let amount, let payout) = try #require(outcomes[0].effects.first),
            outcomes[0].effects.count == 1
        else {
            Issue.record("unexpected effects \(outcomes[0].effects)")
            return
        }
        #expect(amount == (try .money(yuan(12))))
        let transfer = try #require(await engine.state.settlement.ledger.transfer(payout))
        #expect(transfer.debit == .wallet("bob", cny) && transfer.credit == .outside(cny))
        #expect(transfer.reason.command == "w-bob-1")

        // The refund took back 10 yuan: the 3 left in the wallet, and 7 owed. Dave's registration
        // paid bob 5, which does not cover the debt and a withdrawal of 1 yuan.
        var state = await engine.state
        #expect(state.settlement.ledger.balance(of: .receivable("bob", cny)).posted == -700)
        #expect(wallet(state, "bob").available == 500)
        try await expectRefused(.withdraw("bob", amount: try .money(yuan(1))), .insufficientFunds, on: engine)

        for (key, command, time) in Self.story.dropFirst(3) {
            outcomes.append(try await engine.submit(command, key: key, at: time))
        }
        // An operator forgave 2 of the 7 yuan owed.
        guard case .debtWrittenOff("bob", let forgiven, let writeOff) = try #require(outcomes[3].effects.first) else {
            Issue.record("unexpected effects \(outcomes[3].effects)")
            return
        }
        #expect(forgiven == (try .money(yuan(2))))
        #expect(await engine.state.settlement.ledger.transfer(writeOff)?.debit == .outside(cny))
        // Carol's 200-yuan order paid bob 20 more: 25 available, 5 owed, 10 withdrawn.
        let second = outcomes[6].effects
        #expect(second.count == 2)
        guard case .debtRepaid("bob", let repaid, let repayment) = second.first,
            case .withdrawn("bob", let withdrawn, _) = second.last
        else {
            Issue.record("unexpected effects \(second)")
            return
        }
        #expect(repaid == (try .money(yuan(5))))
        #expect(withdrawn == (try .money(yuan(10))))
        state = await engine.state
        #expect(state.settlement.ledger.transfer(repayment)?.credit == .receivable("bob", cny))
        #expect(state.settlement.ledger.balance(of: .receivable("bob", cny)).posted == 0)
        #expect(wallet(state, "bob").available == 1_000)
        #expect(state.settlement.ledger.audit().isEmpty)
    }

    @Test("refused withdrawals change nothing", arguments: StoreKind.allCases)
    func refusals(kind: StoreKind) async throws {
        let engine = try await Self.engine(try kind.make())
        try await expectRefused(.withdraw("nobody", amount: try .money(yuan(1))), .unknownMember, on: engine)
        try await expectRefused(.withdraw("bob", amount: try .money(yuan(16))), .insufficientFunds, on: engine)
        try await expectRefused(.withdraw("carol", amount: try .money(yuan(1))), .insufficientFunds, on: engine)
        try await expectRefused(
            .withdraw("bob", amount: try RewardAmount(1, .points)),
            .insufficientFunds,
            on: engine
        )
        // Bob owes nothing: nothing to forgive; nor for someone unregistered.
        try await expectRefused(.writeOffDebt("bob", amount: try .money(yuan(1))), .invalidAmount, on: engine)
        try await expectRefused(.writeOffDebt("nobody", amount: try .money(yuan(1))), .unknownMember, on: engine)
        // A key used for another payload is a conflict, whatever the wallet holds.
        try await engine.submit(.withdraw("bob", amount: try .money(yuan(1))), key: "w", at: at(days: 9))
        try await expectRefused(
            .withdraw("bob", amount: try .money(yuan(2))),
            .idempotencyConflict,
            on: engine,
            key: "w"
        )
        #expect(wallet(await engine.state, "bob").available == 1_400)
    }

    @Test("withdrawals replay, restore and answer retries", arguments: StoreKind.allCases)
    func journal(kind: StoreKind) async throws {
        let store = try kind.make()
        let engine = try await Self.engine(store)
        let restored = try await expectJournalReplaysAndAnswersRetries(Self.story, on: engine, store: store)
        // A restored engine goes on alike: the withdrawals it knows stay spent.
        let next = try await restored.submit(
            .withdraw("bob", amount: try .money(yuan(10))),
            key: "w-last",
            at: at(days: 20)
        )
        #expect(next.effects.count == 1)
        #expect(wallet(await restored.state, "bob").available == 0)
        #expect(await restored.state.settlement.ledger.audit().isEmpty)
    }
}
