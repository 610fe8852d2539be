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
    ///   ``FissionError/Code/idempotencyConflict`` if `id` was used for another withdrawal;
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
        let made = try self.ledger.withdraw(amount.quantity, unit: amount.unit, from: member, command: id, at: at)
        return self.withdrawal(made, isDuplicate: false)
    }

    /// The withdrawal made with `id`, or `nil`.
    public func withdrawal(_ id: EventID) -> Withdrawal? {
        guard let command = self.ledger.events.find(id), let made = self.ledger.withdrawal(madeBy: command) else {
            return nil
        }
        return self.withdrawal(made, isDuplicate: false)
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
