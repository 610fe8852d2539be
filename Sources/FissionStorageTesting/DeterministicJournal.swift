import FissionCore
import FissionRewards
public import FissionStorage

/// A reproducible journal: entry `n` is a function of the seed and `n` alone, with real ledger
/// transfers of every kind.
///
/// Use it to fill a store and check what comes back, in tests and in crash tests where one
/// process writes and another checks: both make the same entries from the same seed. Entries
/// carry string and integer idempotency keys, empty and non-empty payloads, every
/// ``LedgerUnit`` and every ``TransferKind`` (fundings, pending grants with holds, their posts and
/// voids, posted grants and their reversals, withdrawals: posted transfers without a key, with
/// the repayment of a debt a reversal left, and write-offs of such debts), produced by a `Ledger`
/// so they are transfers an engine could have made.
public struct DeterministicJournal: Sendable {
    /// The seed every entry derives from.
    public let seed: UInt64
    /// The sequence of the last entry made, 0 before the first.
    public private(set) var lastSequence: Int64 = 0

    private var ledger = Ledger()
    private var openPendings: [TransferID] = []
    private var reversibleGrants: [(id: TransferID, amount: Int64)] = []
    /// Members whose receivable a reversal took below zero, and in which unit.
    private var debtors: [(member: MemberID, unit: LedgerUnit)] = []

    /// Creates a journal that has made no entries yet.
    public init(seed: UInt64) {
        self.seed = seed
    }

    /// Makes the next entry, numbered ``lastSequence`` + 1.
    public mutating func next() -> JournalEntry {
        self.lastSequence += 1
        let sequence = self.lastSequence
        let random = Self.mix(self.seed, UInt64(bitPattern: sequence))
        let key: EventID
        if sequence % 2 == 0 {
            // Valid by construction: printable ASCII well under the length limit.
            key = (try? EventID("order-\(self.seed)-\(sequence):paid")) ?? EventID(-sequence)
        } else {
            key = EventID(sequence)
        }
        let before = self.ledger.transferCount
        self.makeTransfers(random: random, command: key, sequence: sequence)
        let made = self.ledger.transferCount - before
        let transfers =
            made == 0 ? [] : self.ledger.transfers(after: TransferID(rawValue: Int64(before)), limit: made)
        return JournalEntry(
            sequence: sequence,
            idempotencyKey: key,
            payloadDigest: Self.mix(random, 1),
            command: Self.bytes(count: Int((random >> 24) % 24), seed: random ^ 0xC0),
            outcome: Self.bytes(count: Int((random >> 32) % 5), seed: random ^ 0x0C),
            transfers: transfers
        )
    }

    /// Makes the next `count` entries.
    public mutating func next(_ count: Int) -> [JournalEntry] {
        (0..<max(count, 0)).map { _ in self.next() }
    }

    /// The entries numbered 1 through `sequence` for `seed`.
    public static func entries(seed: UInt64, through sequence: Int64) -> [JournalEntry] {
        var journal = DeterministicJournal(seed: seed)
        return journal.next(Int(clamping: sequence))
    }

    /// The snapshot a writer of this journal saves at `sequence`: its state bytes are a function
    /// of the seed and the sequence, so a reader can check a snapshot it finds.
    public static func snapshot(seed: UInt64, at sequence: Int64) -> StoreSnapshot {
        let random = Self.mix(seed ^ 0x5A5A, UInt64(bitPattern: sequence))
        return StoreSnapshot(sequence: sequence, state: Self.bytes(count: 8 + Int(random % 64), seed: random))
    }

    /// How many entries a writer of this journal appends in the batch that starts at `sequence`:
    /// 1 to 4, so crash tests cover batches as well as single entries.
    public static func batchSize(seed: UInt64, startingAt sequence: Int64) -> Int {
        Int(Self.mix(seed ^ 0xBA7C, UInt64(bitPattern: sequence)) % 4) + 1
    }

    // MARK: - Transfers

    private static let units: [LedgerUnit] = [
        .money(.cny), .points, .coupon("coupon-10"), .gift(SKUID(7)), .virtualGood("vip-day"), .cardDraw,
        .lotteryDraw,
    ]

    private mutating func makeTransfers(random: UInt64, command: EventID, sequence: Int64) {
        let unit = Self.units[Int((random >> 8) % UInt64(Self.units.count))]
        let campaign = CampaignID(Int64((random >> 12) % 3) + 1)
        let member = MemberID(Int64((random >> 16) % 40) + 1)
        let rule: RuleID? = (random >> 20) % 3 == 0 ? nil : RuleID(Int64((random >> 22) % 5))
        let reason = TransferReason(command: command, rule: rule, ruleVersion: Int32((random >> 40) % 4))
        // A fixed epoch plus a second per entry: valid for any sequence this journal reaches.
        let at = (try? Timestamp(millisecondsSinceEpoch: 1_767_225_600_000 + sequence * 1_000)) ?? .earliest
        let budget = AccountKey.budget(campaign, unit)
        let wallet = AccountKey.wallet(member, unit)
        let amount = Int64((random >> 44) % 500) + 1
        switch random % 7 {
        case 0:
            return
        case 1:
            self.fund(budget, amount: amount * 10, command: command, campaign: campaign, reason: reason, at: at)
        case 2:
            self.fund(budget, amount: amount, command: command, campaign: campaign, reason: reason, at: at)
            let hold = (try? Timestamp(millisecondsSinceEpoch: at.millisecondsSinceEpoch + 86_400_000)) ?? at
            let key = TransferKey(.grant, campaign: campaign, rule: rule, beneficiary: member, source: command, part: 1)
            if let outcome = try? self.ledger.transfer(
                key: key,
                debit: budget,
                credit: wallet,
                amount: amount,
                holdUntil: hold,
                reason: reason,
                at: at
            ), let id = outcome.first {
                self.openPendings.append(id)
            }
        case 3, 4:
            guard !self.openPendings.isEmpty else {
                self.grant(budget, member, amount: amount, command: command, campaign: campaign, reason: reason, at: at)
                return
            }
            let pending = self.openPendings.remove(at: Int((random >> 48) % UInt64(self.openPendings.count)))
            if random % 7 == 3 {
                if let posted = try? self.ledger.post(pending, reason: reason, at: at), let id = posted.first,
                    let transfer = self.ledger.transfer(id)
                {
                    self.reversibleGrants.append((id, transfer.amount))
                }
            } else {
                _ = try? self.ledger.void(pending, reason: reason, at: at)
            }
        case 5:
            // Half the time a member in debt (a reversal outran their wallet) earns enough to
            // cover it and withdraws, repaying it first.
            var (member, wallet, budget, amount) = (member, wallet, budget, amount)
            if !self.debtors.isEmpty, (random >> 54) % 2 == 0 {
                let debtor = self.debtors.removeLast()
                member = debtor.member
                wallet = .wallet(member, debtor.unit)
                budget = .budget(campaign, debtor.unit)
                amount += max(0, -self.ledger.balance(of: .receivable(member, debtor.unit)).posted)
            }
            self.grant(budget, member, amount: amount, command: command, campaign: campaign, reason: reason, at: at)
            // Sometimes the member withdraws what they may (half or all of the wallet, after any
            // debt), so a later reversal can leave a debt.
            if (random >> 52) % 2 == 0 {
                let owed = max(0, -self.ledger.balance(of: .receivable(member, wallet.unit)).posted)
                let free = self.ledger.balance(of: wallet).available - owed
                if free > 0 {
                    let payout = (random >> 53) % 2 == 0 ? free : max(free / 2, 1)
                    _ = try? self.ledger.withdraw(payout, unit: wallet.unit, from: member, command: command, at: at)
                }
            }
        default:
            guard !self.reversibleGrants.isEmpty else {
                self.fund(budget, amount: amount, command: command, campaign: campaign, reason: reason, at: at)
                return
            }
            let (grant, granted) = self.reversibleGrants.remove(
                at: Int((random >> 48) % UInt64(self.reversibleGrants.count))
            )
            let key = TransferKey(.reversal, campaign: campaign, source: command, part: 0)
            _ = try? self.ledger.reverse(grant, amount: max(granted / 2, 1), key: key, reason: reason, at: at)
            if let original = self.ledger.transfer(grant), case .wallet(let owner) = original.credit.owner {
                let owed = -self.ledger.balance(of: .receivable(owner, original.unit)).posted
                // A third of the debts are written off at once, in part or in full.
                if owed > 0, (random >> 55) % 3 == 0 {
                    let amount = (random >> 57) % 2 == 0 ? owed : max(owed / 2, 1)
                    _ = try? self.ledger.writeOff(amount, unit: original.unit, of: owner, command: command, at: at)
                }
                if self.ledger.balance(of: .receivable(owner, original.unit)).posted < 0 {
                    self.debtors.append((owner, original.unit))
                }
            }
        }
    }

    private mutating func fund(
        _ budget: AccountKey,
        amount: Int64,
        command: EventID,
        campaign: CampaignID,
        reason: TransferReason,
        at: Timestamp
    ) {
        let key = TransferKey(.funding, campaign: campaign, source: command, part: 0)
        _ = try? self.ledger.transfer(
            key: key,
            debit: .outside(budget.unit),
            credit: budget,
            amount: amount,
            reason: reason,
            at: at
        )
    }

    private mutating func grant(
        _ budget: AccountKey,
        _ member: MemberID,
        amount: Int64,
        command: EventID,
        campaign: CampaignID,
        reason: TransferReason,
        at: Timestamp
    ) {
        self.fund(budget, amount: amount, command: command, campaign: campaign, reason: reason, at: at)
        let key = TransferKey(
            .grant,
            campaign: campaign,
            rule: reason.rule,
            beneficiary: member,
            source: command,
            part: 2
        )
        if let outcome = try? self.ledger.transfer(
            key: key,
            debit: budget,
            credit: .wallet(member, budget.unit),
            amount: amount,
            reason: reason,
            at: at
        ), let id = outcome.first {
            self.reversibleGrants.append((id, amount))
        }
    }

    // MARK: - Mixing

    /// SplitMix64's finaliser over two words: a fixed function, so every process derives the same entries.
    static func mix(_ first: UInt64, _ second: UInt64) -> UInt64 {
        var value = first &+ 0x9E37_79B9_7F4A_7C15 &* (second &+ 1)
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }

    static func bytes(count: Int, seed: UInt64) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: Self.mix(seed, UInt64($0)) >> 8) }
    }
}
