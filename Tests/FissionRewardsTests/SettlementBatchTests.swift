import FissionCore
import FissionRewards
import Testing

private let campaignID: CampaignID = "batch"

/// A milestone split, a 10% / 5% commission held 7 days and capped at two grants per member, and
/// a budget small enough that the last grants meet it exhausted.
private func settlement() throws -> Settlement {
    let milestones = try RewardRule(
        id: "invite-50",
        shape: .milestoneSplit(
            total: .money(yuan(50)),
            weights: [.init(.registered, 15), .init(.firstOrder, 15), .init(.repurchase, 20)]
        )
    )
    let commission = try RewardRule(
        id: "commission",
        shape: .commission(levelRates: [try BasisPoints(1_000), try BasisPoints(500)], skuOverrides: []),
        caps: .init(perMemberCount: 2),
        holdDays: 7
    )
    return try fundedSettlement([milestones, commission], campaigns: [campaignID], budgetYuan: 120)
}

/// Registrations, paid orders (a cap and the budget stop some grants), a refund, a repeat, a
/// conflicting repeat and an event outside the campaign.
private func events() throws -> [(id: EventID, event: RewardEvent)] {
    let bobPays = try paidOrder("o1", buyer: "bob", inviters: ["alice"], paidYuan: 100)
    return [
        ("reg-bob", .memberRegistered(member: "bob", inviter: "alice", at: at(days: 1))),
        ("reg-carol", .memberRegistered(member: "carol", inviter: "bob", at: at(days: 1))),
        ("o1:paid", bobPays),
        ("o2:paid", try paidOrder("o2", buyer: "carol", inviters: ["bob", "alice"], paidYuan: 300)),
        ("o1:paid", bobPays),
        ("o3:paid", try paidOrder("o3", buyer: "carol", inviters: ["bob", "alice"], count: 2, paidYuan: 500)),
        ("o1:refund", .orderRefunded(order: "o1", amount: yuan(50), at: at(days: 2))),
        ("o1:paid", try paidOrder("o1", buyer: "bob", inviters: ["alice"], paidYuan: 101)),
        ("late", try paidOrder("o9", buyer: "bob", inviters: ["alice"], paidYuan: 10, day: 40)),
        ("o4:paid", try paidOrder("o4", buyer: "carol", inviters: ["bob", "alice"], count: 3, paidYuan: 900)),
    ]
}

struct SettlementBatchTests {
    @Test func aCompactBatchSettlesExactlyAsEventsOneByOne() throws {
        let events = try events()
        var single = try settlement()
        let outcomes = events.map { item in
            Result { () throws(FissionError) in try single.settle(item.event, id: item.id, campaign: campaignID) }
        }
        var batched = try settlement()
        let batch = try batched.settle(compact: events, campaign: campaignID)

        #expect(batched.snapshot() == single.snapshot(), "the same ledger, ids and state")
        #expect(batched.ledger.audit().isEmpty)
        #expect(batch.entries.count == events.count)
        for (index, outcome) in outcomes.enumerated() {
            let entry = batch.entries[index]
            switch outcome {
            case .success(let outcome):
                #expect(entry.status == (outcome.isDuplicate ? .duplicate : .settled))
                let made = (outcome.grants.map(\.transfer) + outcome.reversals).sorted()
                #expect(Array(entry.transfers) == made, "event \(index)")
                #expect(entry.skippedCount == outcome.skipped.count)
            case .failure(let error):
                #expect(entry.status == .failed)
                #expect(entry.transfers.isEmpty)
                #expect(batch.failures.contains { $0.index == index && $0.error == error })
            }
        }
        // The scenario covers every status and what the compact form must carry.
        #expect(batch.count(of: .settled) == 7)
        #expect(batch.count(of: .duplicate) == 1)
        #expect(batch.failures.map(\.index) == [7, 8])
        #expect(batch.failures.map(\.error.code) == [.idempotencyConflict, .outsideCampaignWindow])
        #expect(batch.entries[4].transfers == batch.entries[2].transfers, "a repeat names the first transfers")
        #expect(!batch.entries[6].transfers.isEmpty, "the refund's voids")

        // What the batch recorded of each event (its beneficiaries' ids included, which the
        // snapshot does not hold) reads back as the first outcome, and a later repeat returns it.
        let reasons = outcomes.compactMap { try? $0.get() }.flatMap(\.skipped).map(\.reason)
        #expect(reasons.contains(.capReached) && reasons.contains(.budgetExhausted))
        for (index, item) in events.enumerated() {
            guard case .success(let outcome) = outcomes[index], !outcome.isDuplicate else { continue }
            #expect(batched.outcome(of: item.id, campaign: campaignID) == outcome, "\(item.id)")
            let again = try batched.settle(item.event, id: item.id, campaign: campaignID)
            #expect(again.isDuplicate)
            #expect(again.grants == outcome.grants && again.skipped == outcome.skipped)
            #expect(again.reversals == outcome.reversals)
        }
    }

    @Test func aBatchRepeatedIsAllDuplicatesAndChangesNothing() throws {
        let events = try events()
        var settlement = try settlement()
        let first = try settlement.settle(compact: events, campaign: campaignID)
        let before = settlement.snapshot()
        let again = try settlement.settle(compact: events, campaign: campaignID)
        #expect(settlement.snapshot() == before)
        for (index, entry) in again.entries.enumerated() {
            let earlier = first.entries[index]
            if earlier.status == .failed {
                #expect(entry.status == .failed)
            } else {
                #expect(entry.status == .duplicate)
                #expect(entry.transfers == earlier.transfers)
                #expect(entry.skippedCount == earlier.skippedCount)
            }
        }
        #expect(again.failures == first.failures)
    }

    @Test func anUnknownCampaignRefusesTheWholeBatch() throws {
        var settlement = try settlement()
        let before = settlement.snapshot()
        #expect(throws: FissionError(code: .campaignNotFound)) {
            try settlement.settle(compact: try events(), campaign: "nope")
        }
        #expect(settlement.snapshot() == before)
        let empty = try settlement.settle(compact: [], campaign: campaignID)
        #expect(empty.entries.isEmpty && empty.failures.isEmpty)
    }

    @Test func anEventsOutcomeCanBeReadBackAsFirstReturned() throws {
        var settlement = try settlement()
        var first: [EventID: SettlementOutcome] = [:]
        for item in try events() {
            guard let outcome = try? settlement.settle(item.event, id: item.id, campaign: campaignID),
                !outcome.isDuplicate
            else { continue }
            first[item.id] = outcome
        }
        #expect(first.count == 7)
        #expect(first.values.contains { !$0.skipped.isEmpty } && first.values.contains { !$0.reversals.isEmpty })
        // Later decisions on the grants do not change what the events did: an operator releases
        // one held grant and rejects another, a refund reverses the released one, holds end.
        let paid = (first["o2:paid"]?.grants ?? []).filter(\.isHeld)
        #expect(paid.count == 2)
        try settlement.release(paid[0].transfer, command: "ops-1", at: at(days: 3))
        try settlement.reject(paid[1].transfer, command: "ops-2", at: at(days: 3))
        let refund = try settlement.settle(
            .orderRefunded(order: "o2", amount: yuan(300), at: at(days: 4)),
            id: "o2:refund",
            campaign: campaignID
        )
        #expect(!refund.reversals.isEmpty)
        first["o2:refund"] = refund
        settlement.advance(to: at(days: 20))
        let restored = try Settlement(snapshot: settlement.snapshot())
        for (id, outcome) in first {
            #expect(settlement.outcome(of: id, campaign: campaignID) == outcome, "\(id)")
            #expect(restored.outcome(of: id, campaign: campaignID) == outcome, "\(id), restored")
        }
        #expect(settlement.outcome(of: "late", campaign: campaignID) == nil, "refused events leave no outcome")
        #expect(settlement.outcome(of: "never", campaign: campaignID) == nil)
        #expect(settlement.outcome(of: "o1:paid", campaign: "nope") == nil)
    }

    @Test func aRangeOfTransferIDsCountsAndIterates() {
        let first = TransferID(rawValue: 4)
        let range = first..<first.advanced(by: 3)
        #expect(range.map(\.rawValue) == [4, 5, 6])
        #expect(range.count == 3)
        #expect(first.distance(to: TransferID(rawValue: 1)) == -3)
    }
}
