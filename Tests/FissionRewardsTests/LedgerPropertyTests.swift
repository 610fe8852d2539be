import FissionCore
import FissionRewards
import Testing

/// A deliberately simple model of the ledger's rules, written from the spec, not from the code.
private struct ReferenceLedger {
    struct Hold {
        let from: AccountKey
        let to: AccountKey
        var remaining: Int64
        var state: String  // "open", "posted", "voided"
    }

    var posted: [AccountKey: Int64] = [:]
    var pendingOut: [AccountKey: Int64] = [:]
    var pendingIn: [AccountKey: Int64] = [:]
    var holds: [TransferID: Hold] = [:]
    var reversible: [TransferID: (from: AccountKey, to: AccountKey, left: Int64)] = [:]

    func available(_ account: AccountKey) -> Int64 {
        (self.posted[account] ?? 0) - (self.pendingOut[account] ?? 0)
    }

    func mayGoNegative(_ account: AccountKey) -> Bool {
        switch account.owner {
        case .outside, .receivable: true
        default: false
        }
    }
}

struct LedgerPropertyTests {
    static let seeds = propertySeeds(from: 0x1ED6_E400, ciCount: 40)

    @Test("Random operation streams keep the ledger equal to a reference model", arguments: seeds)
    func randomStreamsMatchTheReference(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        var ledger = Ledger()
        var model = ReferenceLedger()
        let unit = LedgerUnit.money(.cny)
        let campaign: CampaignID = "c"
        let budget = AccountKey.budget(campaign, unit)
        let members: [MemberID] = ["m0", "m1", "m2"]
        let now = try Timestamp(millisecondsSinceEpoch: 0)
        var clock: Int64 = 0
        // What each key was first used for: a retry repeats it exactly (the hold's end included).
        var usedKeys: [TransferKey: (AccountKey, AccountKey, Int64, Timestamp?)] = [:]

        for step in 0..<300 {
            let context = "seed \(seed) step \(step)"
            let reason = TransferReason(command: EventID(Int64(step)))
            switch generator.next(below: 7) {
            case 0:  // fund
                let amount = generator.next(in: 1...5_000)
                let key = TransferKey(.funding, campaign: campaign, source: EventID(Int64(step)))
                try ledger.transfer(
                    key: key,
                    debit: .outside(unit),
                    credit: budget,
                    amount: amount,
                    reason: reason,
                    at: now
                )
                model.posted[.outside(unit), default: 0] -= amount
                model.posted[budget, default: 0] += amount
            case 1, 2:  // grant, sometimes a retry of an earlier key
                let member = members[Int(generator.next(below: 3))]
                let source = EventID(Int64(generator.next(below: 40)))
                let key = TransferKey(.grant, campaign: campaign, rule: "r", beneficiary: member, source: source)
                let wallet = AccountKey.wallet(member, unit)
                let amount = generator.next(in: -1...1_500)
                let isHold = generator.next(below: 2) == 0
                let holdUntil = isHold ? try Timestamp(millisecondsSinceEpoch: clock + generator.next(in: 0...10)) : nil
                let result = Result { () throws(FissionError) in
                    try ledger.transfer(
                        key: key,
                        debit: budget,
                        credit: wallet,
                        amount: amount,
                        holdUntil: holdUntil,
                        reason: reason,
                        at: now
                    )
                }
                if let earlier = usedKeys[key] {
                    if earlier == (budget, wallet, amount, holdUntil) {
                        #expect((try? result.get())?.isDuplicate == true, "\(context)")
                    } else {
                        #expect(
                            result.failureCode == .idempotencyConflict || result.failureCode == .invalidAmount,
                            "\(context)"
                        )
                    }
                } else if amount <= 0 {
                    #expect(result.failureCode == .invalidAmount, "\(context)")
                } else if model.available(budget) < amount {
                    #expect(result.failureCode == .insufficientFunds, "\(context)")
                } else {
                    let outcome = try result.get()
                    usedKeys[key] = (budget, wallet, amount, holdUntil)
                    let id = outcome.transfers[0]
                    if isHold {
                        model.pendingOut[budget, default: 0] += amount
                        model.pendingIn[wallet, default: 0] += amount
                        model.holds[id] = .init(from: budget, to: wallet, remaining: amount, state: "open")
                    } else {
                        model.posted[budget, default: 0] -= amount
                        model.posted[wallet, default: 0] += amount
                        model.reversible[id] = (budget, wallet, amount)
                    }
                }
            case 3:  // void part or all of a random hold
                guard let id = pick(model.holds.keys, &generator), let hold = model.holds[id] else { continue }
                let partial = generator.next(below: 2) == 0
                let amount = partial ? generator.next(in: 1...max(1, hold.remaining)) : nil
                let result = Result { () throws(FissionError) in
                    try ledger.void(
                        id,
                        amount: amount,
                        key: partial ? TransferKey(.reversal, campaign: campaign, source: EventID(Int64(step))) : nil,
                        reason: reason,
                        at: now
                    )
                }
                if hold.state == "posted" {
                    #expect(result.failureCode == .transferNotPending, "\(context)")
                } else if hold.state == "voided" {
                    #expect(
                        partial ? result.failureCode == .transferNotPending : (try? result.get())?.isDuplicate == true,
                        "\(context)"
                    )
                } else {
                    _ = try result.get()
                    let released = amount ?? hold.remaining
                    model.pendingOut[hold.from, default: 0] -= released
                    model.pendingIn[hold.to, default: 0] -= released
                    model.holds[id]!.remaining -= released
                    if model.holds[id]!.remaining == 0 { model.holds[id]!.state = "voided" }
                }
            case 4:  // time passes; matured holds post
                clock += generator.next(in: 0...4)
                let posts = ledger.postMatured(upTo: try Timestamp(millisecondsSinceEpoch: clock), at: now)
                for post in posts {
                    guard case .postPending(let pendingID) = ledger.transfer(post)?.kind,
                        let hold = model.holds[pendingID], hold.state == "open"
                    else {
                        Issue.record("\(context): unexpected post \(post)")
                        continue
                    }
                    model.pendingOut[hold.from, default: 0] -= hold.remaining
                    model.pendingIn[hold.to, default: 0] -= hold.remaining
                    model.posted[hold.from, default: 0] -= hold.remaining
                    model.posted[hold.to, default: 0] += hold.remaining
                    model.holds[pendingID]!.state = "posted"
                    model.reversible[post] = (hold.from, hold.to, hold.remaining)
                }
                for (id, hold) in model.holds where hold.state == "open" {
                    let holdUntil = ledger.transfer(id)?.holdUntil?.millisecondsSinceEpoch ?? .min
                    #expect(holdUntil > clock, "\(context): hold \(id) matured but did not post")
                }
            case 5:  // reverse part of a random posted grant
                guard let id = pick(model.reversible.keys, &generator), let grant = model.reversible[id] else {
                    continue
                }
                let amount = generator.next(in: 1...max(1, grant.left + 2))
                let key = TransferKey(.reversal, campaign: campaign, source: EventID(Int64(step)))
                let result = Result { () throws(FissionError) in
                    try ledger.reverse(id, amount: amount, key: key, reason: reason, at: now)
                }
                if amount > grant.left {
                    #expect(result.failureCode == .invalidReversal, "\(context)")
                } else {
                    _ = try result.get()
                    let fromWallet = min(max(model.available(grant.to), 0), amount)
                    model.posted[grant.to, default: 0] -= fromWallet
                    if case .wallet(let member) = grant.to.owner, fromWallet < amount {
                        model.posted[.receivable(member, unit), default: 0] -= amount - fromWallet
                    }
                    model.posted[grant.from, default: 0] += amount
                    model.reversible[id]!.left -= amount
                }
            default:  // a member withdraws what they can
                let member = members[Int(generator.next(below: 3))]
                let wallet = AccountKey.wallet(member, unit)
                let amount = generator.next(in: 1...800)
                let key = TransferKey(
                    .withdrawal,
                    campaign: campaign,
                    beneficiary: member,
                    source: EventID(Int64(step))
                )
                let result = Result { () throws(FissionError) in
                    try ledger.transfer(
                        key: key,
                        debit: wallet,
                        credit: .outside(unit),
                        amount: amount,
                        reason: reason,
                        at: now
                    )
                }
                if model.available(wallet) < amount {
                    #expect(result.failureCode == .insufficientFunds, "\(context)")
                } else {
                    _ = try result.get()
                    model.posted[wallet, default: 0] -= amount
                    model.posted[.outside(unit), default: 0] += amount
                }
            }
            #expect(ledger.audit().isEmpty, "\(context): \(ledger.audit())")
            for account in ledger.accountKeys {
                let balance = ledger.balance(of: account)
                #expect(balance.posted == model.posted[account] ?? 0, "\(context) \(account)")
                #expect(balance.debitsPending == model.pendingOut[account] ?? 0, "\(context) \(account)")
                #expect(balance.creditsPending == model.pendingIn[account] ?? 0, "\(context) \(account)")
                if !model.mayGoNegative(account) { #expect(balance.available >= 0, "\(context) \(account)") }
            }
        }
    }
}

/// A random element of `ids`, chosen by the seeded generator in a stable order (dictionaries
/// iterate in a different order in every process).
private func pick(_ ids: some Collection<TransferID>, _ generator: inout SeededGenerator) -> TransferID? {
    guard !ids.isEmpty else { return nil }
    let sorted = ids.sorted()
    return sorted[Int(generator.next(below: UInt64(sorted.count)))]
}

extension Result where Failure == FissionError {
    fileprivate var failureCode: FissionError.Code? {
        if case .failure(let error) = self { return error.code }
        return nil
    }
}
