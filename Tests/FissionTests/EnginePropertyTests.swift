import Fission
import Testing

/// Seeded random command streams through the whole engine: every kind of reward command, good
/// and bad, with retries and reused keys, submitted one by one to one engine and in batches to
/// another. What a host relies on whatever the stream:
/// - one command at a time and batches give the same results and the same state;
/// - a refused command changes nothing; a retry returns the stored outcome and changes nothing;
///   a reused key with another payload is refused;
/// - reopening the store, from the journal alone or from a snapshot taken midway, restores
///   exactly the state the engine had; the ledger audits clean.
///
/// `FISSION_PROPERTY_SEEDS=N` runs N seeds (Contributing.md); CI runs a few.
struct EnginePropertyTests {
    static let seeds = propertySeeds(from: 7_100, ciCount: 16)

    @Test(arguments: seeds) func batchesAndSingleCommandsAgreeAndReopenToTheSameState(seed: UInt64) async throws {
        var stream = EngineStream(seed: seed)
        let batches = try stream.batches(count: 60)
        // The binding policies take different paths through registrations, bindings and orders.
        let policies = [
            BindingPolicy(),
            BindingPolicy(moment: .firstOrder),
            BindingPolicy(duration: .lastTouch),
            BindingPolicy(scope: .newMembersOnly, duration: .protectionWindow(days: 2)),
        ]
        let configuration = FissionEngine.Configuration(
            bindingPolicy: policies[Int(seed % 4)],
            layeringPolicy: EngineLayeringTests.policy
        )
        let single = try FissionEngine(store: InMemoryStore(), configuration: configuration)
        let batchedStore = try (seed % 3 == 0 ? StoreKind.sqlite : StoreKind.memory).make()
        let batched = try FissionEngine(store: batchedStore, configuration: configuration)
        var transfersAfterSetup = 0
        let checkpointAfter = Int(seed % UInt64(batches.count))
        /// Each accepted key's command and first outcome.
        var accepted: [EventID: (command: EngineCommand, outcome: EngineOutcome)] = [:]
        var refusals = 0
        var retries = 0

        for (number, batch) in batches.enumerated() {
            // The batch's own retries and reused keys point at keys accepted in earlier batches.
            let commands = batch.commands.map { stream.resolve($0, accepted: accepted) }
            // Odd batches give each command its own time, some minutes before the batch's (before
            // the clock, some of them), some after: `submit(batch:)` with times.
            let times = commands.indices.map { index in
                number % 2 == 1
                    ? (try? batch.at.adding(milliseconds: Int64(index * 7 - 10) * 60_000)) ?? batch.at : batch.at
            }
            var singleResults: [Result<EngineOutcome, FissionError>] = []
            for ((key, command), time) in zip(commands, times) {
                let before = await fingerprint(single)
                do throws(FissionError) {
                    let outcome = try await single.submit(command, key: key, at: time)
                    singleResults.append(.success(outcome))
                    if let first = accepted[key] {
                        // Only a retry of an accepted key may be accepted again: as a duplicate,
                        // with the first outcome, changing nothing.
                        #expect(outcome.isDuplicate, "seed \(seed): key \(key) applied twice")
                        #expect(outcome.sequence == first.outcome.sequence, "seed \(seed): retry of \(key)")
                        #expect(outcome.effects == first.outcome.effects, "seed \(seed): retry of \(key)")
                        #expect(await fingerprint(single) == before, "seed \(seed): retry of \(key) changed the state")
                        retries += 1
                    } else {
                        #expect(!outcome.isDuplicate)
                        accepted[key] = (command, outcome)
                    }
                } catch {
                    singleResults.append(.failure(error))
                    refusals += 1
                    #expect(await fingerprint(single) == before, "seed \(seed): refused \(key) changed the state")
                    if let first = accepted[key] {
                        #expect(first.command != command)
                        #expect(error.code == .idempotencyConflict, "seed \(seed): reused key \(key): \(error)")
                    }
                }
            }
            let batchResults =
                number % 2 == 1
                ? try await batched.submit(batch: zip(commands, times).map { ($0.key, $0.command, $1) })
                : try await batched.submit(batch: commands, at: batch.at)
            #expect(batchResults.count == commands.count)
            for (index, pair) in zip(singleResults, batchResults).enumerated() {
                switch pair {
                case (.success(let one), .success(let other)):
                    #expect(one == other, "seed \(seed): batch \(number) command \(index)")
                case (.failure(let one), .failure(let other)):
                    #expect(one.code == other.code, "seed \(seed): batch \(number) command \(index)")
                default:
                    Issue.record(
                        "seed \(seed): batch \(number) command \(index): \(pair.0) one by one, \(pair.1) batched"
                    )
                }
            }
            if number == checkpointAfter { try await batched.checkpoint() }
            if number == 0 { transfersAfterSetup = await single.state.settlement.ledger.transferCount }
        }

        let expected = await fingerprint(single)
        #expect(await fingerprint(batched) == expected, "seed \(seed)")
        #expect(await single.state.settlement.ledger.audit().isEmpty, "seed \(seed)")
        #expect(
            await fingerprint(try FissionEngine(store: single.store, configuration: configuration)) == expected,
            "seed \(seed): from the journal"
        )
        let reopened = try FissionEngine(store: batchedStore, configuration: configuration)
        #expect(await fingerprint(reopened) == expected, "seed \(seed): from a snapshot and the journal after it")
        #expect(await reopened.lastSequence == single.lastSequence)
        // The streams are meant to exercise refusals, retries and grants alike.
        #expect(refusals > 0 && retries > 0, "seed \(seed): a stream too tame")
        #expect(expected.transfers.count > transfersAfterSetup, "seed \(seed): nothing granted after the setup")
    }
}

/// A seeded stream of engine commands over a small world: sixteen members (some never
/// registered), two campaigns with every order-rule shape and small budgets, a group series,
/// a share model, and orders, refunds and operator decisions, many of them invalid on purpose.
struct EngineStream {
    /// A command, or a placeholder for one that repeats an accepted key.
    enum Planned {
        case new(EventID, EngineCommand)
        /// Resubmit an accepted command with its key.
        case retry(pick: UInt64)
        /// Submit another command under an accepted key.
        case reuse(pick: UInt64, EngineCommand)
    }

    struct Batch {
        let at: Timestamp
        let commands: [Planned]
    }

    private var generator: SeededGenerator
    private var nextKey: Int64 = 0
    private var time: Int64 = 0  // hours after `start`
    private let transfersHint: Int64 = 40

    init(seed: UInt64) {
        self.generator = SeededGenerator(seed: seed)
    }

    mutating func batches(count: Int) throws -> [Batch] {
        var batches = [Batch(at: at(hours: 1), commands: try Self.setup().map { .new($0.key, $0.command) })]
        for _ in 1..<count {
            // Mostly forward, sometimes dated before the engine's clock (applied at the clock).
            self.time += Int64(self.generator.next(below: 30)) - 3
            let size = 1 + Int(self.generator.next(below: 6))
            var commands: [Planned] = []
            for _ in 0..<size { commands.append(try self.command()) }
            batches.append(Batch(at: at(hours: max(self.time, 1)), commands: commands))
        }
        return batches
    }

    /// The command a placeholder stands for, given the keys accepted so far (a new command when
    /// none are).
    func resolve(
        _ planned: Planned,
        accepted: [EventID: (command: EngineCommand, outcome: EngineOutcome)]
    ) -> (key: EventID, command: EngineCommand) {
        switch planned {
        case .new(let key, let command):
            return (key, command)
        case .retry(let pick), .reuse(let pick, _):
            let keys = accepted.keys.sorted()
            guard !keys.isEmpty else { return (try! EventID("empty-\(pick)"), .advance) }
            let key = keys[Int(pick % UInt64(keys.count))]
            guard case .reuse(_, let other) = planned else { return (key, accepted[key]!.command) }
            return (key, other == accepted[key]!.command ? .releaseHeldReward(TransferID(rawValue: 999_999)) : other)
        }
    }

    static let summer: CampaignID = "summer"
    static let members: [MemberID] = (0..<16).map { try! MemberID("m\($0)") }
    static let orders: [OrderID] = (0..<24).map { try! OrderID("o\($0)") }

    /// Two campaigns on small budgets (so grants are skipped once they run out), a group series.
    static func setup() throws -> [(key: EventID, command: EngineCommand)] {
        let summer = try RewardCampaign(
            id: Self.summer,
            startsAt: start,
            endsAt: at(days: 40),
            offset: .chinaStandardTime,
            currency: .cny,
            rules: [
                try RewardRule(
                    id: "points",
                    shape: .orderFixed(RewardAmount(30, .points)),
                    eligibility: .init(excludedOrderKinds: [.bargain]),
                    caps: .init(perMemberCount: 3)
                ),
                try RewardRule(
                    id: "milestones",
                    shape: .milestoneSplit(
                        total: .money(yuan(9)),
                        weights: [.init(.registered, 1), .init(.firstOrder, 1), .init(.repurchase, 1)]
                    ),
                    holdDays: 2
                ),
                // Free for the first two invites, then repricing them (settlement revision two);
                // held, so that some of its grants are rejected.
                try RewardRule(
                    id: "ladder",
                    shape: .ladder(
                        unit: .points,
                        tiers: [.init(fromCount: 1, amountEach: 0), .init(fromCount: 3, amountEach: 25)],
                        semantics: .retroactive
                    ),
                    holdDays: 1
                ),
                // Settlement revision three: a help pays only from a helper registered in the
                // campaign, and both grants are held.
                try RewardRule(
                    id: "help",
                    shape: .mutual(sharer: RewardAmount(5, .points), helper: RewardAmount(5, .points)),
                    eligibility: .init(newMembersOnly: true),
                    holdDays: 1
                ),
            ]
        )
        let series = try GroupSeries(
            id: "club",
            name: "Club",
            purpose: .acquisition,
            capacity: 3,
            tags: [],
            entryRule: nil,
            offset: .chinaStandardTime,
            maximumGroups: 4
        )
        return [
            ("publish-spring", .publishCampaign(try springCampaign(holdDays: 3, coupon: true))),
            ("publish-summer", .publishCampaign(summer)),
            ("fund-spring", .fundCampaign(spring, amount: try .money(yuan(300)))),
            ("fund-spring-coupons", .fundCampaign(spring, amount: try RewardAmount(6, .coupon("c-10")))),
            ("fund-spring-points", .fundCampaign(spring, amount: try RewardAmount(200, .points))),
            ("fund-summer", .fundCampaign(Self.summer, amount: try .money(yuan(40)))),
            ("fund-summer-points", .fundCampaign(Self.summer, amount: try RewardAmount(500, .points))),
            ("series", .addGroupSeries(series)),
            ("register-m0", .registerMember(Self.members[0], invitedBy: nil, campaign: nil, channel: nil)),
            (
                "register-m1",
                .registerMember(Self.members[1], invitedBy: Self.members[0], campaign: spring, channel: nil)
            ),
        ]
    }

    private mutating func pick<Element>(_ elements: [Element]) -> Element {
        elements[Int(self.generator.next(below: UInt64(elements.count)))]
    }

    private mutating func chance(_ percent: UInt64) -> Bool { self.generator.next(below: 100) < percent }

    private mutating func member() -> MemberID { self.pick(Self.members) }

    private mutating func command() throws -> Planned {
        let roll = self.generator.next(below: 100)
        if roll < 8 { return .retry(pick: self.generator.next()) }
        if roll < 11 { return .reuse(pick: self.generator.next(), try self.freshCommand()) }
        self.nextKey += 1
        return .new(EventID(self.nextKey), try self.freshCommand())
    }

    private mutating func freshCommand() throws -> EngineCommand {
        let campaigns: [CampaignID?] = [spring, Self.summer, nil, "ghost"]
        // Out of 104: the layering slice (4) was added without taking from the others.
        switch self.generator.next(below: 104) {
        case 0..<18:
            // Mostly invited by a member earlier in the list (likely registered by now), so the
            // tree grows; sometimes by nobody, anyone (perhaps unregistered) or themselves.
            let member = Int(self.generator.next(below: UInt64(Self.members.count)))
            let inviter: MemberID? =
                switch self.generator.next(below: 20) {
                case 0..<14 where member > 0: Self.members[Int(self.generator.next(below: UInt64(member)))]
                case 14..<17: self.member()
                default: nil
                }
            return .registerMember(
                Self.members[member],
                invitedBy: inviter,
                campaign: self.pick(campaigns),
                channel: self.chance(50) ? "poster" : nil
            )
        case 18..<20:
            return .bind(self.member(), to: self.member(), campaign: self.pick(campaigns))
        case 20..<46:
            var lines = [line(1 + Int64(self.generator.next(below: 200)))]
            if self.chance(30) { lines.append(line(1 + Int64(self.generator.next(below: 50)), sku: "b")) }
            if self.chance(4) {
                lines.append(OrderPaid.Line(sku: "x", quantity: 1, netPaid: Money(minorUnits: 5, currency: .usd)))
            }
            return .orderPaid(
                order: self.pick(Self.orders),
                buyer: self.member(),
                kind: self.pick([.regular, .regular, .bargain, .groupBuy]),
                lines: lines
            )
        case 46..<58:
            let amount: Int64 = self.pick([0, 1, 5, 50, 100, 20_000, 100_000])
            return .orderRefunded(order: self.pick(Self.orders), amount: Money(minorUnits: amount, currency: .cny))
        case 58..<64:
            return .advance
        case 64..<68:
            let campaign = self.pick([spring, Self.summer, "ghost"])
            return self.chance(50) ? .pauseCampaign(campaign) : .resumeCampaign(campaign)
        case 68..<70:
            return .fundCampaign(
                self.pick([spring, Self.summer]),
                amount: try .money(yuan(1 + Int64(self.generator.next(below: 20))))
            )
        case 70..<78:
            let transfer = TransferID(rawValue: 1 + Int64(self.generator.next(below: UInt64(self.transfersHint))))
            return self.chance(60) ? .releaseHeldReward(transfer) : .rejectHeldReward(transfer)
        case 78..<85:
            return .joinGroup(
                self.member(),
                into: .series("club"),
                invitedBy: self.chance(50) ? self.member() : nil,
                channel: nil
            )
        case 85..<88:
            return .leaveGroup(self.member(), group: self.pick(["club-1", "club-2", "club-3"]))
        case 88..<91:
            return .checkIn(self.member(), activity: "run", group: self.chance(50) ? "club-1" : nil)
        case 91..<96:
            // Often more than the wallet holds, sometimes points; a clawback's debt is repaid first.
            let amount: RewardAmount =
                self.chance(80)
                ? try .money(Money(minorUnits: self.pick([1, 300, 500, 1_000, 1_500]), currency: .cny))
                : try RewardAmount(self.pick([1, 10]), .points)
            // Sometimes an operator forgives a debt instead (most members owe nothing: refused).
            return self.chance(15)
                ? .writeOffDebt(self.member(), amount: amount) : .withdraw(self.member(), amount: amount)
        case 96..<100:
            // Layers from activity: tracking starts (once; refused after), host reports, pins and
            // evaluations of a recent day (sometimes tomorrow: refused).
            switch self.generator.next(below: 10) {
            case 0..<2: return .trackActivity
            case 2..<5:
                if self.chance(20) {
                    // The host takes back reported spend of a recent day (often more than it holds).
                    let today = at(hours: max(self.time, 1)).calendarDay(in: .chinaStandardTime)
                    return .recordRefund(
                        self.member(),
                        amount: yuan(self.pick([1, 40])),
                        paidOn: today.advanced(by: -Int64(self.generator.next(below: 3)))
                    )
                }
                return .recordActivity(self.member(), kind: self.chance(70) ? .use : .spend(yuan(self.pick([1, 80]))))
            case 5..<8:
                let today = at(hours: max(self.time, 1)).calendarDay(in: .chinaStandardTime)
                return .evaluateLayers(on: today.advanced(by: Int64(self.generator.next(below: 4)) - 2))
            case 8:
                return .setMemberLayer(self.member(), layer: self.pick([.kol, .ordinary]))
            default:
                return .unpinMemberLayer(self.member())
            }
        default:
            let share: EventID = self.pick(["s1", "s2", "s3"])
            return self.chance(40)
                ? .model(
                    .open(share: share, sharer: self.member(), campaign: self.pick([spring, Self.summer]), goal: 2),
                    of: MutualShareModel.self
                )
                : .model(.help(share: share, helper: self.member()), of: MutualShareModel.self)
        }
    }
}
