import Fission
import FissionSQLite
import Foundation
import Testing

/// The README's engine walk-through, kept compiling and true: the code between the markers is
/// the README's, line for line.
struct ReadmeEngineExampleTests {
    @Test func engineQuickStart() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("readme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("fission.sqlite").path

        // README begins
        let store = try SQLiteStore(path: path)  // a file your service owns; InMemoryStore() in tests
        let engine = try FissionEngine(store: store)
        let now = try Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)  // the host's clock

        let spring = try RewardCampaign(
            id: "spring",
            startsAt: now,
            endsAt: now.adding(milliseconds: 30 * Timestamp.millisecondsPerDay),
            offset: .chinaStandardTime,
            currency: .cny,
            rules: [
                try RewardRule(id: "invite", shape: .inviteFixed(.money(try Money(parsing: "5", currency: .cny)))),
                try RewardRule(
                    id: "commission",
                    shape: .commission(levelRates: [.percent(10), .percent(5)], skuOverrides: []),
                    holdDays: 7  // the refund window: commission posts when it ends
                ),
            ]
        )
        try await engine.submit(.publishCampaign(spring), key: "publish-spring", at: now)
        let budget = try Money(parsing: "10000", currency: .cny)
        try await engine.submit(.fundCampaign("spring", amount: .money(budget)), key: "fund-spring-1", at: now)

        // Every command carries an idempotency key derived from the host's own event id.
        try await engine.submit(
            .registerMember("alice", invitedBy: nil, campaign: nil, channel: nil),
            key: "reg-alice",
            at: now
        )
        try await engine.submit(
            .registerMember("bob", invitedBy: "alice", campaign: "spring", channel: "poster"),
            key: "reg-bob",
            at: now
        )
        let paid = EngineCommand.orderPaid(
            order: "order-1",
            buyer: "bob",
            kind: .regular,
            lines: [.init(sku: "tea", quantity: 1, netPaid: try Money(parsing: "200", currency: .cny))]
        )
        let outcome = try await engine.submit(paid, key: "order-1:paid", at: now)
        var notified: [String] = []  // what the host tells its members
        for case .granted(_, let grant) in outcome.effects {
            notified.append("\(grant.beneficiary) earns \(grant.amount), held: \(grant.isHeld)")
        }

        // A retry of the same event changes nothing and returns the stored outcome.
        let retry = try await engine.submit(paid, key: "order-1:paid", at: now)
        assert(retry.isDuplicate && retry.effects == outcome.effects)

        // Time comes from the host too: after the refund window the held commission posts.
        try await engine.advance(to: now.adding(milliseconds: 8 * Timestamp.millisecondsPerDay))
        let alice = await engine.state.settlement.ledger.balance(of: .wallet("alice", .money(.cny)))

        // Paying out: the host pays on `withdrawn`, once per transfer id (a retried command repeats it).
        let cashOut = try await engine.submit(
            .withdraw("alice", amount: .money(try Money(parsing: "25", currency: .cny))),
            key: "payout-alice-1",
            at: now.adding(milliseconds: 8 * Timestamp.millisecondsPerDay)
        )
        var paidOut: [TransferID] = []
        for case .withdrawn(_, _, let transfer) in cashOut.effects { paidOut.append(transfer) }
        // README ends

        #expect(notified == ["alice earns 20.00 CNY, held: true"])
        #expect(alice.available == 2_500)  // 5.00 for inviting bob, 20.00 commission
        #expect(alice.pending == 0)
        #expect(paidOut.count == 1)
        let after = await engine.state.settlement.ledger.balance(of: .wallet("alice", .money(.cny)))
        #expect(after.available == 0)
        let reopened = try FissionEngine(store: try SQLiteStore(path: path))
        #expect(await reopened.state.settlement.ledger.balance(of: .wallet("alice", .money(.cny))) == after)
    }
}
