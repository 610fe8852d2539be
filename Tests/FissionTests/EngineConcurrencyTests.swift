import Fission
import Foundation
import Synchronization
import Testing

/// A store whose reads lag behind its journal until an append loses a race: it lets a test put
/// another writer's append exactly between an engine's catch-up and its own append.
final class LaggingStore: FissionStore {
    let inner = InMemoryStore()
    private let visibleUpTo = Mutex<Int64?>(nil)

    /// Hides entries after `sequence` from reads until the next conflicting append.
    func lag(at sequence: Int64) { self.visibleUpTo.withLock { $0 = sequence } }

    private func isVisible(_ sequence: Int64) -> Bool {
        self.visibleUpTo.withLock { limit in limit.map { sequence <= $0 } ?? true }
    }

    var maximumPageSize: Int { self.inner.maximumPageSize }

    func append(_ entries: [JournalEntry], expectingLastSequence: Int64) throws {
        do {
            try self.inner.append(entries, expectingLastSequence: expectingLastSequence)
        } catch {
            self.visibleUpTo.withLock { $0 = nil }
            throw error
        }
    }

    func lastSequence() -> Int64 {
        let last = self.inner.lastSequence()
        return self.visibleUpTo.withLock { limit in limit.map { min($0, last) } ?? last }
    }

    func entry(forKey key: EventID) -> JournalEntry? {
        self.inner.entry(forKey: key).flatMap { self.isVisible($0.sequence) ? $0 : nil }
    }

    func entries(after sequence: Int64, limit: Int) throws -> [JournalEntry] {
        try self.inner.entries(after: sequence, limit: limit).filter { self.isVisible($0.sequence) }
    }

    func saveSnapshot(_ snapshot: StoreSnapshot) throws { try self.inner.saveSnapshot(snapshot) }

    func latestSnapshot() -> StoreSnapshot? { self.inner.latestSnapshot() }
}

/// A store that appends another writer's entries right before it answers the engine's next key
/// lookup: after the engine's catch-up, before it reads the batch's keys.
final class KeyLookupRacingStore: FissionStore {
    let inner = InMemoryStore()
    private let pending = Mutex<[JournalEntry]>([])

    func appendBeforeNextKeyLookup(_ entries: [JournalEntry]) { self.pending.withLock { $0 = entries } }

    var maximumPageSize: Int { self.inner.maximumPageSize }

    func append(_ entries: [JournalEntry], expectingLastSequence: Int64) throws {
        try self.inner.append(entries, expectingLastSequence: expectingLastSequence)
    }

    func lastSequence() -> Int64 { self.inner.lastSequence() }

    func entry(forKey key: EventID) -> JournalEntry? { self.inner.entry(forKey: key) }

    func entries(forKeys keys: [EventID]) throws -> [JournalEntry?] {
        let others = self.pending.withLock { pending in
            defer { pending = [] }
            return pending
        }
        if !others.isEmpty { try self.inner.append(others, expectingLastSequence: self.inner.lastSequence()) }
        return self.inner.entries(forKeys: keys)
    }

    func entries(after sequence: Int64, limit: Int) throws -> [JournalEntry] {
        try self.inner.entries(after: sequence, limit: limit)
    }

    func saveSnapshot(_ snapshot: StoreSnapshot) throws { try self.inner.saveSnapshot(snapshot) }

    func latestSnapshot() -> StoreSnapshot? { self.inner.latestSnapshot() }
}

/// 1,000 unless `FISSION_ENGINE_COMMANDS_PER_TASK` says otherwise (CI's sanitizer runs may lower it).
let commandsPerTask: Int = {
    guard let text = ProcessInfo.processInfo.environment["FISSION_ENGINE_COMMANDS_PER_TASK"], let value = Int(text),
        value > 0
    else {
        return 1_000
    }
    return value
}()

struct EngineConcurrencyTests {
    /// Another engine commits a batch's first key between the engine's catch-up and its key
    /// lookup. The batch answered that key as a retry (at the other engine's sequence) and then
    /// refused the order as from an unknown member, on a state without the registration: a host
    /// would drop a real order. It catches up and applies the batch on the committed state now.
    @Test("a key committed between the catch-up and the key lookup: the batch catches up and applies after it")
    func aKeyCommittedBetweenCatchUpAndKeyLookup() async throws {
        let register = EngineCommand.registerMember("dave", invitedBy: "carol", campaign: spring, channel: nil)
        let order = EngineCommand.orderPaid(order: "o-dave", buyer: "dave", kind: .regular, lines: [line(100)])
        // The other engine's entry for the registration, made on a copy of the same journal.
        let copy = InMemoryStore()
        let other = try FissionEngine(store: copy)
        try await seed(other)
        try await other.submit(register, key: "reg-dave", at: at(hours: 2))
        let registration = try #require(try copy.entries(after: 7, limit: 10).first)
        #expect(registration.sequence == 8)

        let store = KeyLookupRacingStore()
        let engine = try FissionEngine(store: store)
        try await seed(engine)
        store.appendBeforeNextKeyLookup([registration])
        let results = try await engine.submit(
            batch: [("reg-dave", register), ("o-dave:paid", order)],
            at: at(hours: 2)
        )
        let registered = try results[0].get()
        #expect(registered.isDuplicate && registered.sequence == 8)
        let paid = try results[1].get()
        #expect(!paid.isDuplicate && paid.sequence == 9)
        #expect(await engine.lastSequence == 9)
        #expect(await fingerprint(engine) == (try await committedFingerprint(store)))
    }

    /// Two engines share a store; the second appends between the first's catch-up and its append.
    /// The first gets a store conflict, catches up, and retries: a reused key returns the other
    /// engine's outcome, a second report of the same order under another key is refused.
    @Test func twoEnginesOnOneStoreNeverGrantTwice() async throws {
        let store = LaggingStore()
        let first = try FissionEngine(store: store)
        try await seed(first)
        let second = try FissionEngine(store: store.inner)

        let paid = EngineCommand.orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(100)])
        store.lag(at: await first.lastSequence)
        let byB = try await second.submit(paid, key: "o1:paid", at: at(days: 1))
        let byA = try await first.submit(paid, key: "o1:paid", at: at(days: 1))
        #expect(byA.isDuplicate && byA.effects == byB.effects && byA.sequence == byB.sequence)

        let again = EngineCommand.orderPaid(order: "o2", buyer: "carol", kind: .regular, lines: [line(50)])
        store.lag(at: await first.lastSequence)
        try await second.submit(again, key: "o2:paid", at: at(days: 1))
        let error = await #expect(throws: FissionError.self) {
            try await first.submit(again, key: "o2:paid-retry", at: at(days: 1))
        }
        #expect(error?.code == .duplicateOrder)

        // Interleaved without lag: each sees the other's commands before applying its own.
        for index in 0..<20 {
            let engine = index.isMultiple(of: 2) ? first : second
            try await engine.submit(
                .orderPaid(order: OrderID(Int64(100 + index)), buyer: "carol", kind: .regular, lines: [line(10)]),
                key: EventID(Int64(100 + index)),
                at: at(days: 2)
            )
        }
        try await first.refresh()
        try await second.refresh()
        let committed = try await committedFingerprint(store.inner)
        #expect(await fingerprint(first) == committed)
        #expect(await fingerprint(second) == committed)
        let grants = committed.transfers.filter { $0.key?.operation == .grant && $0.key?.rule == "commission" }
        #expect(grants.count == 2 * 22)
        #expect(Set(grants.map(\.key)).count == grants.count)
    }

    /// 64 tasks × 1,000 order-paid commands on one campaign whose budget runs out halfway: no
    /// grant is lost or made twice, the budget never goes below zero, and the ledger is the one
    /// applying the same commands one by one (in commit order) gives.
    /// 64 tasks racing to withdraw from one wallet of 40 yuan, one yuan at a time under their own
    /// keys, some in batches, and all of them retrying one shared key: exactly 40 yuan leave, each
    /// once; the rest are refused for want of funds; the store reopens to the same state.
    @Test func concurrentWithdrawalsNeverOverdraw() async throws {
        let store = InMemoryStore()
        let engine = try FissionEngine(store: store)
        let campaign = try RewardCampaign(
            id: "payday",
            startsAt: start,
            endsAt: at(days: 60),
            offset: .chinaStandardTime,
            currency: .cny,
            rules: [try RewardRule(id: "invite", shape: .inviteFixed(.money(yuan(1))))]
        )
        try await engine.submit(.publishCampaign(campaign), key: "publish", at: at(hours: 1))
        try await engine.submit(.fundCampaign("payday", amount: try .money(yuan(1_000))), key: "fund", at: at(hours: 1))
        try await engine.submit(
            .registerMember(1, invitedBy: nil, campaign: nil, channel: nil),
            key: "reg",
            at: at(hours: 1)
        )
        var invitees: [(key: EventID, command: EngineCommand)] = []
        for invitee in 0..<40 {
            invitees.append(
                (
                    EventID(Int64(100 + invitee)),
                    .registerMember(MemberID(Int64(100 + invitee)), invitedBy: 1, campaign: "payday", channel: nil)
                )
            )
        }
        _ = try await engine.submit(batch: invitees, at: at(hours: 1))
        #expect(wallet(await engine.state, 1).available == 4_000)

        let yuanOut = try EngineCommand.withdraw(1, amount: .money(yuan(1)))
        let results = await withTaskGroup(of: [Result<EngineOutcome, FissionError>].self) { group in
            for task in 0..<64 {
                group.addTask {
                    let keys = [EventID(Int64(10_000 + 2 * task)), EventID(Int64(10_001 + 2 * task)), "shared"]
                    if task % 2 == 0 {
                        return (try? await engine.submit(batch: keys.map { ($0, yuanOut) }, at: at(days: 1))) ?? []
                    }
                    var results: [Result<EngineOutcome, FissionError>] = []
                    for key in keys {
                        do throws(FissionError) {
                            results.append(.success(try await engine.submit(yuanOut, key: key, at: at(days: 1))))
                        } catch {
                            results.append(.failure(error))
                        }
                    }
                    return results
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(results.count == 64 * 3)
        var payouts: Set<TransferID> = []
        var fresh = 0
        for result in results {
            switch result {
            case .success(let outcome):
                guard case .withdrawn(_, _, let transfer) = outcome.effects.first else {
                    Issue.record("no payout in \(outcome.effects)")
                    continue
                }
                payouts.insert(transfer)
                if !outcome.isDuplicate { fresh += 1 }
            case .failure(let error):
                #expect(error.code == .insufficientFunds, "\(error)")
            }
        }
        #expect(fresh == 40 && payouts.count == 40, "\(fresh) withdrawals made, \(payouts.count) payouts named")
        let state = await engine.state
        #expect(wallet(state, 1).available == 0)
        #expect(state.settlement.ledger.balance(of: .outside(cny)).posted == 4_000 - 100_000)
        #expect(state.settlement.ledger.audit().isEmpty)
        #expect(await fingerprint(try FissionEngine(store: store)) == StateFingerprint(state))
    }

    @Test func concurrentSubmissionsMatchApplyingThemOneByOne() async throws {
        let tasks = 64
        let perTask = commandsPerTask
        // Integer ids throughout: a debug build compares string ids byte by byte, slowly.
        let campaign = CampaignID(7)
        let alice = MemberID(1_000_001)
        let bob = MemberID(1_000_002)
        let store = InMemoryStore()
        let engine = try FissionEngine(store: store)
        let rules = [
            try RewardRule(id: RuleID(1), shape: .commission(levelRates: [.percent(10)], skuOverrides: []), holdDays: 7)
        ]
        let definition = try RewardCampaign(
            id: campaign,
            startsAt: start,
            endsAt: at(days: 60),
            offset: .chinaStandardTime,
            currency: .cny,
            rules: rules
        )
        try await engine.submit(.publishCampaign(definition), key: "publish", at: at(hours: 1))
        // 10 yuan of commission per order; the budget covers 40,000 of the 64,000 orders.
        try await engine.submit(
            .fundCampaign(campaign, amount: try .money(yuan(400_000))),
            key: "fund",
            at: at(hours: 1)
        )
        try await engine.submit(
            .registerMember(alice, invitedBy: nil, campaign: nil, channel: nil),
            key: "reg-a",
            at: at(hours: 1)
        )
        try await engine.submit(
            .registerMember(bob, invitedBy: alice, campaign: nil, channel: nil),
            key: "reg-b",
            at: at(hours: 1)
        )
        var registrations: [(key: EventID, command: EngineCommand)] = []
        for task in 0..<tasks {
            registrations.append(
                (
                    EventID(Int64(2_000_000 + task)),
                    .registerMember(MemberID(Int64(task)), invitedBy: bob, campaign: nil, channel: nil)
                )
            )
        }
        _ = try await engine.submit(batch: registrations, at: at(hours: 1))
        let budgetBefore = await engine.state.settlement.ledger.balance(of: .budget(campaign, cny)).available
        #expect(budgetBefore == 40_000_000)

        let failures = await withTaskGroup(of: Int.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var failures = 0
                    for index in 0..<perTask {
                        let order = Int64(task * perTask + index)
                        do {
                            try await engine.submit(
                                .orderPaid(
                                    order: OrderID(order),
                                    buyer: MemberID(Int64(task)),
                                    kind: .regular,
                                    lines: [line(100)]
                                ),
                                key: EventID(order),
                                at: at(days: 1)
                            )
                        } catch {
                            failures += 1
                        }
                    }
                    return failures
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
        let covered = min(tasks * perTask, 40_000)
        let state = await engine.state
        let ledger = state.settlement.ledger
        #expect(ledger.audit().isEmpty)
        let budget = ledger.balance(of: .budget(campaign, cny))
        #expect(budget.available == Int64(40_000 - covered) * 1_000)
        #expect(wallet(state, bob).pending == Int64(covered) * 1_000)
        #expect(wallet(state, alice).pending == 0)
        // Reopening replays the journal one command at a time and checks every stored outcome.
        let replayed = try FissionEngine(store: store)
        #expect(await fingerprint(replayed) == StateFingerprint(state))
        #expect(await replayed.lastSequence == Int64(4 + tasks + tasks * perTask))
    }
}
