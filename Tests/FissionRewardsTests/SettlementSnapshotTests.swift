import FissionCore
import FissionRewards
import Testing

private let campaignA: CampaignID = "spring"
private let campaignB: CampaignID = 77

private func instant(_ hours: Int64) -> Timestamp {
    try! start.adding(milliseconds: hours * 3_600_000)
}

/// Two campaigns that use every rule shape, caps (daily ones too), holds and string and integer ids.
private func makeSettlement() throws -> Settlement {
    var settlement = Settlement()
    try settlement.addCampaign(
        RewardCampaign(
            id: campaignA,
            version: 3,
            startsAt: start,
            endsAt: instant(24 * 90),
            offset: .chinaStandardTime,
            currency: .cny,
            rules: [
                RewardRule(
                    id: "commission",
                    shape: .commission(
                        levelRates: [.percent(10), .percent(5)],
                        skuOverrides: [.init(sku: "vip", perUnitMinorUnits: [300, 100])]
                    ),
                    eligibility: .init(excludedOrderKinds: [.bargain]),
                    caps: .init(perMemberDailyQuantity: 20_000),
                    holdDays: 2
                ),
                RewardRule(
                    id: "split",
                    shape: .milestoneSplit(
                        total: RewardAmount(5_000, cny),
                        weights: [.init(.registered, 15), .init(.firstOrder, 15), .init(.repurchase, 20)]
                    )
                ),
                RewardRule(
                    id: 9,
                    shape: .ladder(
                        unit: .points,
                        tiers: [.init(fromCount: 1, amountEach: 10), .init(fromCount: 3, amountEach: 25)],
                        semantics: .retroactive
                    ),
                    caps: .init(perMemberCount: 6)
                ),
                RewardRule(
                    id: "buyer",
                    shape: .orderFixed(RewardAmount(2, .coupon("welcome"))),
                    eligibility: .init(newMembersOnly: true, firstOrderOnly: true)
                ),
            ]
        )
    )
    try settlement.addCampaign(
        RewardCampaign(
            id: campaignB,
            startsAt: start,
            endsAt: instant(24 * 90),
            offset: .utc,
            currency: .cny,
            rules: [
                RewardRule(
                    id: "mutual",
                    shape: .mutual(sharer: RewardAmount(50, .points), helper: RewardAmount(20, .points)),
                    caps: .init(perCampaignQuantity: 2_000)
                ),
                RewardRule(id: "invite", shape: .inviteFixed(RewardAmount(300, cny)), holdDays: 1),
            ]
        )
    )
    try settlement.fund(campaignA, amount: RewardAmount(400_000, cny), id: "fund-a", at: start)
    try settlement.fund(campaignA, amount: RewardAmount(5_000, .points), id: "fund-a-points", at: start)
    try settlement.fund(campaignA, amount: RewardAmount(40, .coupon("welcome")), id: "fund-a-coupons", at: start)
    try settlement.fund(campaignB, amount: RewardAmount(3_000, cny), id: "fund-b", at: start)
    try settlement.fund(campaignB, amount: RewardAmount(1_500, .points), id: "fund-b-points", at: start)
    return settlement
}

/// One step of a random stream: an event for a campaign, or time passing.
private enum Step {
    case settle(RewardEvent, EventID, CampaignID)
    case advance(Timestamp)
}

/// A seeded stream over a small population, so ids, orders and caps collide: registrations, paid
/// orders (some bargain, some with the VIP SKU), refunds (partial, full, too large), helps, time
/// passing, repeated events and events that must fail.
private struct StreamMaker {
    var generator: SeededGenerator
    var registered: [MemberID] = []
    var paidOrders: [(OrderID, Int64)] = []
    var paidCounts: [MemberID: Int64] = [:]
    var hour: Int64 = 0
    var eventCount = 0
    var earlier: [Step] = []

    init(seed: UInt64) {
        self.generator = SeededGenerator(seed: seed)
    }

    mutating func member(_ index: UInt64) -> MemberID {
        index % 3 == 0 ? MemberID(Int64(index)) : try! MemberID("m\(index)")
    }

    mutating func next() throws -> Step {
        self.eventCount += 1
        self.hour += Int64(self.generator.next(below: 6))
        let at = instant(self.hour)
        let id = try EventID("e\(self.eventCount)")
        if self.generator.next(below: 12) == 0, let repeated = self.earlier.randomElement(using: &self.generator) {
            return repeated
        }
        let step: Step
        switch self.generator.next(below: 10) {
        case 0, 1:
            let newcomer = self.member(UInt64(self.registered.count + 1))
            let inviter =
                self.registered.isEmpty || self.generator.next(below: 5) == 0
                ? nil : self.registered.randomElement(using: &self.generator)
            self.registered.append(newcomer)
            let campaign = self.generator.next(below: 3) == 0 ? campaignB : campaignA
            step = .settle(.memberRegistered(member: newcomer, inviter: inviter, at: at), id, campaign)
        case 2, 3, 4, 5:
            guard let buyer = self.registered.randomElement(using: &self.generator) else { return try self.next() }
            var inviters: [MemberID] = []
            for _ in 0..<self.generator.next(below: 3) {
                if let candidate = self.registered.randomElement(using: &self.generator), candidate != buyer,
                    !inviters.contains(candidate)
                {
                    inviters.append(candidate)
                }
            }
            self.paidCounts[buyer, default: 0] += 1
            let order = OrderID(Int64(self.paidOrders.count + 1) * 7)
            let amount = self.generator.next(in: 0...30_000)
            let vip = self.generator.next(below: 4) == 0
            let paid = try OrderPaid(
                order: order,
                buyer: buyer,
                inviters: inviters,
                kind: self.generator.next(below: 6) == 0 ? .bargain : .regular,
                buyerPaidOrderCount: self.paidCounts[buyer]!,
                lines: vip
                    ? [
                        .init(sku: "vip", quantity: 2, netPaid: Money(minorUnits: amount, currency: .cny)),
                        .init(sku: "s", quantity: 1, netPaid: Money(minorUnits: 1_000, currency: .cny)),
                    ]
                    : [.init(sku: "s", quantity: 1, netPaid: Money(minorUnits: amount, currency: .cny))],
                at: at
            )
            self.paidOrders.append((order, paid.netPaid.minorUnits))
            step = .settle(.orderPaid(paid), id, campaignA)
        case 6, 7:
            guard let (order, paid) = self.paidOrders.randomElement(using: &self.generator) else {
                return try self.next()
            }
            let amount = self.generator.next(below: 3) == 0 ? paid : self.generator.next(in: 1...max(1, paid / 2 + 1))
            step = .settle(
                .orderRefunded(order: order, amount: Money(minorUnits: amount, currency: .cny), at: at),
                id,
                campaignA
            )
        case 8:
            guard let sharer = self.registered.randomElement(using: &self.generator),
                let helper = self.registered.randomElement(using: &self.generator)
            else { return try self.next() }
            step = .settle(.helped(sharer: sharer, helper: helper, at: at), id, campaignB)
        default:
            step = .advance(instant(self.hour + Int64(self.generator.next(below: 72))))
        }
        self.earlier.append(step)
        return step
    }
}

/// Everything observable that a step did: the outcome or the error, or the posts.
private func apply(_ step: Step, to settlement: inout Settlement) -> String {
    switch step {
    case .settle(let event, let id, let campaign):
        do {
            let outcome = try settlement.settle(event, id: id, campaign: campaign)
            return "\(outcome)"
        } catch {
            return "error \(error.code)"
        }
    case .advance(let now):
        return "posted \(settlement.advance(to: now))"
    }
}

/// Every balance, transfer and per-member figure the public API shows.
private func observations(_ settlement: Settlement, members: [MemberID]) -> [String] {
    var lines: [String] = []
    for account in settlement.ledger.accountKeys {
        lines.append("\(account) \(settlement.ledger.balance(of: account))")
    }
    var after: TransferID? = nil
    while true {
        let page = settlement.ledger.transfers(after: after, limit: 500)
        guard let last = page.last else { break }
        lines.append(contentsOf: page.map { "\($0)" })
        after = last.id
    }
    for member in members {
        for (campaign, rules) in [
            (campaignA, ["commission", "split", 9, "buyer"] as [RuleID]), (campaignB, ["mutual", "invite"]),
        ] {
            lines.append("\(member) invites \(settlement.inviteCount(of: member, in: campaign))")
            for rule in rules {
                lines.append("\(member) \(rule) \(settlement.granted(by: rule, to: member, in: campaign))")
            }
        }
    }
    return lines
}

struct SettlementSnapshotTests {
    static let seeds = propertySeeds(from: 0x5_A1F_0000, ciCount: 20)

    @Test("A restored settlement equals the original and behaves exactly like it", arguments: seeds)
    func roundTripThenContinue(seed: UInt64) throws {
        var maker = StreamMaker(seed: seed)
        var original = try makeSettlement()
        var length = Int(maker.generator.next(in: 20...160))
        // Something worth restoring: grants beyond the five fundings (a short stream may need more).
        while length > 0 || (original.ledger.transferCount <= 8 && length > -2_000) {
            _ = apply(try maker.next(), to: &original)
            length -= 1
        }
        #expect(original.ledger.transferCount > 8, "seed \(seed): the stream granted nothing to restore")
        #expect(original.ledger.audit().isEmpty, "seed \(seed)")

        let bytes = original.snapshot()
        var restored = try Settlement(snapshot: bytes)
        #expect(restored == original, "seed \(seed)")
        #expect(restored.snapshot() == bytes, "seed \(seed)")
        #expect(restored.campaign(campaignA) == original.campaign(campaignA), "seed \(seed)")
        #expect(
            observations(restored, members: maker.registered) == observations(original, members: maker.registered),
            "seed \(seed)"
        )

        // The same further events, replays and failures included, give the same results.
        for step in 0..<120 {
            let next = try maker.next()
            let fromOriginal = apply(next, to: &original)
            let fromRestored = apply(next, to: &restored)
            #expect(fromOriginal == fromRestored, "seed \(seed), step \(step)")
        }
        let orders = maker.paidOrders.map(\.0)
        for order in orders {
            #expect(restored.refunded(order, in: campaignA) == original.refunded(order, in: campaignA), "seed \(seed)")
        }
        #expect(
            observations(restored, members: maker.registered) == observations(original, members: maker.registered),
            "seed \(seed)"
        )
        #expect(restored == original, "seed \(seed)")
        #expect(restored.ledger.audit().isEmpty, "seed \(seed)")
    }

    @Test("An empty settlement round-trips")
    func empty() throws {
        let settlement = Settlement()
        let restored = try Settlement(snapshot: settlement.snapshot())
        #expect(restored == settlement)
        #expect(restored.ledger.transferCount == 0)
    }

    @Test("Every truncation of a snapshot throws corruptSnapshot")
    func truncated() throws {
        var maker = StreamMaker(seed: 99)
        var settlement = try makeSettlement()
        for _ in 0..<40 { _ = apply(try maker.next(), to: &settlement) }
        let bytes = settlement.snapshot()
        for length in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 400)) {
            #expect(throws: FissionError.self, "length \(length)") {
                try Settlement(snapshot: Array(bytes.prefix(length)))
            }
            do {
                _ = try Settlement(snapshot: Array(bytes.prefix(length)))
            } catch {
                #expect(error.code == .corruptSnapshot, "length \(length)")
            }
        }
        #expect(throws: FissionError.self) { try Settlement(snapshot: bytes + [0]) }
    }

    @Test("Foreign bytes, another version and flipped bytes throw or restore a sound settlement")
    func corrupted() throws {
        var maker = StreamMaker(seed: 7)
        var settlement = try makeSettlement()
        for _ in 0..<60 { _ = apply(try maker.next(), to: &settlement) }
        let bytes = settlement.snapshot()

        #expect(throws: FissionError.self) { try Settlement(snapshot: Array("FSNG".utf8) + bytes.dropFirst(4)) }
        for unknown: UInt8 in [0, 4, 255] {
            var version = bytes
            version[4] = unknown
            #expect(throws: FissionError.self) { try Settlement(snapshot: version) }
        }
        #expect(throws: FissionError.self) { try Settlement(snapshot: []) }

        // A flipped byte is either caught, or lands in a value any state could hold (an amount,
        // a time): then the result must still be a sound ledger. It must never crash.
        var generator = SeededGenerator(seed: 0xF11B)
        var caught = 0
        for trial in 0..<300 {
            var damaged = bytes
            let position = Int(generator.next(below: UInt64(bytes.count)))
            damaged[position] ^= UInt8(1 + generator.next(below: 255))
            do {
                let restored = try Settlement(snapshot: damaged)
                #expect(restored.ledger.audit().isEmpty, "trial \(trial), byte \(position)")
            } catch {
                #expect(error.code == .corruptSnapshot, "trial \(trial), byte \(position)")
                caught += 1
            }
        }
        #expect(caught > 100)
    }
}

/// Compact batches against one event at a time, over the same random streams: every rule shape,
/// two campaigns, repeats, refused events and time passing.
struct CompactBatchPropertyTests {
    static let seeds = propertySeeds(from: 0xBA7C_0000, ciCount: 20)

    @Test("A compact batch settles a random stream exactly as one event at a time", arguments: seeds)
    func compactBatchesMatchSingleEvents(seed: UInt64) throws {
        var maker = StreamMaker(seed: seed)
        let steps = try (0..<Int(maker.generator.next(in: 40...200))).map { _ in try maker.next() }
        var single = try makeSettlement()
        var batched = try makeSettlement()
        // One by one: what each settle step returned, or its error.
        var expected: [Result<SettlementOutcome, FissionError>?] = []
        for step in steps {
            switch step {
            case .settle(let event, let id, let campaign):
                expected.append(
                    Result { () throws(FissionError) in try single.settle(event, id: id, campaign: campaign) }
                )
            case .advance(let now):
                single.advance(to: now)
                expected.append(nil)
            }
        }
        // In batches: each run of steps for one campaign is one call; time passing ends a run.
        var entries: [SettlementBatch.Entry?] = []
        var errors: [Int: FissionError] = [:]
        var run: [(id: EventID, event: RewardEvent)] = []
        var runCampaign: CampaignID? = nil
        func flush() throws {
            guard let campaign = runCampaign, !run.isEmpty else { return }
            let batch = try batched.settle(compact: run, campaign: campaign)
            for failure in batch.failures { errors[entries.count + failure.index] = failure.error }
            entries.append(contentsOf: batch.entries.map(Optional.some))
            run = []
        }
        for step in steps {
            switch step {
            case .settle(let event, let id, let campaign):
                if campaign != runCampaign { try flush() }
                runCampaign = campaign
                run.append((id, event))
            case .advance(let now):
                try flush()
                batched.advance(to: now)
                entries.append(nil)
            }
        }
        try flush()

        #expect(batched == single, "seed \(seed)")
        #expect(batched.snapshot() == single.snapshot(), "seed \(seed)")
        #expect(entries.count == expected.count, "seed \(seed)")
        for (index, step) in steps.enumerated() {
            guard case .settle(_, let id, let campaign) = step, let entry = entries[index] else { continue }
            switch expected[index] {
            case .success(let outcome):
                #expect(entry.status == (outcome.isDuplicate ? .duplicate : .settled), "seed \(seed), step \(index)")
                let made = (outcome.grants.map(\.transfer) + outcome.reversals).sorted()
                #expect(Array(entry.transfers) == made, "seed \(seed), step \(index)")
                #expect(entry.skippedCount == outcome.skipped.count, "seed \(seed), step \(index)")
                let stored = try #require(batched.outcome(of: id, campaign: campaign), "seed \(seed), step \(index)")
                #expect(!stored.isDuplicate, "seed \(seed), step \(index)")
                #expect(
                    stored.grants == outcome.grants && stored.skipped == outcome.skipped
                        && stored.reversals == outcome.reversals,
                    "seed \(seed), step \(index)"
                )
            case .failure(let error):
                #expect(entry.status == .failed && entry.transfers.isEmpty, "seed \(seed), step \(index)")
                #expect(errors[index]?.code == error.code, "seed \(seed), step \(index)")
            case nil:
                Issue.record("seed \(seed), step \(index): a settle step without a result")
            }
        }
    }
}
