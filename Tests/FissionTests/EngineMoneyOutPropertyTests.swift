import Testing

@testable import Fission

/// Money leaving wallets through the engine, on random streams built from the state as it goes:
/// members withdraw all or part of what they may, orders behind their earnings are refunded so
/// that debts arise, withdrawals repay them and operators write them off. The same commands one at
/// a time and in batches (on both stores) agree outcome for outcome, reopen to the same state from
/// the journal and from a checkpoint, and the money adds up: what left through `outside` is what
/// the effects say was withdrawn, less what was funded and written off.
///
/// `FISSION_PROPERTY_SEEDS=N` runs N seeds (Contributing.md); CI runs a few.
struct EngineMoneyOutPropertyTests {
    static let seeds = propertySeeds(from: 9_300, ciCount: 8)
    static let members: [MemberID] = (0..<10).map { try! MemberID("p\($0)") }

    /// A campaign that posts at once (so earnings can be withdrawn before a refund takes them
    /// back): 3 yuan an invite, 20% / 10% commission.
    static func campaign() throws -> RewardCampaign {
        try RewardCampaign(
            id: "cash",
            startsAt: start,
            endsAt: at(days: 60),
            offset: .chinaStandardTime,
            currency: .cny,
            rules: [
                try RewardRule(id: "invite", shape: .inviteFixed(.money(yuan(3)))),
                try RewardRule(
                    id: "commission",
                    shape: .commission(levelRates: [.percent(20), .percent(10)], skuOverrides: []),
                    holdDays: 0
                ),
            ]
        )
    }

    /// One group of commands, applied at one time.
    struct Group {
        let at: Timestamp
        var commands: [(key: EventID, command: EngineCommand)] = []
    }

    @Test func withdrawalsRepaymentsAndWriteOffsAgreeEverywhereAndAddUp() async throws {
        var repaymentsSeen = 0
        var writeOffsSeen = 0
        for seed in Self.seeds {
            let (repayments, writeOffs) = try await Self.run(seed: seed)
            repaymentsSeen += repayments
            writeOffsSeen += writeOffs
        }
        // The streams are meant to reach the debt paths, not only plain payouts.
        #expect(repaymentsSeen > 0 && writeOffsSeen > 0, "\(repaymentsSeen) repayments, \(writeOffsSeen) write-offs")
    }

    /// Runs one seed; returns how many withdrawals repaid a debt and how many write-offs applied.
    static func run(seed: UInt64) async throws -> (repayments: Int, writeOffs: Int) {
        var generator = SeededGenerator(seed: seed)
        func pick<Element>(_ elements: [Element]) -> Element {
            elements[Int(generator.next(below: UInt64(elements.count)))]
        }
        let single = try FissionEngine(store: InMemoryStore())
        let batchedStore = try (seed % 2 == 0 ? StoreKind.sqlite : StoreKind.memory).make()
        let batched = try FissionEngine(store: batchedStore)
        var setup = Group(at: at(hours: 1))
        setup.commands = [
            ("publish", .publishCampaign(try Self.campaign())),
            ("fund", .fundCampaign("cash", amount: try .money(yuan(2_000)))),
        ]
        for (index, member) in Self.members.enumerated() {
            let inviter = index == 0 ? nil : Self.members[Int(generator.next(below: UInt64(index)))]
            setup.commands.append(
                (
                    try EventID("reg-\(member)"),
                    .registerMember(member, invitedBy: inviter, campaign: "cash", channel: nil)
                )
            )
        }
        var groups = [setup]
        var paid: [OrderID: Int64] = [:]  // fen still refundable
        var accepted: [(key: EventID, command: EngineCommand)] = []
        var nextKey = 0
        var repayments = 0
        var writeOffs = 0
        var withdrawn: Int64 = 0
        var forgiven: Int64 = 0
        let checkpointAfter = 1 + Int(seed % 20)

        for number in 0..<40 {
            if number > 0 {
                var group = Group(at: at(days: Int64(number)))
                let state = await single.state
                let settlement = state.settlement
                for _ in 0..<(1 + Int(generator.next(below: 5))) {
                    nextKey += 1
                    let key = EventID(Int64(nextKey))
                    let member = pick(Self.members)
                    let command: EngineCommand
                    switch generator.next(below: 100) {
                    case 0..<35:
                        let order = try OrderID("o\(nextKey)")
                        let amount = 1_000 + Int64(generator.next(below: 20_000))
                        paid[order] = amount
                        command = .orderPaid(
                            order: order,
                            buyer: pick(Array(Self.members.dropFirst())),
                            kind: .regular,
                            lines: [
                                OrderPaid.Line(
                                    sku: "s",
                                    quantity: 1,
                                    netPaid: Money(minorUnits: amount, currency: .cny)
                                )
                            ]
                        )
                    case 35..<55 where !paid.isEmpty:
                        let order = pick(paid.keys.sorted())
                        let left = paid[order]!
                        let amount = generator.next(below: 2) == 0 ? left : max(left / 2, 0)
                        paid[order] = left - amount
                        command = .orderRefunded(order: order, amount: Money(minorUnits: amount, currency: .cny))
                    case 55..<80:
                        // All or half of what the member may take out (often a member in debt
                        // whose wallet now covers it); or one fen too much.
                        let owing = Self.members.filter {
                            settlement.owed(by: $0, in: cny) > 0 && settlement.withdrawable(by: $0, in: cny) > 0
                        }
                        let payee = owing.isEmpty || generator.next(below: 2) == 0 ? member : pick(owing)
                        let room = settlement.withdrawable(by: payee, in: cny)
                        let amount = room == 0 ? 1 : (generator.next(below: 2) == 0 ? room : max(room / 2, 1))
                        command = .withdraw(payee, amount: try .money(Money(minorUnits: amount, currency: .cny)))
                    case 80..<88:
                        let debtor = Self.members.first { settlement.owed(by: $0, in: cny) > 0 }
                        if let debtor {
                            let debt = settlement.owed(by: debtor, in: cny)
                            let amount = generator.next(below: 2) == 0 ? debt : max(debt / 2, 1)
                            command = .writeOffDebt(
                                debtor,
                                amount: try .money(Money(minorUnits: amount, currency: .cny))
                            )
                        } else {
                            command = .writeOffDebt(member, amount: try .money(yuan(1)))  // refused: no debt
                        }
                    default:
                        if let earlier = accepted.isEmpty ? nil : pick(accepted) {
                            group.commands.append(earlier)  // a retry
                            continue
                        }
                        command = .advance
                    }
                    group.commands.append((key, command))
                }
                groups.append(group)
            }
            // One at a time on the reference engine, then as one batch on the other.
            let group = groups[number]
            var singleResults: [Result<EngineOutcome, FissionError>] = []
            for (key, command) in group.commands {
                do throws(FissionError) {
                    let outcome = try await single.submit(command, key: key, at: group.at)
                    singleResults.append(.success(outcome))
                    guard !outcome.isDuplicate else { continue }
                    accepted.append((key, command))
                    for effect in outcome.effects {
                        switch effect {
                        case .withdrawn(_, let amount, _): withdrawn += amount.quantity
                        case .debtRepaid: repayments += 1
                        case .debtWrittenOff(_, let amount, _):
                            forgiven += amount.quantity
                            writeOffs += 1
                        default: break
                        }
                    }
                } catch {
                    singleResults.append(.failure(error))
                }
            }
            let batchResults = try await batched.submit(batch: group.commands, at: group.at)
            for (index, pair) in zip(singleResults, batchResults).enumerated() {
                switch pair {
                case (.success(let one), .success(let other)):
                    #expect(one == other, "seed \(seed): group \(number) command \(index)")
                case (.failure(let one), .failure(let other)):
                    #expect(one.code == other.code, "seed \(seed): group \(number) command \(index)")
                default:
                    Issue.record(
                        "seed \(seed): group \(number) command \(index): \(pair.0) one by one, \(pair.1) batched"
                    )
                }
            }
            if number == checkpointAfter { try await batched.checkpoint() }
        }

        let expected = await fingerprint(single)
        #expect(await fingerprint(batched) == expected, "seed \(seed)")
        #expect(await fingerprint(try FissionEngine(store: single.store)) == expected, "seed \(seed): from the journal")
        #expect(
            await fingerprint(try FissionEngine(store: batchedStore)) == expected,
            "seed \(seed): from a checkpoint"
        )
        let ledger = await single.state.settlement.ledger
        #expect(ledger.audit().isEmpty, "seed \(seed)")
        // Outside gave the budget its funding and the write-offs; it took the payouts.
        #expect(ledger.balance(of: .outside(cny)).posted == withdrawn - 200_000 - forgiven, "seed \(seed)")
        for member in Self.members {
            #expect(ledger.balance(of: .receivable(member, cny)).posted <= 0, "seed \(seed) \(member)")
        }
        return (repayments, writeOffs)
    }
}
