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
/// one, and reusing a key for a different transfer is an error. Every method either succeeds
/// completely or throws and leaves the ledger unchanged.
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

    struct Record: Sendable {
        let debit: Int32
        let credit: Int32
        let amount: Int64
        let kind: TransferKind
        let key: TransferKey?
        let reason: TransferReason
        let at: Timestamp
        let holdUntil: Timestamp?
        /// How many transfers, this one first, were made together under its key.
        let linkedCount: Int32
        /// For a pending transfer: what is still reserved. For a posted one: what may still be reversed.
        var open: Int64
        /// For a pending transfer: 0 while open, the post's index + 1 once posted, -1 once voided.
        var resolution: Int64
    }

    private var accountIndex: [AccountKey: Int32] = [:]
    private var accounts: [AccountKey] = []
    private var balances: [AccountBalance] = []
    private var records: [Record] = []
    private var keyIndex: [TransferKey: Int32] = [:]
    private var holds = HoldQueue()

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
        let kind: TransferKind = holdUntil == nil ? .posted : .pending
        if let existing = self.keyIndex[key] {
            let record = self.records[Int(existing)]
            guard self.accounts[Int(record.debit)] == debit, self.accounts[Int(record.credit)] == credit,
                record.amount == amount, record.kind == kind, record.holdUntil == holdUntil
            else {
                throw FissionError(
                    code: .idempotencyConflict,
                    reason: "key \(key) was used for transfer #\(existing + 1) with a different payload"
                )
            }
            return Outcome(single: TransferID(rawValue: Int64(existing) + 1), isDuplicate: true)
        }
        try Self.validate(debit: debit, credit: credit, amount: amount)
        let debitIndex = self.existingOrNextIndex(debit)
        let creditIndex = self.existingOrNextIndex(credit, after: debitIndex)
        try self.checkDebit(debitIndex, key: debit, amount: amount)
        try self.checkCredit(creditIndex, key: credit, amount: amount)

        self.openAccount(debit, expectedIndex: debitIndex)
        self.openAccount(credit, expectedIndex: creditIndex)
        let id = self.append(
            Record(
                debit: debitIndex,
                credit: creditIndex,
                amount: amount,
                kind: kind,
                key: key,
                reason: reason,
                at: at,
                holdUntil: holdUntil,
                linkedCount: 1,
                open: amount,
                resolution: 0
            )
        )
        if let holdUntil {
            self.balances[Int(debitIndex)].debitsPending += amount
            self.balances[Int(creditIndex)].creditsPending += amount
            self.holds.insert(holdUntil: holdUntil.millisecondsSinceEpoch, record: Int32(id.rawValue - 1))
        } else {
            self.balances[Int(debitIndex)].debitsPosted += amount
            self.balances[Int(creditIndex)].creditsPosted += amount
        }
        return Outcome(single: id, isDuplicate: false)
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
        let pending = self.records[index]
        if pending.resolution > 0 {
            return Outcome(single: TransferID(rawValue: pending.resolution), isDuplicate: true)
        }
        guard pending.resolution == 0 else {
            throw FissionError(code: .transferNotPending, reason: "transfer \(id) was voided")
        }
        let amount = pending.open
        let postID = self.append(
            Record(
                debit: pending.debit,
                credit: pending.credit,
                amount: amount,
                kind: .postPending(id),
                key: nil,
                reason: reason,
                at: at,
                holdUntil: nil,
                linkedCount: 1,
                open: amount,
                resolution: 0
            )
        )
        self.records[index].open = 0
        self.records[index].resolution = postID.rawValue
        self.balances[Int(pending.debit)].debitsPending -= amount
        self.balances[Int(pending.debit)].debitsPosted += amount
        self.balances[Int(pending.credit)].creditsPending -= amount
        self.balances[Int(pending.credit)].creditsPosted += amount
        return Outcome(single: postID, isDuplicate: false)
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
        if let key, let existing = self.keyIndex[key] {
            let record = self.records[Int(existing)]
            guard record.kind == .voidPending(id), amount == nil || record.amount == amount else {
                throw FissionError(code: .idempotencyConflict, reason: "key \(key) was used for another transfer")
            }
            return Outcome(single: TransferID(rawValue: Int64(existing) + 1), isDuplicate: true)
        }
        let pending = self.records[index]
        if pending.resolution == -1, amount == nil {
            return Outcome(first: nil, count: 0, isDuplicate: true)
        }
        guard pending.resolution == 0 else {
            throw FissionError(
                code: .transferNotPending,
                reason: "transfer \(id) was already \(pending.resolution > 0 ? "posted" : "voided")"
            )
        }
        let released = amount ?? pending.open
        guard released > 0, released <= pending.open else {
            throw FissionError(
                code: .invalidAmount,
                reason: "cannot release \(released) of transfer \(id); \(pending.open) remains reserved"
            )
        }
        // The release runs from the pending transfer's credit side back to its debit side.
        let voidID = self.append(
            Record(
                debit: pending.credit,
                credit: pending.debit,
                amount: released,
                kind: .voidPending(id),
                key: key,
                reason: reason,
                at: at,
                holdUntil: nil,
                linkedCount: 1,
                open: 0,
                resolution: 0
            )
        )
        self.records[index].open -= released
        if self.records[index].open == 0 { self.records[index].resolution = -1 }
        self.balances[Int(pending.debit)].debitsPending -= released
        self.balances[Int(pending.credit)].creditsPending -= released
        return Outcome(single: voidID, isDuplicate: false)
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
        if let existing = self.keyIndex[key] {
            let record = self.records[Int(existing)]
            guard record.kind == .reversal(id) else {
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
        let original = self.records[index]
        switch original.kind {
        case .posted, .postPending: break
        default:
            throw FissionError(code: .invalidReversal, reason: "transfer \(id) is not a posted transfer")
        }
        guard amount > 0 else {
            throw FissionError(code: .invalidAmount, reason: "a reversal of \(amount) is not positive")
        }
        guard amount <= original.open else {
            throw FissionError(
                code: .invalidReversal,
                reason: "cannot reverse \(amount) of transfer \(id); \(original.open) is left to reverse"
            )
        }
        let giver = original.credit
        let giverKey = self.accounts[Int(giver)]
        var fromGiver = amount
        var shortfall: Int64 = 0
        var receivable: AccountKey?
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
                receivable = .receivable(member, giverKey.unit)
            }
        }
        let receivableIndex = receivable.map { self.existingOrNextIndex($0) }
        if let receivable, let receivableIndex {
            try self.checkDebit(receivableIndex, key: receivable, amount: shortfall)
        }
        try self.checkCredit(original.debit, key: self.accounts[Int(original.debit)], amount: amount)

        if let receivable, let receivableIndex { self.openAccount(receivable, expectedIndex: receivableIndex) }
        let legs: [(from: Int32, amount: Int64)] =
            [(giver, fromGiver), (receivableIndex ?? giver, shortfall)].filter { $0.amount > 0 }
        var ids: [TransferID] = []
        for (position, leg) in legs.enumerated() {
            ids.append(
                self.append(
                    Record(
                        debit: leg.from,
                        credit: original.debit,
                        amount: leg.amount,
                        kind: .reversal(id),
                        key: position == 0 ? key : nil,
                        reason: reason,
                        at: at,
                        holdUntil: nil,
                        linkedCount: position == 0 ? Int32(legs.count) : 0,
                        open: 0,
                        resolution: 0
                    )
                )
            )
            self.balances[Int(leg.from)].debitsPosted += leg.amount
            self.balances[Int(original.debit)].creditsPosted += leg.amount
        }
        self.records[index].open -= amount
        return Outcome(first: ids.first, count: ids.count, isDuplicate: false)
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
            guard record.kind == .pending, record.resolution == 0,
                record.holdUntil?.millisecondsSinceEpoch == next.holdUntil
            else { continue }
            let id = TransferID(rawValue: Int64(next.record) + 1)
            // An open pending transfer always posts: its amounts are already reserved.
            if let outcome = try? self.post(id, reason: record.reason, at: at) {
                posted.append(contentsOf: outcome.transfers)
            }
        }
        return posted
    }

    // MARK: - Undo for multi-step callers

    /// A point the ledger can be rolled back to.
    package struct Mark: Sendable {
        let transferCount: Int
        let accountCount: Int
    }

    /// The current point, to roll back to if a multi-transfer operation fails halfway.
    package var mark: Mark { Mark(transferCount: self.records.count, accountCount: self.accounts.count) }

    /// Undoes every transfer and account made since `mark`, newest first.
    package mutating func rollBack(to mark: Mark) {
        while self.records.count > mark.transferCount {
            let record = self.records.removeLast()
            let index = Int32(self.records.count)
            if let key = record.key, self.keyIndex[key] == index { self.keyIndex[key] = nil }
            let debit = Int(record.debit)
            let credit = Int(record.credit)
            switch record.kind {
            case .posted:
                self.balances[debit].debitsPosted -= record.amount
                self.balances[credit].creditsPosted -= record.amount
            case .reversal(let original):
                self.balances[debit].debitsPosted -= record.amount
                self.balances[credit].creditsPosted -= record.amount
                self.records[Int(original.rawValue - 1)].open += record.amount
            case .pending:
                // Its entry in the hold queue goes stale; postMatured skips entries that no longer
                // match a pending record.
                self.balances[debit].debitsPending -= record.amount
                self.balances[credit].creditsPending -= record.amount
            case .postPending(let pending):
                self.balances[debit].debitsPending += record.amount
                self.balances[debit].debitsPosted -= record.amount
                self.balances[credit].creditsPending += record.amount
                self.balances[credit].creditsPosted -= record.amount
                self.records[Int(pending.rawValue - 1)].open = record.amount
                self.records[Int(pending.rawValue - 1)].resolution = 0
            case .voidPending(let pending):
                self.balances[credit].debitsPending += record.amount
                self.balances[debit].creditsPending += record.amount
                self.records[Int(pending.rawValue - 1)].open += record.amount
                self.records[Int(pending.rawValue - 1)].resolution = 0
            }
        }
        while self.accounts.count > mark.accountCount {
            let account = self.accounts.removeLast()
            self.balances.removeLast()
            self.accountIndex[account] = nil
        }
    }

    // MARK: - Reading

    /// The balance of `account`; zero for an account that has never been used.
    public func balance(of account: AccountKey) -> AccountBalance {
        self.accountIndex[account].map { self.balances[Int($0)] } ?? .zero
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
        self.keyIndex[key].map { self.makeTransfer(Int($0)) }
    }

    /// The state of a pending transfer, or `nil` if `id` is not a pending transfer.
    public func pendingState(of id: TransferID) -> PendingState? {
        guard let index = try? self.pendingIndex(id) else { return nil }
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
        return (start..<min(start + limit, self.records.count)).map(self.makeTransfer)
    }

    /// Re-derives every balance from the transfers and checks the ledger's invariants.
    ///
    /// - Returns: A description of each broken invariant; empty when the ledger is sound.
    /// - Complexity: O(transfers + accounts).
    public func audit() -> [String] {
        var problems: [String] = []
        var derived = [AccountBalance](repeating: .zero, count: self.accounts.count)
        for record in self.records {
            switch record.kind {
            case .posted, .reversal:
                derived[Int(record.debit)].debitsPosted += record.amount
                derived[Int(record.credit)].creditsPosted += record.amount
            case .pending:
                derived[Int(record.debit)].debitsPending += record.amount
                derived[Int(record.credit)].creditsPending += record.amount
            case .postPending:
                derived[Int(record.debit)].debitsPending -= record.amount
                derived[Int(record.debit)].debitsPosted += record.amount
                derived[Int(record.credit)].creditsPending -= record.amount
                derived[Int(record.credit)].creditsPosted += record.amount
            case .voidPending:
                // Recorded from the credit side back to the debit side.
                derived[Int(record.credit)].debitsPending -= record.amount
                derived[Int(record.debit)].creditsPending -= record.amount
            }
        }
        var netPerUnit: [LedgerUnit: Int64] = [:]
        for (index, account) in self.accounts.enumerated() {
            if derived[index] != self.balances[index] {
                problems.append("\(account): cached \(self.balances[index]) but transfers give \(derived[index])")
            }
            if account.owner.flags.contains(.debitsMustNotExceedCredits), derived[index].available < 0 {
                problems.append("\(account) is below zero: \(derived[index])")
            }
            netPerUnit[account.unit, default: 0] += derived[index].total
        }
        for (unit, net) in netPerUnit where net != 0 {
            problems.append("\(unit) does not balance: accounts sum to \(net)")
        }
        return problems
    }

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

    /// The index `key` has, or the one it will get when opened (after `reserved`, if that is new too).
    private func existingOrNextIndex(_ key: AccountKey, after reserved: Int32? = nil) -> Int32 {
        if let index = self.accountIndex[key] { return index }
        let next = Int32(self.accounts.count)
        if let reserved, reserved == next { return next + 1 }
        return next
    }

    private mutating func openAccount(_ key: AccountKey, expectedIndex: Int32) {
        guard self.accountIndex[key] == nil else { return }
        precondition(expectedIndex == Int32(self.accounts.count), "accounts must open in index order")
        self.accountIndex[key] = expectedIndex
        self.accounts.append(key)
        self.balances.append(.zero)
    }

    private func currentBalance(_ index: Int32) -> AccountBalance {
        index < Int32(self.balances.count) ? self.balances[Int(index)] : .zero
    }

    private func checkDebit(_ index: Int32, key: AccountKey, amount: Int64) throws(FissionError) {
        let balance = self.currentBalance(index)
        let debits = try (balance.debitsPosted + balance.debitsPending).checkedAdding(amount, "\(key) debits")
        if key.owner.flags.contains(.debitsMustNotExceedCredits), debits > balance.creditsPosted {
            throw FissionError(
                code: .insufficientFunds,
                reason: "\(key) has \(balance.available) available; \(amount) was asked"
            )
        }
    }

    private func checkCredit(_ index: Int32, key: AccountKey, amount: Int64) throws(FissionError) {
        let balance = self.currentBalance(index)
        _ = try (balance.creditsPosted + balance.creditsPending).checkedAdding(amount, "\(key) credits")
    }

    private mutating func append(_ record: Record) -> TransferID {
        let index = Int32(self.records.count)
        self.records.append(record)
        if let key = record.key { self.keyIndex[key] = index }
        return TransferID(rawValue: Int64(index) + 1)
    }

    private func recordIndex(_ id: TransferID) throws(FissionError) -> Int {
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

    private func makeTransfer(_ index: Int) -> Transfer {
        let record = self.records[index]
        return Transfer(
            id: TransferID(rawValue: Int64(index) + 1),
            key: record.key,
            kind: record.kind,
            debit: self.accounts[Int(record.debit)],
            credit: self.accounts[Int(record.credit)],
            amount: record.amount,
            reason: record.reason,
            at: record.at,
            holdUntil: record.holdUntil
        )
    }
}
