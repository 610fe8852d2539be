import Fission
import Testing

/// Operators' decisions on held rewards: release posts a grant before its hold ends, reject voids
/// it, each exactly once and consistent with the hold's own maturing and with refunds.
struct HeldRewardTests {
    /// The seeded engine after carol's 100-yuan order: bob holds 10 yuan, alice 5, for 7 days.
    private func engineWithHeldCommission(
        store: any FissionStore = InMemoryStore()
    ) async throws -> (FissionEngine, bob: TransferID, alice: TransferID) {
        let engine = try FissionEngine(store: store)
        try await seed(engine)
        let paid = try await engine.submit(
            .orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(100)]),
            key: "o1:paid",
            at: at(days: 1)
        )
        let grants = paid.effects.compactMap { effect -> RewardGrant? in
            if case .granted(_, let grant) = effect { grant } else { nil }
        }
        let bob = try #require(grants.first { $0.beneficiary == "bob" })
        let alice = try #require(grants.first { $0.beneficiary == "alice" })
        #expect(bob.isHeld && alice.isHeld)
        return (engine, bob.transfer, alice.transfer)
    }

    private func postedCount(_ outcome: EngineOutcome) -> Int {
        outcome.effects.count { if case .posted = $0 { true } else { false } }
    }

    @Test func releasePostsTheGrantAtOnceAndTheHoldDoesNotPostItAgain() async throws {
        let (engine, bob, _) = try await engineWithHeldCommission()
        let before = wallet(await engine.state, "bob")
        let released = try await engine.submit(.releaseHeldReward(bob), key: "approve-bob", at: at(days: 2))
        #expect(postedCount(released) == 1)
        let after = wallet(await engine.state, "bob")
        #expect(after.pending == before.pending - 1_000)
        #expect(after.available == before.available + 1_000)

        let again = try await engine.submit(.releaseHeldReward(bob), key: "approve-bob-again", at: at(days: 3))
        #expect(again.effects.isEmpty)
        let matured = try await engine.advance(to: at(days: 9))
        #expect(postedCount(matured) == 1, "only alice's grant is still held")
        #expect(wallet(await engine.state, "bob") == after)
    }

    @Test func rejectReturnsTheReservationToTheBudgetAndARefundLaterHasNothingToUndo() async throws {
        let (engine, bob, _) = try await engineWithHeldCommission()
        let budget = AccountKey.budget(spring, cny)
        let budgetBefore = await engine.state.settlement.ledger.balance(of: budget)
        let rejected = try await engine.submit(.rejectHeldReward(bob), key: "reject-bob", at: at(days: 2))
        #expect(rejected.effects.count == 1)
        #expect(rejected.effects.allSatisfy { if case .reversed(spring, _) = $0 { true } else { false } })
        var state = await engine.state
        let bobAfterRejection = wallet(state, "bob")
        #expect(bobAfterRejection.pending == 0)
        #expect(state.settlement.ledger.balance(of: budget).available == budgetBefore.available + 1_000)

        let again = try await engine.submit(.rejectHeldReward(bob), key: "reject-bob-again", at: at(days: 2))
        #expect(again.effects.isEmpty)
        let matured = try await engine.advance(to: at(days: 9))
        #expect(postedCount(matured) == 1, "only alice's grant posts")
        let refunded = try await engine.submit(
            .orderRefunded(order: "o1", amount: yuan(100)),
            key: "o1:refund",
            at: at(days: 10)
        )
        #expect(refunded.effects.count == 1, "alice's posted grant is reversed; bob's has nothing left")
        state = await engine.state
        #expect(wallet(state, "bob") == bobAfterRejection)
        #expect(state.settlement.ledger.audit().isEmpty)
    }

    @Test func badDecisionsAreRefusedAndChangeNothing() async throws {
        let store = InMemoryStore()
        let (engine, bob, alice) = try await engineWithHeldCommission(store: store)
        try await engine.submit(.releaseHeldReward(bob), key: "approve-bob", at: at(days: 2))
        try await engine.submit(.rejectHeldReward(alice), key: "reject-alice", at: at(days: 2))
        let sequence = store.lastSequence()
        let fingerprint = StateFingerprint(await engine.state)
        let funding = try #require(await engine.state.settlement.ledger.transfer(TransferID(rawValue: 1)))
        #expect(funding.kind == .posted)

        let cases: [(EngineCommand, FissionError.Code)] = [
            (.releaseHeldReward(TransferID(rawValue: 9_999)), .transferNotFound),
            (.rejectHeldReward(TransferID(rawValue: 9_999)), .transferNotFound),
            (.releaseHeldReward(funding.id), .transferNotPending),
            (.rejectHeldReward(bob), .transferNotPending),
            (.releaseHeldReward(alice), .transferNotPending),
        ]
        for (index, (command, code)) in cases.enumerated() {
            await #expect(throws: FissionError(code: code)) {
                try await engine.submit(command, key: EventID(Int64(index)), at: at(days: 3))
            }
        }
        #expect(store.lastSequence() == sequence)
        #expect(StateFingerprint(await engine.state) == fingerprint)
    }

    @Test(arguments: StoreKind.allCases)
    func decisionsReplayFromTheJournal(_ kind: StoreKind) async throws {
        let store = try kind.make()
        let (engine, bob, alice) = try await engineWithHeldCommission(store: store)
        try await engine.submit(.releaseHeldReward(bob), key: "approve-bob", at: at(days: 2))
        try await engine.submit(.rejectHeldReward(alice), key: "reject-alice", at: at(days: 2))
        let reopened = try FissionEngine(store: store)
        #expect(StateFingerprint(await reopened.state) == StateFingerprint(await engine.state))
        let retried = try await reopened.submit(.releaseHeldReward(bob), key: "approve-bob", at: at(days: 5))
        #expect(retried.isDuplicate)
    }
}
