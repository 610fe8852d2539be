public import FissionCore

/// A double-entry ledger of immutable transfers with two-phase holds: a pure value.
///
/// Every movement of value is a ``Transfer`` from one account to another of the same unit.
/// Transfers are never edited or deleted: a hold is a pending transfer that later posts or voids
/// (each at most once), and a clawback of a posted transfer is a new reversal transfer.
///
/// Balance limits are properties of accounts (``AccountOwner/flags``): a budget or a wallet never
/// goes below zero, counting what pending transfers have reserved, so two grants can never spend
/// the same budget. Only a member's receivable may go negative: when a clawback outruns a wallet,
/// the shortfall is recorded there as a debt, never lost.
///
/// Transfers carry an idempotency ``TransferKey``: making the same transfer twice returns the first
/// one, and reusing a key for a different transfer is an error. (Posts and voids are unique by the
/// transfer they resolve; a settlement's withdrawals and debt write-offs by their id.) Every
/// method either succeeds completely or throws and leaves the ledger unchanged.
public struct Ledger: Sendable {
    /// The most transfers one page may return.
    public static var maximumPageSize: Int { 10_000 }

    /// The outcome of a call that makes transfers.
    ///
    /// The transfers one call makes are consecutive, so an outcome is a range: it costs no
    /// allocation to return.
    public struct Outcome: Hashable, Sendable {
        /// The first transfer the call made (or an earlier identical call made), or `nil` if none.
        public let first: TransferID?
        /// How many consecutive transfers, from ``first`` on.
        public let count: Int
        /// Whether this was a repeat: nothing new was made.
        public let isDuplicate: Bool

        init(first: TransferID?, count: Int, isDuplicate: Bool) {
            self.first = first
            self.count = first == nil ? 0 : count
            self.isDuplicate = isDuplicate
        }

        init(single id: TransferID, isDuplicate: Bool) {
            self.init(first: id, count: 1, isDuplicate: isDuplicate)
        }

        /// The transfers, in order.
        public var transfers: [TransferID] {
            guard let first = self.first else { return [] }
            return (0..<Int64(self.count)).map { TransferID(rawValue: first.rawValue + $0) }
        }
    }

    /// One transfer, in compact form: accounts, ids and the key are dense indices into the
    /// ledger's tables, so a record is 96 bytes and holds no reference-counted value.
    ///
    /// The stored properties are declared widest first, so the layout has no padding (a record
    /// was 112 bytes in the order of the initializer's parameters); every byte of it is faulted
    /// in and written once per transfer, twice per paid order (Decision 0015).
    struct Record: Sendable, Equatable {
        let amount: Int64
        let at: Int64
        /// The end of the hold, or ``Ledger/noHold``.
        let holdUntil: Int64
        /// For a pending transfer: what is still reserved. For a posted one: what may still be reversed.
        var open: Int64
        /// For a pending transfer: 0 while open, the post's index + 1 once posted, -1 once voided.
        var resolution: Int64
        let debit: Int32
        let credit: Int32
        /// For a post, void or reversal: the index of the transfer it resolves or reverses.
        let related: Int32
        /// The reason: command (an event index), rule (a rule index or -1), rule version.
        let command: Int32
        let reasonRule: Int32
        let ruleVersion: Int32
        /// How many transfers, this one first, were made together under its key.
        let linkedCount: Int32
        /// The previous keyed record with the same source event in that source's chain, or -1
        /// (see ``Ledger/keysBySource``). Set when the record is indexed.
        var previousOfSource: Int32
        /// The idempotency key, if `hasKey`.
        let key: CompactKey
        let kind: RecordKind
        let hasKey: Bool

        init(
            debit: Int32,
            credit: Int32,
            amount: Int64,
            kind: RecordKind,
            related: Int32,
            key: CompactKey,
            hasKey: Bool,
            command: Int32,
            reasonRule: Int32,
            ruleVersion: Int32,
            at: Int64,
            holdUntil: Int64,
            linkedCount: Int32,
            open: Int64,
            resolution: Int64,
            previousOfSource: Int32 = -1
        ) {
            self.amount = amount
            self.at = at
            self.holdUntil = holdUntil
            self.open = open
            self.resolution = resolution
            self.debit = debit
            self.credit = credit
            self.related = related
            self.command = command
            self.reasonRule = reasonRule
            self.ruleVersion = ruleVersion
            self.linkedCount = linkedCount
            self.previousOfSource = previousOfSource
            self.key = key
            self.kind = kind
            self.hasKey = hasKey
        }

        /// Whether this is a reward grant a settlement made (its key names a rule and a beneficiary).
        var isGrant: Bool {
            (self.kind == .posted || self.kind == .pending) && self.hasKey && self.key.rule >= 0
                && self.key.beneficiary >= 0
        }
    }

    /// The keyed records of one source event: the newest one chained, and how many are.
    struct SourceChain: Sendable, Equatable {
        var last: Int32 = -1
        var count: Int32 = 0
    }

    /// How many keys of one source event are chained; more go to the hash index.
    static let chainLimit: Int32 = 16

    enum RecordKind: UInt8, Sendable {
        case posted, pending, postPending, voidPending, reversal
    }

    /// A ``TransferKey`` with its ids as dense indices (-1 for a missing rule or beneficiary).
    ///
    /// The one-byte operation comes last, so a record packs its own small fields right after it.
    struct CompactKey: Sendable, Equatable {
        let part: Int32
        let campaign: Int32
        let rule: Int32
        let beneficiary: Int32
        let source: Int32
        let operation: UInt8

        init(operation: UInt8, part: Int32, campaign: Int32, rule: Int32, beneficiary: Int32, source: Int32) {
            self.part = part
            self.campaign = campaign
            self.rule = rule
            self.beneficiary = beneficiary
            self.source = source
            self.operation = operation
        }

        static let none = CompactKey(operation: 0, part: 0, campaign: -1, rule: -1, beneficiary: -1, source: -1)

        var hash: UInt32 {
            mixHash(
                UInt64(UInt32(bitPattern: self.campaign)) << 32 | UInt64(UInt32(bitPattern: self.source)),
                (UInt64(UInt32(bitPattern: self.rule)) << 32 | UInt64(UInt32(bitPattern: self.beneficiary)))
                    ^ (UInt64(self.operation) << 56) ^ (UInt64(UInt32(bitPattern: self.part)) &* 0x9E37_79B9)
            )
        }
    }

    static let noHold = Int64.min

    /// Owner kinds in an account's composite key.
    enum OwnerTag: UInt64 {
        case budget = 0
        case wallet = 1
        case receivable = 2
        case outside = 3
    }

    // The id tables every record points into.
    var members = IdentifierTable<IdentifierKind.Member>()
    var events = IdentifierTable<IdentifierKind.Event>()
    var campaignIDs = IdentifierTable<IdentifierKind.Campaign>()
    var ruleIDs = IdentifierTable<IdentifierKind.Rule>()
    var units: [LedgerUnit] = []
    var unitIndex: [LedgerUnit: Int32] = [:]

    /// Accounts by index, and the index by (owner kind, unit, owner) packed into 64 bits.
    var accounts: [AccountKey] = []
    var accountTable = CompositeTable()
    var balances: [AccountBalance] = []
    var records = SegmentedArray<Record>()
    /// The idempotency keys, found by their source event first: per event index, a chain through
    /// the records made under that source, newest first. A key's source is almost always the
    /// event being settled, so the chain's head is the last entry of this array and its records
    /// were just written: finding and filing a key touch no cold memory, where a hash index of
    /// every key costs a cache miss per grant once it outgrows the cache. A source with more than
    /// ``chainLimit`` keys (a host reusing one command for many transfers) files the rest in
    /// `keyIndex`, so no lookup walks a long chain.
    var keysBySource = SegmentedArray<SourceChain>()
    var keyIndex = HashIndex()
    var holds = HoldQueue()
    /// Withdrawals and debt write-offs by the command that made them (an event index): the first
    /// of their transfers. Rebuilt on restore from the transfers without a key that post at once,
    /// which only those make.
    var memberMoves: [Int32: Int32] = [:]

    /// Creates an empty ledger.
    public init() {}

    /// The number of transfers made.
    public var transferCount: Int { self.records.count }

    // MARK: - Making transfers

    /// Moves `amount` from `debit` to `credit`, at once or as a hold.
    ///
    /// - Parameters:
    ///   - key: The idempotency key. A second call with the same key and the same transfer returns
    ///     the first transfer with `isDuplicate` set.
    ///   - debit: The account value leaves.
    ///   - credit: The account value enters; it must count the same unit.
    ///   - amount: How much, in the unit's smallest unit; positive.
    ///   - holdUntil: `nil` to post at once; otherwise the transfer is pending and may post from
    ///     this instant on (see ``postMatured(upTo:at:)``).
    ///   - reason: The command and rule version that caused it.
    ///   - at: When.
    /// - Throws: ``FissionError/Code/invalidAmount``, ``FissionError/Code/unitMismatch``,
    ///   ``FissionError/Code/sameAccount``, ``FissionError/Code/insufficientFunds`` if the debit
    ///   account's limit would be broken, ``FissionError/Code/idempotencyConflict`` if `key` was used
    ///   for a different transfer, ``FissionError/Code/arithmeticOverflow``.
    @discardableResult
    public mutating func transfer(
        key: TransferKey,
        debit: AccountKey,
        credit: AccountKey,
        amount: Int64,
        holdUntil: Timestamp? = nil,
        reason: TransferReason,
        at: Timestamp
    ) throws(FissionError) -> Outcome {
        let kind: RecordKind = holdUntil == nil ? .posted : .pending
        if let existing = self.findKey(key).flatMap(self.record(forKey:)) {
            let record = self.records[Int(existing)]
            guard self.accounts[Int(record.debit)] == debit, self.accounts[Int(record.credit)] == credit,
                record.amount == amount, record.kind == kind,
                record.holdUntil == (holdUntil?.millisecondsSinceEpoch ?? Self.noHold)
            else {
                throw FissionError(
                    code: .idempotencyConflict,
                    reason: "key \(key) was used for transfer #\(existing + 1) with a different payload"
                )
            }
            return Outcome(single: TransferID(rawValue: Int64(existing) + 1), isDuplicate: true)
        }
        try Self.validate(debit: debit, credit: credit, amount: amount)
        let debitIndex = self.findAccount(debit)
        let creditIndex = self.findAccount(credit)
        try self.checkDebit(debitIndex, key: debit, amount: amount)
        try self.checkCredit(creditIndex, key: credit, amount: amount)
        // Nothing below can fail.
        let compact = self.internKey(key)
        let debitAccount = debitIndex ?? self.openAccount(debit)
        let creditAccount = creditIndex ?? self.openAccount(credit)
        let (command, rule) = self.internReason(reason)
        let index = self.append(
            Record(
                debit: debitAccount,
                credit: creditAccount,
                amount: amount,
                kind: kind,
                related: -1,
                key: compact,
                hasKey: true,
                command: command,
                reasonRule: rule,
                ruleVersion: reason.ruleVersion,
                at: at.millisecondsSinceEpoch,
                holdUntil: holdUntil?.millisecondsSinceEpoch ?? Self.noHold,
                linkedCount: 1,
                open: amount,
                resolution: 0
            )
        )
        self.book(index)
        return Outcome(single: TransferID(rawValue: Int64(index) + 1), isDuplicate: false)
    }

    /// The settlement's path for a grant: ids, accounts and key already dense, the key new to the
    /// settlement (its source event was never settled), the amount positive and the accounts distinct
    /// and of one unit. Checks the key and the balance limits as
    /// ``transfer(key:debit:credit:amount:holdUntil:reason:at:)`` does, and opens the wallet if new.
    ///
    /// - Parameter knownWallet: The beneficiary's wallet account for `unit` if the caller
    ///   remembers it from an earlier grant (account indices never change), else -1.
    /// - Returns: The record's index, or `nil` if the debit account cannot cover the amount (a
    ///   budget running out is routine for a settlement: it costs no error).
    mutating func grant(
        key: CompactKey,
        debit: Int32,
        wallet unit: Int32,
        knownWallet: Int32,
        amount: Int64,
        holdUntil: Int64,
        ruleVersion: Int32,
        at: Int64
    ) throws(FissionError) -> Int32? {
        let position = Int32(self.records.count)
        if self.record(forKey: key) != nil {
            throw FissionError(code: .idempotencyConflict, reason: "reward \(self.describe(key)) was already granted")
        }
        let balance = self.balances[Int(debit)]
        let debits = try (balance.debitsPosted + balance.debitsPending).checkedAdding(amount, "budget debits")
        if debits > balance.creditsPosted, self.accounts[Int(debit)].owner.flags.contains(.debitsMustNotExceedCredits) {
            return nil
        }
        let existing = knownWallet >= 0 ? knownWallet : self.findAccount(.wallet, unit: unit, owner: key.beneficiary)
        assert(knownWallet < 0 || self.findAccount(.wallet, unit: unit, owner: key.beneficiary) == knownWallet)
        if let existing {
            let credited = self.balances[Int(existing)]
            _ = try (credited.creditsPosted + credited.creditsPending).checkedAdding(amount, "wallet credits")
        }
        let credit: Int32
        if let existing {
            credit = existing
        } else {
            let wallet = AccountKey.wallet(self.members[key.beneficiary], self.units[Int(unit)])
            credit = self.internAccount(.wallet, unit: unit, owner: key.beneficiary, key: wallet)
        }
        self.records.append(
            Record(
                debit: debit,
                credit: credit,
                amount: amount,
                kind: holdUntil == Self.noHold ? .posted : .pending,
                related: -1,
                key: key,
                hasKey: true,
                command: key.source,
                reasonRule: key.rule,
                ruleVersion: ruleVersion,
                at: at,
                holdUntil: holdUntil,
                linkedCount: 1,
                open: amount,
                resolution: 0
            )
        )
        self.indexKey(position)
        if holdUntil != Self.noHold {
            self.balances[Int(debit)].debitsPending += amount
            self.balances[Int(credit)].creditsPending += amount
            self.holds.insert(holdUntil: holdUntil, record: position)
        } else {
            self.balances[Int(debit)].debitsPosted += amount
            self.balances[Int(credit)].creditsPosted += amount
        }
        return position
    }

    /// Moves a new record's amount into its accounts' balances and queues its hold.
    @inline(__always)
    private mutating func book(_ index: Int32) {
        let record = self.records[Int(index)]
        if record.holdUntil != Self.noHold {
            self.balances[Int(record.debit)].debitsPending += record.amount
            self.balances[Int(record.credit)].creditsPending += record.amount
            self.holds.insert(holdUntil: record.holdUntil, record: index)
        } else {
            self.balances[Int(record.debit)].debitsPosted += record.amount
            self.balances[Int(record.credit)].creditsPosted += record.amount
        }
    }

    /// Posts what remains of a pending transfer.
    ///
    /// Posting an already posted transfer returns the earlier post with `isDuplicate` set.
    ///
    /// - Throws: ``FissionError/Code/transferNotFound``; ``FissionError/Code/transferNotPending`` if
    ///   it is not a pending transfer or was voided.
    @discardableResult
    public mutating func post(_ id: TransferID, reason: TransferReason, at: Timestamp) throws(FissionError) -> Outcome {
        let index = try self.pendingIndex(id)
        let resolution = self.records[index].resolution
        if resolution > 0 { return Outcome(single: TransferID(rawValue: resolution), isDuplicate: true) }
        guard resolution == 0 else {
            throw FissionError(code: .transferNotPending, reason: "transfer \(id) was voided")
        }
        // Interned only now: a call that fails leaves the id tables as they were.
        let (command, rule) = self.internReason(reason)
        return try self.post(index, command: command, rule: rule, ruleVersion: reason.ruleVersion, at: at)
    }

    private mutating func post(
        _ index: Int,
        command: Int32,
        rule: Int32,
        ruleVersion: Int32,
        at: Timestamp
    ) throws(FissionError) -> Outcome {
        let pending = self.records[index]
        if pending.resolution > 0 {
            return Outcome(single: TransferID(rawValue: pending.resolution), isDuplicate: true)
        }
        guard pending.resolution == 0 else {
            throw FissionError(code: .transferNotPending, reason: "transfer #\(index + 1) was voided")
        }
        let amount = pending.open
        let postIndex = self.append(
            Record(
                debit: pending.debit,
                credit: pending.credit,
                amount: amount,
                kind: .postPending,
                related: Int32(index),
                key: .none,
                hasKey: false,
                command: command,
                reasonRule: rule,
                ruleVersion: ruleVersion,
                at: at.millisecondsSinceEpoch,
                holdUntil: Self.noHold,
                linkedCount: 1,
                open: amount,
                resolution: 0
            )
        )
        self.records[index].open = 0
        self.records[index].resolution = Int64(postIndex) + 1
        self.balances[Int(pending.debit)].debitsPending -= amount
        self.balances[Int(pending.debit)].debitsPosted += amount
        self.balances[Int(pending.credit)].creditsPending -= amount
        self.balances[Int(pending.credit)].creditsPosted += amount
        return Outcome(single: TransferID(rawValue: Int64(postIndex) + 1), isDuplicate: false)
    }

    /// Releases part or all of what remains of a pending transfer back to its debit account.
    ///
    /// - Parameters:
    ///   - id: The pending transfer.
    ///   - amount: How much to release; `nil` for all that remains. Releasing all of it ends the
    ///     pending transfer as voided.
    ///   - key: The idempotency key of a partial release (the refund event); a full void is
    ///     idempotent without one.
    /// - Throws: ``FissionError/Code/transferNotFound``; ``FissionError/Code/transferNotPending``
    ///   if it was posted, or is not pending; ``FissionError/Code/invalidAmount`` for an amount
    ///   that is not positive or exceeds what remains; ``FissionError/Code/idempotencyConflict``.
    @discardableResult
    public mutating func void(
        _ id: TransferID,
        amount: Int64? = nil,
        key: TransferKey? = nil,
        reason: TransferReason,
        at: Timestamp
    ) throws(FissionError) -> Outcome {
        let index = try self.pendingIndex(id)
        if let key, let existing = self.findKey(key).flatMap(self.record(forKey:)) {
            let record = self.records[Int(existing)]
            guard record.kind == .voidPending, record.related == Int32(index), amount == nil || record.amount == amount
            else {
                throw FissionError(code: .idempotencyConflict, reason: "key \(key) was used for another transfer")
            }
            return Outcome(single: TransferID(rawValue: Int64(existing) + 1), isDuplicate: true)
        }
        try self.checkVoid(index, amount: amount)
        if self.records[index].resolution == -1 { return Outcome(first: nil, count: 0, isDuplicate: true) }
        let compact = key.map { self.internKey($0) }
        let (command, rule) = self.internReason(reason)
        let voidIndex = self.void(
            index,
            amount: amount ?? self.records[index].open,
            key: compact,
            command: command,
            rule: rule,
            ruleVersion: reason.ruleVersion,
            at: at.millisecondsSinceEpoch
        )
        return Outcome(single: TransferID(rawValue: Int64(voidIndex) + 1), isDuplicate: false)
    }

    /// Checks that `amount` (or all, for `nil`) of pending record `index` can be released; a full
    /// release of an already voided transfer passes (it is a repeat).
    func checkVoid(_ index: Int, amount: Int64?) throws(FissionError) {
        let pending = self.records[index]
        if pending.resolution == -1, amount == nil { return }
        guard pending.resolution == 0 else {
            throw FissionError(
                code: .transferNotPending,
                reason: "transfer #\(index + 1) was already \(pending.resolution > 0 ? "posted" : "voided")"
            )
        }
        let released = amount ?? pending.open
        guard released > 0, released <= pending.open else {
            throw FissionError(
                code: .invalidAmount,
                reason: "cannot release \(released) of transfer #\(index + 1); \(pending.open) remains reserved"
            )
        }
    }

    /// Releases `released` of pending record `index`, checked by ``checkVoid(_:amount:)``.
    mutating func void(
        _ index: Int,
        amount released: Int64,
        key: CompactKey?,
        command: Int32,
        rule: Int32,
        ruleVersion: Int32,
        at: Int64
    ) -> Int32 {
        let pending = self.records[index]
        // The release runs from the pending transfer's credit side back to its debit side.
        let voidIndex = self.append(
            Record(
                debit: pending.credit,
                credit: pending.debit,
                amount: released,
                kind: .voidPending,
                related: Int32(index),
                key: key ?? .none,
                hasKey: key != nil,
                command: command,
                reasonRule: rule,
                ruleVersion: ruleVersion,
                at: at,
                holdUntil: Self.noHold,
                linkedCount: 1,
                open: 0,
                resolution: 0
            )
        )
        self.records[index].open -= released
        if self.records[index].open == 0 { self.records[index].resolution = -1 }
        self.balances[Int(pending.debit)].debitsPending -= released
        self.balances[Int(pending.credit)].creditsPending -= released
        return voidIndex
    }

    /// Moves back part or all of a posted transfer: a clawback.
    ///
    /// The reversal debits the account the original credited. If that is a member's wallet and it
    /// holds less than `amount` (the member already withdrew or spent it), the wallet gives what it
    /// has and the rest is debited from the member's receivable, which goes negative: a recorded
    /// debt, never a silent loss. The legs are made together under `key`.
    ///
    /// - Parameters:
    ///   - id: A posted transfer (made at once, or the post of a pending one).
    ///   - amount: How much to move back; at most what has not been reversed yet.
    ///   - key: The idempotency key (the refund event).
    /// - Throws: ``FissionError/Code/transferNotFound``; ``FissionError/Code/invalidReversal`` if
    ///   `id` is not a posted transfer or `amount` exceeds what is left to reverse;
    ///   ``FissionError/Code/invalidAmount``; ``FissionError/Code/insufficientFunds`` if a
    ///   non-wallet account cannot give the amount back; ``FissionError/Code/idempotencyConflict``.
    @discardableResult
    public mutating func reverse(
        _ id: TransferID,
        amount: Int64,
        key: TransferKey,
        reason: TransferReason,
        at: Timestamp
    ) throws(FissionError) -> Outcome {
        let index = try self.recordIndex(id)
        if let existing = self.findKey(key).flatMap(self.record(forKey:)) {
            let record = self.records[Int(existing)]
            guard record.kind == .reversal, record.related == Int32(index) else {
                throw FissionError(code: .idempotencyConflict, reason: "key \(key) was used for another transfer")
            }
            var total: Int64 = 0
            for leg in Int(existing)..<Int(existing) + Int(record.linkedCount) { total += self.records[leg].amount }
            guard total == amount else {
                throw FissionError(code: .idempotencyConflict, reason: "key \(key) reversed \(total), not \(amount)")
            }
            return Outcome(
                first: TransferID(rawValue: Int64(existing) + 1),
                count: Int(record.linkedCount),
                isDuplicate: true
            )
        }
        let plan = try self.planReversal(index, amount: amount)
        let compact = self.internKey(key)
        let (command, rule) = self.internReason(reason)
        return self.reverse(
            index,
            plan: plan,
            key: compact,
            command: command,
            rule: rule,
            ruleVersion: reason.ruleVersion,
            at: at.millisecondsSinceEpoch
        )
    }

    /// How a reversal splits between the wallet and the receivable, decided before anything is written.
    struct ReversalPlan {
        let amount: Int64
        let fromGiver: Int64
        let shortfall: Int64
        /// The receivable's account index, or the key of a receivable to open (`nil` if no shortfall).
        let receivable: Int32?
        let receivableToOpen: AccountKey?
    }

    /// Checks a reversal of `amount` of record `index` and plans its legs.
    func planReversal(_ index: Int, amount: Int64) throws(FissionError) -> ReversalPlan {
        let original = self.records[index]
        switch original.kind {
        case .posted, .postPending: break
        default:
            throw FissionError(code: .invalidReversal, reason: "transfer #\(index + 1) is not a posted transfer")
        }
        guard amount > 0 else {
            throw FissionError(code: .invalidAmount, reason: "a reversal of \(amount) is not positive")
        }
        guard amount <= original.open else {
            throw FissionError(
                code: .invalidReversal,
                reason: "cannot reverse \(amount) of transfer #\(index + 1); \(original.open) is left to reverse"
            )
        }
        let giver = original.credit
        let giverKey = self.accounts[Int(giver)]
        var fromGiver = amount
        var shortfall: Int64 = 0
        var receivable: Int32? = nil
        var receivableToOpen: AccountKey? = nil
        if giverKey.owner.flags.contains(.debitsMustNotExceedCredits) {
            let available = max(self.balances[Int(giver)].available, 0)
            if available < amount {
                guard case .wallet(let member) = giverKey.owner else {
                    throw FissionError(
                        code: .insufficientFunds,
                        reason: "\(giverKey) holds \(available), cannot give back \(amount)"
                    )
                }
                fromGiver = available
                shortfall = amount - available
                let receivableKey = AccountKey.receivable(member, giverKey.unit)
                receivable = self.findAccount(receivableKey)
                if receivable == nil { receivableToOpen = receivableKey }
                try self.checkDebit(receivable, key: receivableKey, amount: shortfall)
            }
        }
        try self.checkCredit(original.debit, key: self.accounts[Int(original.debit)], amount: amount)
        return ReversalPlan(
            amount: amount,
            fromGiver: fromGiver,
            shortfall: shortfall,
            receivable: receivable,
            receivableToOpen: receivableToOpen
        )
    }

    /// Makes the legs of a planned reversal of record `index`.
    mutating func reverse(
        _ index: Int,
        plan: ReversalPlan,
        key: CompactKey,
        command: Int32,
        rule: Int32,
        ruleVersion: Int32,
        at: Int64
    ) -> Outcome {
        let original = self.records[index]
        var receivable = plan.receivable
        if let open = plan.receivableToOpen { receivable = self.openAccount(open) }
        let legCount: Int32 = (plan.fromGiver > 0 ? 1 : 0) + (plan.shortfall > 0 ? 1 : 0)
        var first: Int32? = nil
        // Two legs at most, written out so that a reversal builds no array.
        for leg in 0..<2 {
            let from = leg == 0 ? original.credit : (receivable ?? original.credit)
            let amount = leg == 0 ? plan.fromGiver : plan.shortfall
            guard amount > 0 else { continue }
            let isFirst = first == nil
            let made = self.append(
                Record(
                    debit: from,
                    credit: original.debit,
                    amount: amount,
                    kind: .reversal,
                    related: Int32(index),
                    key: isFirst ? key : .none,
                    hasKey: isFirst,
                    command: command,
                    reasonRule: rule,
                    ruleVersion: ruleVersion,
                    at: at,
                    holdUntil: Self.noHold,
                    linkedCount: isFirst ? legCount : 0,
                    open: 0,
                    resolution: 0
                )
            )
            if isFirst { first = made }
            self.balances[Int(from)].debitsPosted += amount
            self.balances[Int(original.debit)].creditsPosted += amount
        }
        self.records[index].open -= plan.amount
        return Outcome(
            first: first.map { TransferID(rawValue: Int64($0) + 1) },
            count: Int(legCount),
            isDuplicate: false
        )
    }

    /// Posts every open pending transfer whose hold ended at or before `now`, oldest hold first
    /// (ties by transfer id).
    ///
    /// - Returns: The posts made.
    /// - Complexity: O(*k* log *n*) for *k* matured holds among *n* pending.
    public mutating func postMatured(upTo now: Timestamp, at: Timestamp) -> [TransferID] {
        var posted: [TransferID] = []
        while let next = self.holds.peek(), next.holdUntil <= now.millisecondsSinceEpoch {
            self.holds.removeFirst()
            // Entries left by a rolled-back hold may point past the end or at a newer transfer.
            guard Int(next.record) < self.records.count else { continue }
            let record = self.records[Int(next.record)]
            guard record.kind == .pending, record.resolution == 0, record.holdUntil == next.holdUntil else { continue }
            // An open pending transfer always posts: its amounts are already reserved.
            if let outcome = try? self.post(
                Int(next.record),
                command: record.command,
                rule: record.reasonRule,
                ruleVersion: record.ruleVersion,
                at: at
            ) {
                posted.append(contentsOf: outcome.transfers)
            }
        }
        return posted
    }

    // MARK: - Withdrawals and debt write-offs

    /// The two transfers of a withdrawal, by record index: the repayment of what the member owed
    /// (if they owed anything) and the payout.
    package struct WithdrawalRecords: Sendable, Equatable {
        package let repayment: Int32?
        package let payout: Int32
    }

    /// The withdrawal made under a command (an event index), or `nil`.
    func withdrawal(madeBy command: Int32) -> WithdrawalRecords? {
        guard let first = self.memberMoves[command] else { return nil }
        let record = self.records[Int(first)]
        guard case .wallet = self.accounts[Int(record.debit)].owner else { return nil }
        guard case .receivable = self.accounts[Int(record.credit)].owner else {
            return WithdrawalRecords(repayment: nil, payout: first)
        }
        return WithdrawalRecords(repayment: first, payout: first + 1)
    }

    /// Pays `amount` out of `member`'s wallet in `unit` to ``AccountOwner/outside``, after first
    /// repaying from the wallet whatever the member owes in that unit (a negative receivable).
    ///
    /// Both transfers post at once, have no ``TransferKey`` and name `command` as their reason; the
    /// caller makes them exactly once per command (``withdrawal(madeBy:)``).
    ///
    /// - Throws: ``FissionError/Code/invalidAmount`` unless `amount` is positive;
    ///   ``FissionError/Code/insufficientFunds`` if the wallet's available balance does not cover
    ///   the amount and the debt; ``FissionError/Code/arithmeticOverflow``. The ledger is unchanged.
    package mutating func withdraw(
        _ amount: Int64,
        unit: LedgerUnit,
        from member: MemberID,
        command: EventID,
        at: Timestamp
    ) throws(FissionError) -> WithdrawalRecords {
        guard amount > 0 else {
            throw FissionError(code: .invalidAmount, reason: "a withdrawal of \(amount) is not positive")
        }
        let walletKey = AccountKey.wallet(member, unit)
        let owner = self.members.find(member)
        let unitIndex = self.findUnit(unit)
        guard let owner, let unitIndex, let wallet = self.findAccount(.wallet, unit: unitIndex, owner: owner) else {
            throw FissionError(
                code: .insufficientFunds,
                reason: "\(walletKey) has nothing available; \(Self.amount(amount, unit)) was asked"
            )
        }
        let receivable = self.findAccount(.receivable, unit: unitIndex, owner: owner)
        let owed = self.debt(in: receivable)
        let needed = try amount.checkedAdding(owed, "a withdrawal and the debt it repays")
        let available = self.balances[Int(wallet)].available
        guard needed <= available else {
            let debt = owed > 0 ? " and repaying the \(Self.amount(owed, unit)) owed" : ""
            throw FissionError(
                code: .insufficientFunds,
                reason: "\(walletKey) has \(Self.amount(available, unit)) available; withdrawing "
                    + "\(Self.amount(amount, unit))\(debt) needs \(Self.amount(needed, unit))"
            )
        }
        let outsideKey = AccountKey.outside(unit)
        let outside = self.findAccount(outsideKey)
        try self.checkCredit(outside, key: outsideKey, amount: amount)
        if let receivable, owed > 0 {
            try self.checkCredit(receivable, key: .receivable(member, unit), amount: owed)
        }
        // Nothing below can fail.
        let (commandIndex, _) = self.internReason(TransferReason(command: command, ruleVersion: 0))
        let outsideAccount = outside ?? self.openAccount(outsideKey)
        var repayment: Int32?
        if let receivable, owed > 0 {
            repayment = self.appendMemberMove(
                from: wallet,
                to: receivable,
                amount: owed,
                command: commandIndex,
                at: at
            )
        }
        let payout = self.appendMemberMove(
            from: wallet,
            to: outsideAccount,
            amount: amount,
            command: commandIndex,
            at: at
        )
        self.memberMoves[commandIndex] = repayment ?? payout
        return WithdrawalRecords(repayment: repayment, payout: payout)
    }

    /// A quantity of `unit` as an error reason shows it: money as money reads (`15.00 CNY`),
    /// anything else as a count of its unit.
    private static func amount(_ quantity: Int64, _ unit: LedgerUnit) -> String {
        RewardAmount(unchecked: quantity, unit).description
    }

    /// The debt write-off made under a command (an event index): its transfer's index, or `nil`.
    func writeOff(madeBy command: Int32) -> Int32? {
        guard let first = self.memberMoves[command] else { return nil }
        return self.accounts[Int(self.records[Int(first)].debit)].owner == .outside ? first : nil
    }

    /// Whether a command made a withdrawal or a write-off: an id names at most one of them.
    func madeMemberMove(_ command: EventID) -> Bool {
        self.events.find(command).map { self.memberMoves[$0] != nil } ?? false
    }

    /// Forgives `amount` of what `member` owes in `unit`: a transfer from ``AccountOwner/outside``
    /// to the member's receivable (the platform takes the loss), posted at once, without a
    /// ``TransferKey``, naming `command` as its reason.
    ///
    /// - Throws: ``FissionError/Code/invalidAmount`` unless `amount` is positive and at most what
    ///   the member owes; ``FissionError/Code/arithmeticOverflow``. The ledger is unchanged.
    package mutating func writeOff(
        _ amount: Int64,
        unit: LedgerUnit,
        of member: MemberID,
        command: EventID,
        at: Timestamp
    ) throws(FissionError) -> Int32 {
        guard amount > 0 else {
            throw FissionError(code: .invalidAmount, reason: "a write-off of \(amount) is not positive")
        }
        let receivableKey = AccountKey.receivable(member, unit)
        let receivable = self.findAccount(receivableKey)
        let owed = self.debt(in: receivable)
        guard let receivable, amount <= owed else {
            throw FissionError(
                code: .invalidAmount,
                reason: "member \(member) owes \(Self.amount(owed, unit)); "
                    + "\(Self.amount(amount, unit)) cannot be written off"
            )
        }
        let outsideKey = AccountKey.outside(unit)
        let outside = self.findAccount(outsideKey)
        try self.checkDebit(outside, key: outsideKey, amount: amount)
        try self.checkCredit(receivable, key: receivableKey, amount: amount)
        // Nothing below can fail.
        let (commandIndex, _) = self.internReason(TransferReason(command: command, ruleVersion: 0))
        let outsideAccount = outside ?? self.openAccount(outsideKey)
        let index = self.appendMemberMove(
            from: outsideAccount,
            to: receivable,
            amount: amount,
            command: commandIndex,
            at: at
        )
        self.memberMoves[commandIndex] = index
        return index
    }

    /// What a receivable account (an index, or `nil` for one never opened) holds as a debt.
    func debt(in receivable: Int32?) -> Int64 {
        receivable.map { max(0, -self.balances[Int($0)].posted) } ?? 0
    }

    private mutating func appendMemberMove(
        from debit: Int32,
        to credit: Int32,
        amount: Int64,
        command: Int32,
        at: Timestamp
    ) -> Int32 {
        let index = self.append(
            Record(
                debit: debit,
                credit: credit,
                amount: amount,
                kind: .posted,
                related: -1,
                key: .none,
                hasKey: false,
                command: command,
                reasonRule: -1,
                ruleVersion: 0,
                at: at.millisecondsSinceEpoch,
                holdUntil: Self.noHold,
                linkedCount: 1,
                // Nothing takes a withdrawal or a write-off back: ``reversibleAmount(of:)`` is zero.
                open: 0,
                resolution: 0
            )
        )
        self.book(index)
        return index
    }

    // MARK: - Undo for multi-step callers

    /// A point the ledger can be rolled back to.
    package struct Mark: Sendable {
        let transferCount: Int
        let accountCount: Int
        let memberCount: Int
        let eventCount: Int
        let campaignCount: Int
        let ruleCount: Int
        let unitCount: Int
    }

    /// The current point, to roll back to if a multi-transfer operation fails halfway.
    package var mark: Mark {
        Mark(
            transferCount: self.records.count,
            accountCount: self.accounts.count,
            memberCount: self.members.count,
            eventCount: self.events.count,
            campaignCount: self.campaignIDs.count,
            ruleCount: self.ruleIDs.count,
            unitCount: self.units.count
        )
    }

    /// Undoes every transfer, account and id made since `mark`, newest first.
    package mutating func rollBack(to mark: Mark) {
        while self.records.count > mark.transferCount {
            let record = self.records.removeLast()
            let index = Int32(self.records.count)
            if record.hasKey { self.unindexKey(record, at: index) }
            if !record.hasKey, record.kind == .posted, self.memberMoves[record.command] == index {
                self.memberMoves[record.command] = nil
            }
            let debit = Int(record.debit)
            let credit = Int(record.credit)
            switch record.kind {
            case .posted:
                self.balances[debit].debitsPosted -= record.amount
                self.balances[credit].creditsPosted -= record.amount
            case .reversal:
                self.balances[debit].debitsPosted -= record.amount
                self.balances[credit].creditsPosted -= record.amount
                self.records[Int(record.related)].open += record.amount
            case .pending:
                // Its entry in the hold queue goes stale; postMatured skips entries that no longer
                // match a pending record.
                self.balances[debit].debitsPending -= record.amount
                self.balances[credit].creditsPending -= record.amount
            case .postPending:
                self.balances[debit].debitsPending += record.amount
                self.balances[debit].debitsPosted -= record.amount
                self.balances[credit].creditsPending += record.amount
                self.balances[credit].creditsPosted -= record.amount
                self.records[Int(record.related)].open = record.amount
                self.records[Int(record.related)].resolution = 0
            case .voidPending:
                self.balances[credit].debitsPending += record.amount
                self.balances[debit].creditsPending += record.amount
                self.records[Int(record.related)].open += record.amount
                self.records[Int(record.related)].resolution = 0
            }
        }
        if self.accounts.count > mark.accountCount {
            self.accounts.removeLast(self.accounts.count - mark.accountCount)
            self.balances.removeLast(self.balances.count - mark.accountCount)
            self.accountTable.removeLast(downTo: mark.accountCount)
        }
        self.members.removeLast(downTo: mark.memberCount)
        self.events.removeLast(downTo: mark.eventCount)
        // Their chains are empty now: the records under them were removed above.
        if self.keysBySource.count > mark.eventCount {
            self.keysBySource.removeLast(self.keysBySource.count - mark.eventCount)
        }
        self.campaignIDs.removeLast(downTo: mark.campaignCount)
        self.ruleIDs.removeLast(downTo: mark.ruleCount)
        while self.units.count > mark.unitCount { self.unitIndex[self.units.removeLast()] = nil }
    }

    // MARK: - Reading

    /// The balance of `account`; zero for an account that has never been used.
    public func balance(of account: AccountKey) -> AccountBalance {
        self.findAccount(account).map { self.balances[Int($0)] } ?? .zero
    }

    /// Every account used so far, in the order they were opened.
    public var accountKeys: [AccountKey] { self.accounts }

    /// The transfer with `id`, or `nil`.
    public func transfer(_ id: TransferID) -> Transfer? {
        guard id.rawValue >= 1, id.rawValue <= Int64(self.records.count) else { return nil }
        return self.makeTransfer(Int(id.rawValue - 1))
    }

    /// The first transfer made under `key`, or `nil`.
    public func transfer(forKey key: TransferKey) -> Transfer? {
        self.findKey(key).flatMap(self.record(forKey:)).map { self.makeTransfer(Int($0)) }
    }

    /// The state of a pending transfer, or `nil` if `id` is not a pending transfer.
    public func pendingState(of id: TransferID) -> PendingState? {
        guard let index = try? self.pendingIndex(id) else { return nil }
        return self.pendingState(at: index)
    }

    func pendingState(at index: Int) -> PendingState {
        let record = self.records[index]
        if record.resolution > 0 { return .posted(TransferID(rawValue: record.resolution)) }
        if record.resolution < 0 { return .voided }
        return .open(remaining: record.open)
    }

    /// What is left to reverse of a posted transfer, or `nil` if `id` is not a posted transfer.
    public func reversibleAmount(of id: TransferID) -> Int64? {
        guard let index = try? self.recordIndex(id) else { return nil }
        switch self.records[index].kind {
        case .posted, .postPending: return self.records[index].open
        default: return nil
        }
    }

    /// Transfers in id order, a page at a time.
    ///
    /// - Parameters:
    ///   - after: Return transfers after this one; `nil` to start from the first.
    ///   - limit: 1 to ``maximumPageSize``.
    /// - Precondition: `limit` is in range.
    public func transfers(after: TransferID? = nil, limit: Int) -> [Transfer] {
        precondition((1...Self.maximumPageSize).contains(limit), "limit must be 1...\(Self.maximumPageSize)")
        let start = Int(max(after?.rawValue ?? 0, 0))
        guard start < self.records.count else { return [] }
        // A loop, not `map(self.makeTransfer)`: the partially applied method would capture a copy of
        // the ledger, retaining and releasing every one of its tables on each call.
        let end = min(start + limit, self.records.count)
        var transfers: [Transfer] = []
        transfers.reserveCapacity(end - start)
        for index in start..<end { transfers.append(self.makeTransfer(index)) }
        return transfers
    }

    /// Re-derives every balance from the transfers and checks the ledger's invariants.
    ///
    /// - Returns: A description of each broken invariant; empty when the ledger is sound.
    /// - Complexity: O(transfers + accounts).
    public func audit() -> [String] {
        var problems: [String] = []
        guard let derived = Self.deriveBalances(self.records, accountCount: self.accounts.count) else {
            return ["a running total leaves 0...Int64.max: no sequence of transfers makes these"]
        }
        // Wide enough that no sum of account totals wraps.
        var netPerUnit: [LedgerUnit: Int128] = [:]
        for (index, account) in self.accounts.enumerated() {
            if derived[index] != self.balances[index] {
                problems.append("\(account): cached \(self.balances[index]) but transfers give \(derived[index])")
            }
            if account.owner.flags.contains(.debitsMustNotExceedCredits), derived[index].available < 0 {
                problems.append("\(account) is below zero: \(derived[index])")
            }
            netPerUnit[account.unit, default: 0] += Int128(derived[index].total)
        }
        for (unit, net) in netPerUnit where net != 0 {
            problems.append("\(unit) does not balance: accounts sum to \(net)")
        }
        return problems
    }

    /// Every account's balance, from the transfers alone; `nil` if a running total ever leaves
    /// 0...Int64.max, or the posted and pending debits (or credits) of an account add up past it.
    /// Transfers made through the ledger never do (each is checked when made), so only a forged
    /// snapshot yields `nil`; its balances would otherwise overflow when read.
    static func deriveBalances(_ records: SegmentedArray<Record>, accountCount: Int) -> [AccountBalance]? {
        var derived = [AccountBalance](repeating: .zero, count: accountCount)
        var sound = true
        func move(_ total: inout Int64, by amount: Int64) {
            let (result, overflow) = total.addingReportingOverflow(amount)
            total = result
            if overflow || result < 0 { sound = false }
        }
        for record in records {
            switch record.kind {
            case .posted, .reversal:
                move(&derived[Int(record.debit)].debitsPosted, by: record.amount)
                move(&derived[Int(record.credit)].creditsPosted, by: record.amount)
            case .pending:
                move(&derived[Int(record.debit)].debitsPending, by: record.amount)
                move(&derived[Int(record.credit)].creditsPending, by: record.amount)
            case .postPending:
                move(&derived[Int(record.debit)].debitsPending, by: -record.amount)
                move(&derived[Int(record.debit)].debitsPosted, by: record.amount)
                move(&derived[Int(record.credit)].creditsPending, by: -record.amount)
                move(&derived[Int(record.credit)].creditsPosted, by: record.amount)
            case .voidPending:
                // Recorded from the credit side back to the debit side.
                move(&derived[Int(record.credit)].debitsPending, by: -record.amount)
                move(&derived[Int(record.debit)].creditsPending, by: -record.amount)
            }
        }
        for balance in derived {
            if balance.debitsPosted.addingReportingOverflow(balance.debitsPending).overflow
                || balance.creditsPosted.addingReportingOverflow(balance.creditsPending).overflow
            {
                sound = false
            }
        }
        return sound ? derived : nil
    }

    // MARK: - Dense ids, accounts and keys

    /// The index of `unit`, or `nil`.
    func findUnit(_ unit: LedgerUnit) -> Int32? {
        // Most ledgers count one or two units: a scan beats hashing the currency code.
        for (index, known) in self.units.enumerated() where index < 4 && known == unit { return Int32(index) }
        return self.units.count > 4 ? self.unitIndex[unit] : nil
    }

    mutating func internUnit(_ unit: LedgerUnit) -> Int32 {
        if let found = self.findUnit(unit) { return found }
        let index = Int32(self.units.count)
        self.units.append(unit)
        self.unitIndex[unit] = index
        return index
    }

    /// An account's 64-bit composite key: owner kind, unit index and owner index.
    @inline(__always)
    static func compositeKey(_ tag: OwnerTag, unit: Int32, owner: Int32) -> UInt64 {
        tag.rawValue << 62 | UInt64(UInt32(bitPattern: unit)) << 32 | UInt64(UInt32(bitPattern: owner))
    }

    /// The index of an account by its dense parts, or `nil`.
    @inline(__always)
    func findAccount(_ tag: OwnerTag, unit: Int32, owner: Int32) -> Int32? {
        self.accountTable.find(Self.compositeKey(tag, unit: unit, owner: owner))
    }

    /// The index of the account by its dense parts, opening it (as `key`) if it is new.
    @inline(__always)
    mutating func internAccount(_ tag: OwnerTag, unit: Int32, owner: Int32, key: AccountKey) -> Int32 {
        let composite = Self.compositeKey(tag, unit: unit, owner: owner)
        if let found = self.accountTable.find(composite) { return found }
        self.accounts.append(key)
        self.balances.append(.zero)
        return self.accountTable.append(composite)
    }

    func findAccount(_ key: AccountKey) -> Int32? {
        guard let unit = self.findUnit(key.unit) else { return nil }
        switch key.owner {
        case .budget(let campaign):
            return self.campaignIDs.find(campaign).flatMap { self.findAccount(.budget, unit: unit, owner: $0) }
        case .wallet(let member):
            return self.members.find(member).flatMap { self.findAccount(.wallet, unit: unit, owner: $0) }
        case .receivable(let member):
            return self.members.find(member).flatMap { self.findAccount(.receivable, unit: unit, owner: $0) }
        case .outside:
            return self.findAccount(.outside, unit: unit, owner: 0)
        }
    }

    mutating func openAccount(_ key: AccountKey) -> Int32 {
        let unit = self.internUnit(key.unit)
        switch key.owner {
        case .budget(let campaign):
            return self.internAccount(.budget, unit: unit, owner: self.campaignIDs.intern(campaign), key: key)
        case .wallet(let member):
            return self.internAccount(.wallet, unit: unit, owner: self.members.intern(member), key: key)
        case .receivable(let member):
            return self.internAccount(.receivable, unit: unit, owner: self.members.intern(member), key: key)
        case .outside:
            return self.internAccount(.outside, unit: unit, owner: 0, key: key)
        }
    }

    /// The dense form of `key`, or `nil` if one of its ids is unknown (then no transfer has it).
    func findKey(_ key: TransferKey) -> CompactKey? {
        guard let campaign = self.campaignIDs.find(key.campaign), let source = self.events.find(key.source) else {
            return nil
        }
        var rule: Int32 = -1
        if let id = key.rule {
            guard let found = self.ruleIDs.find(id) else { return nil }
            rule = found
        }
        var beneficiary: Int32 = -1
        if let id = key.beneficiary {
            guard let found = self.members.find(id) else { return nil }
            beneficiary = found
        }
        return CompactKey(
            operation: key.operation.rawValue,
            part: key.part,
            campaign: campaign,
            rule: rule,
            beneficiary: beneficiary,
            source: source
        )
    }

    mutating func internKey(_ key: TransferKey) -> CompactKey {
        CompactKey(
            operation: key.operation.rawValue,
            part: key.part,
            campaign: self.campaignIDs.intern(key.campaign),
            rule: key.rule.map { self.ruleIDs.intern($0) } ?? -1,
            beneficiary: key.beneficiary.map { self.members.intern($0) } ?? -1,
            source: self.events.intern(key.source)
        )
    }

    mutating func internReason(_ reason: TransferReason) -> (command: Int32, rule: Int32) {
        (self.events.intern(reason.command), reason.rule.map { self.ruleIDs.intern($0) } ?? -1)
    }

    /// The record made under `key`, or `nil`.
    @inline(__always)
    func record(forKey key: CompactKey) -> Int32? {
        guard key.source >= 0, Int(key.source) < self.keysBySource.count else { return nil }
        let chain = self.keysBySource[Int(key.source)]
        var position = chain.last
        while position >= 0 {
            if self.records[Int(position)].key == key { return position }
            position = self.records[Int(position)].previousOfSource
        }
        // Only a full chain has overflowed into the hash index.
        guard chain.count == Self.chainLimit else { return nil }
        return self.keyIndex.find(key.hash) { self.records[Int($0)].key == key }
    }

    /// Files keyed record `index` (the newest) under its key.
    @inline(__always)
    mutating func indexKey(_ index: Int32) {
        let source = Int(self.records[Int(index)].key.source)
        // Usually the newest event, one past the end: a plain append, not a sequence's.
        while source >= self.keysBySource.count { self.keysBySource.append(SourceChain()) }
        let chain = self.keysBySource[source]
        if chain.count < Self.chainLimit {
            self.records[Int(index)].previousOfSource = chain.last
            self.keysBySource[source] = SourceChain(last: index, count: chain.count + 1)
        } else {
            self.keyIndex.insert(self.records[Int(index)].key.hash, index)
        }
    }

    /// Removes the key of `record`, the newest keyed record (index `index`), from the index.
    private mutating func unindexKey(_ record: Record, at index: Int32) {
        let source = Int(record.key.source)
        // Records leave newest first, so a chained record is its chain's head; a hashed one is not
        // in the chain at all (its chain was full, and stays full while it exists).
        if self.keysBySource[source].last == index {
            self.keysBySource[source] = SourceChain(
                last: record.previousOfSource,
                count: self.keysBySource[source].count - 1
            )
        } else {
            self.keyIndex.remove(record.key.hash, index)
        }
    }

    func expand(_ key: CompactKey) -> TransferKey {
        TransferKey(
            TransferKey.Operation(rawValue: key.operation) ?? .grant,
            campaign: self.campaignIDs[key.campaign],
            rule: key.rule < 0 ? nil : self.ruleIDs[key.rule],
            beneficiary: key.beneficiary < 0 ? nil : self.members[key.beneficiary],
            source: self.events[key.source],
            part: key.part
        )
    }

    private func describe(_ key: CompactKey) -> String { self.expand(key).description }

    // MARK: - Helpers

    private static func validate(debit: AccountKey, credit: AccountKey, amount: Int64) throws(FissionError) {
        guard amount > 0 else {
            throw FissionError(code: .invalidAmount, reason: "a transfer of \(amount) is not positive")
        }
        guard debit.unit == credit.unit else {
            throw FissionError(code: .unitMismatch, reason: "cannot move \(debit.unit) into \(credit.unit)")
        }
        guard debit != credit else {
            throw FissionError(code: .sameAccount, reason: "\(debit) cannot pay itself")
        }
    }

    private func checkDebit(_ index: Int32?, key: AccountKey, amount: Int64) throws(FissionError) {
        let balance = index.map { self.balances[Int($0)] } ?? .zero
        let debits = try (balance.debitsPosted + balance.debitsPending).checkedAdding(amount, "\(key) debits")
        if key.owner.flags.contains(.debitsMustNotExceedCredits), debits > balance.creditsPosted {
            throw FissionError(
                code: .insufficientFunds,
                reason: "\(key) has \(balance.available) available; \(amount) was asked"
            )
        }
    }

    private func checkCredit(_ index: Int32?, key: AccountKey, amount: Int64) throws(FissionError) {
        let balance = index.map { self.balances[Int($0)] } ?? .zero
        _ = try (balance.creditsPosted + balance.creditsPending).checkedAdding(amount, "\(key) credits")
    }

    private mutating func append(_ record: Record) -> Int32 {
        let index = Int32(self.records.count)
        self.records.append(record)
        if record.hasKey { self.indexKey(index) }
        return index
    }

    func recordIndex(_ id: TransferID) throws(FissionError) -> Int {
        guard id.rawValue >= 1, id.rawValue <= Int64(self.records.count) else {
            throw FissionError(code: .transferNotFound, reason: "no transfer \(id)")
        }
        return Int(id.rawValue - 1)
    }

    private func pendingIndex(_ id: TransferID) throws(FissionError) -> Int {
        let index = try self.recordIndex(id)
        guard self.records[index].kind == .pending else {
            throw FissionError(code: .transferNotPending, reason: "transfer \(id) is not a pending transfer")
        }
        return index
    }

    func kind(of record: Record) -> TransferKind {
        let related = TransferID(rawValue: Int64(record.related) + 1)
        switch record.kind {
        case .posted: return .posted
        case .pending: return .pending
        case .postPending: return .postPending(related)
        case .voidPending: return .voidPending(related)
        case .reversal: return .reversal(related)
        }
    }

    private func makeTransfer(_ index: Int) -> Transfer {
        let record = self.records[index]
        return Transfer(
            id: TransferID(rawValue: Int64(index) + 1),
            key: record.hasKey ? self.expand(record.key) : nil,
            kind: self.kind(of: record),
            debit: self.accounts[Int(record.debit)],
            credit: self.accounts[Int(record.credit)],
            amount: record.amount,
            reason: TransferReason(
                command: self.events[record.command],
                rule: record.reasonRule < 0 ? nil : self.ruleIDs[record.reasonRule],
                ruleVersion: record.ruleVersion
            ),
            at: Timestamp(unchecked: record.at),
            holdUntil: record.holdUntil == Self.noHold ? nil : Timestamp(unchecked: record.holdUntil)
        )
    }
}
