public import FissionCore

extension Settlement {
    /// What ``Settlement/withdraw(_:from:id:at:)`` did: the payout, and the repayment of a debt
    /// made before it.
    public struct Withdrawal: Hashable, Sendable {
        /// Whose wallet paid.
        public let member: MemberID
        /// What left the ledger for the host to pay out.
        public let amount: RewardAmount
        /// The transfer from the member's wallet to ``AccountOwner/outside``.
        public let payout: TransferID
        /// What the member owed in the unit and repaid from the wallet first (a receivable that
        /// clawbacks had taken below zero), or `nil` if they owed nothing.
        public let repaid: RewardAmount?
        /// The transfer from the wallet to the member's receivable, if ``repaid`` is set.
        public let repayment: TransferID?
        /// Whether this was a repeat of an earlier withdrawal with the same id: nothing new was made.
        public let isDuplicate: Bool
    }

    /// Moves `amount` out of `member`'s wallet to ``AccountOwner/outside``: a payout the host makes
    /// (cash to a bank account, points spent, a gift shipped).
    ///
    /// What the member owes in the amount's unit (a receivable that clawbacks took below zero,
    /// when a refund reversed more than the wallet held) is repaid from the wallet first, so
    /// nothing leaves while the member is in debt: the wallet's available balance must cover the
    /// debt and the amount. Both transfers post at once and name `id` as their command. Held
    /// grants are not available until they post.
    ///
    /// Exactly once by `id`: withdrawing again with the same id, member and amount returns the
    /// first withdrawal with ``Withdrawal/isDuplicate`` set and changes nothing, even after the
    /// wallet has changed. A withdrawal has no ``TransferKey``; its id is its identity (in an
    /// engine, the command's idempotency key).
    ///
    /// - Parameters:
    ///   - amount: What to pay out, in the wallet's unit.
    ///   - member: Whose wallet.
    ///   - id: The host's id for this withdrawal, its idempotency key.
    ///   - at: When.
    /// - Returns: The payout, and the repayment made before it.
    /// - Throws: ``FissionError/Code/insufficientFunds`` if the wallet's available balance is less
    ///   than the amount plus what the member owes (or the member has no wallet in that unit);
    ///   ``FissionError/Code/idempotencyConflict`` if `id` was used for another withdrawal or a
    ///   debt write-off;
    ///   ``FissionError/Code/arithmeticOverflow``. The settlement is unchanged when it throws.
    @discardableResult
    public mutating func withdraw(
        _ amount: RewardAmount,
        from member: MemberID,
        id: EventID,
        at: Timestamp
    ) throws(FissionError) -> Withdrawal {
        if let command = self.ledger.events.find(id), let earlier = self.ledger.withdrawal(madeBy: command) {
            let withdrawal = self.withdrawal(earlier, isDuplicate: true)
            guard withdrawal.member == member, withdrawal.amount == amount else {
                throw FissionError(
                    code: .idempotencyConflict,
                    reason: "withdrawal \(id) paid \(withdrawal.amount) out of member \(withdrawal.member)'s wallet; "
                        + "it cannot pay \(amount) out of member \(member)'s"
                )
            }
            return withdrawal
        }
        if self.ledger.madeMemberMove(id) {
            throw FissionError(
                code: .idempotencyConflict,
                reason: "id \(id) wrote off a debt; it cannot make a withdrawal"
            )
        }
        let made = try self.ledger.withdraw(amount.quantity, unit: amount.unit, from: member, command: id, at: at)
        return self.withdrawal(made, isDuplicate: false)
    }

    /// What `member` owes in `unit`: what clawbacks took from their receivable, less what was
    /// repaid or written off; zero when they owe nothing.
    public func owed(by member: MemberID, in unit: LedgerUnit) -> Int64 {
        self.ledger.debt(in: self.ledger.findAccount(.receivable(member, unit)))
    }

    /// The most `member` can withdraw in `unit` now: their wallet's available balance (held
    /// grants not included) less what they owe, which a withdrawal repays first; zero if that is
    /// nothing.
    public func withdrawable(by member: MemberID, in unit: LedgerUnit) -> Int64 {
        max(0, self.ledger.balance(of: .wallet(member, unit)).available - self.owed(by: member, in: unit))
    }

    /// The withdrawal made with `id`, or `nil`.
    public func withdrawal(_ id: EventID) -> Withdrawal? {
        guard let command = self.ledger.events.find(id), let made = self.ledger.withdrawal(madeBy: command) else {
            return nil
        }
        return self.withdrawal(made, isDuplicate: false)
    }

    /// What ``Settlement/writeOffDebt(_:of:id:at:)`` did.
    public struct DebtWriteOff: Hashable, Sendable {
        /// Whose debt.
        public let member: MemberID
        /// How much of it was forgiven.
        public let amount: RewardAmount
        /// The transfer from ``AccountOwner/outside`` to the member's receivable.
        public let transfer: TransferID
        /// Whether this was a repeat of an earlier write-off with the same id: nothing new was made.
        public let isDuplicate: Bool
    }

    /// Forgives part or all of what `member` owes in the amount's unit: an operator's decision
    /// that a debt left by clawbacks (a receivable below zero) will not be collected. The amount
    /// moves from ``AccountOwner/outside`` to the member's receivable, posted at once: the loss is
    /// the platform's, recorded, never silent.
    ///
    /// Exactly once by `id`, as ``withdraw(_:from:id:at:)`` is: the same id, member and amount
    /// again returns the first write-off with ``DebtWriteOff/isDuplicate`` set, even when the
    /// member no longer owes it; another write-off or a withdrawal under the id is
    /// ``FissionError/Code/idempotencyConflict``.
    ///
    /// - Parameters:
    ///   - amount: How much to forgive; at most what the member owes in its unit.
    ///   - member: Whose debt.
    ///   - id: The host's id for this decision, its idempotency key.
    ///   - at: When.
    /// - Throws: ``FissionError/Code/invalidAmount`` if the member owes less than `amount` (or
    ///   nothing) in its unit; ``FissionError/Code/idempotencyConflict``;
    ///   ``FissionError/Code/arithmeticOverflow``. The settlement is unchanged when it throws.
    @discardableResult
    public mutating func writeOffDebt(
        _ amount: RewardAmount,
        of member: MemberID,
        id: EventID,
        at: Timestamp
    ) throws(FissionError) -> DebtWriteOff {
        if let command = self.ledger.events.find(id), let earlier = self.ledger.writeOff(madeBy: command) {
            let writeOff = self.writeOff(earlier, isDuplicate: true)
            guard writeOff.member == member, writeOff.amount == amount else {
                throw FissionError(
                    code: .idempotencyConflict,
                    reason: "write-off \(id) forgave member \(writeOff.member) \(writeOff.amount); "
                        + "it cannot forgive member \(member) \(amount)"
                )
            }
            return writeOff
        }
        if self.ledger.madeMemberMove(id) {
            throw FissionError(
                code: .idempotencyConflict,
                reason: "id \(id) made a withdrawal; it cannot write off a debt"
            )
        }
        let made = try self.ledger.writeOff(amount.quantity, unit: amount.unit, of: member, command: id, at: at)
        return self.writeOff(made, isDuplicate: false)
    }

    /// The debt write-off made with `id`, or `nil`.
    public func debtWriteOff(_ id: EventID) -> DebtWriteOff? {
        guard let command = self.ledger.events.find(id), let made = self.ledger.writeOff(madeBy: command) else {
            return nil
        }
        return self.writeOff(made, isDuplicate: false)
    }

    private func writeOff(_ index: Int32, isDuplicate: Bool) -> DebtWriteOff {
        let record = self.ledger.records[Int(index)]
        let account = self.ledger.accounts[Int(record.credit)]
        guard case .receivable(let member) = account.owner else {
            preconditionFailure("a write-off credits a receivable")
        }
        return DebtWriteOff(
            member: member,
            amount: RewardAmount(unchecked: record.amount, account.unit),
            transfer: TransferID(rawValue: Int64(index) + 1),
            isDuplicate: isDuplicate
        )
    }

    private func withdrawal(_ made: Ledger.WithdrawalRecords, isDuplicate: Bool) -> Withdrawal {
        let payout = self.ledger.records[Int(made.payout)]
        let unit = self.ledger.accounts[Int(payout.debit)].unit
        guard case .wallet(let member) = self.ledger.accounts[Int(payout.debit)].owner else {
            preconditionFailure("a withdrawal's payout comes from a wallet")
        }
        let repaid = made.repayment.map { RewardAmount(unchecked: self.ledger.records[Int($0)].amount, unit) }
        return Withdrawal(
            member: member,
            amount: RewardAmount(unchecked: payout.amount, unit),
            payout: TransferID(rawValue: Int64(made.payout) + 1),
            repaid: repaid,
            repayment: made.repayment.map { TransferID(rawValue: Int64($0) + 1) },
            isDuplicate: isDuplicate
        )
    }
}
