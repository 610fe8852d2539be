public import FissionCore

/// Turns reward events into ledger transfers, exactly once and never over budget: a pure value.
///
/// Add campaigns, fund their budgets, then settle events. Each event is settled for one campaign
/// under the host's event id: settling the same id again returns the first outcome and changes
/// nothing, and reusing an id for a different event is an error. A reward's identity is
/// (campaign, rule, beneficiary, source event, part); the ledger refuses to grant one twice.
///
/// Grants tied to an order are held (pending) for the rule's ``RewardRule/holdDays`` and post when
/// ``advance(to:)`` passes the hold. A refund voids what is still held and reverses what has
/// posted, in proportion to the refunded share of the order; a reversal that outruns a member's
/// wallet becomes a debt in their receivable, never a silent loss.
///
/// Every call either succeeds completely or throws and leaves the settlement unchanged. A grant
/// that a cap or an exhausted budget stops is not an error: the outcome lists it as skipped.
public struct Settlement: Sendable {
    /// The ledger every grant is recorded in.
    public private(set) var ledger = Ledger()

    var campaigns: [CampaignID: CampaignState] = [:]
    private var processed: [ProcessedKey: Processed] = [:]

    /// Creates an empty settlement.
    public init() {}

    // MARK: - Campaigns and budgets

    /// Adds a campaign.
    ///
    /// - Throws: ``FissionError/Code/duplicateCampaign`` if its id is taken.
    public mutating func addCampaign(_ campaign: RewardCampaign) throws(FissionError) {
        guard self.campaigns[campaign.id] == nil else {
            throw FissionError(code: .duplicateCampaign, reason: "campaign \(campaign.id) was already added")
        }
        self.campaigns[campaign.id] = CampaignState(campaign: campaign)
    }

    /// The campaign with `id`, or `nil`.
    public func campaign(_ id: CampaignID) -> RewardCampaign? { self.campaigns[id]?.campaign }

    /// Moves `amount` into the campaign's budget for its unit, from outside the ledger.
    ///
    /// - Parameter id: The host's id for this funding; funding twice with the same id funds once.
    /// - Throws: ``FissionError/Code/campaignNotFound``; ``FissionError/Code/currencyMismatch`` for
    ///   money in another currency than the campaign's; ledger errors.
    @discardableResult
    public mutating func fund(
        _ campaign: CampaignID,
        amount: RewardAmount,
        id: EventID,
        at: Timestamp
    ) throws(FissionError) -> Ledger.Outcome {
        let state = try self.state(of: campaign)
        if case .money(let currency) = amount.unit, currency != state.campaign.currency {
            throw FissionError(
                code: .currencyMismatch,
                reason: "campaign \(campaign) is in \(state.campaign.currency); cannot fund it with \(currency)"
            )
        }
        return try self.ledger.transfer(
            key: TransferKey(.funding, campaign: campaign, source: id),
            debit: .outside(amount.unit),
            credit: .budget(campaign, amount.unit),
            amount: amount.quantity,
            reason: TransferReason(command: id, ruleVersion: state.campaign.version),
            at: at
        )
    }

    // MARK: - Settling events

    /// Settles one event for one campaign.
    ///
    /// - Parameters:
    ///   - event: What happened.
    ///   - id: The host's event id, the idempotency key (for example `"order-123:paid"`).
    ///   - campaign: The campaign whose rules apply.
    /// - Returns: The grants, reversals and skipped grants; for a repeated `id`, the first
    ///   outcome with ``SettlementOutcome/isDuplicate`` set.
    /// - Throws: ``FissionError/Code/campaignNotFound``; ``FissionError/Code/idempotencyConflict``
    ///   if `id` was settled with a different event; ``FissionError/Code/outsideCampaignWindow``
    ///   for an earning event outside the window; ``FissionError/Code/duplicateRegistration``,
    ///   ``FissionError/Code/duplicateOrder``, ``FissionError/Code/selfReferral``,
    ///   ``FissionError/Code/currencyMismatch``; for refunds ``FissionError/Code/orderNotFound``,
    ///   ``FissionError/Code/refundExceedsPayment``, ``FissionError/Code/invalidAmount``.
    @discardableResult
    public mutating func settle(
        _ event: RewardEvent,
        id: EventID,
        campaign: CampaignID
    ) throws(FissionError) -> SettlementOutcome {
        let key = ProcessedKey(campaign: campaign, event: id)
        let digest = event.digest
        if let earlier = self.processed[key] {
            guard earlier.digest == digest else {
                throw FissionError(
                    code: .idempotencyConflict,
                    reason: "event \(id) was settled for campaign \(campaign) with a different payload"
                )
            }
            return self.outcome(replaying: earlier)
        }
        // Taken out of the dictionary so it is uniquely referenced and mutates in place; a copy
        // would copy its tables on every event. `apply` changes nothing before its last throw.
        guard var state = self.campaigns.removeValue(forKey: campaign) else {
            throw FissionError(code: .campaignNotFound, reason: "no campaign \(campaign)")
        }
        defer { self.campaigns[campaign] = state }
        let mark = self.ledger.mark
        var outcome = SettlementOutcome()
        do {
            try state.apply(event, id: id, ledger: &self.ledger, outcome: &outcome)
        } catch {
            self.ledger.rollBack(to: mark)
            throw error
        }
        self.processed[key] = Processed(
            digest: digest,
            firstTransfer: Int64(mark.transferCount),
            transferCount: Int32(self.ledger.transferCount - mark.transferCount),
            skipped: outcome.skipped
        )
        return outcome
    }

    /// Settles events in order, each as ``settle(_:id:campaign:)`` would; a failed event leaves no
    /// trace and does not stop the others.
    ///
    /// - Returns: One result per event, in order.
    public mutating func settle(
        batch: [(id: EventID, event: RewardEvent)],
        campaign: CampaignID
    ) -> [Result<SettlementOutcome, FissionError>] {
        batch.map { item in
            Result { () throws(FissionError) in try self.settle(item.event, id: item.id, campaign: campaign) }
        }
    }

    /// Posts every held grant whose hold has ended by `now`.
    ///
    /// Idempotent: calling it again with the same or an earlier time posts nothing new.
    ///
    /// - Returns: The posting transfers made.
    @discardableResult
    public mutating func advance(to now: Timestamp) -> [TransferID] {
        self.ledger.postMatured(upTo: now, at: now)
    }

    // MARK: - Reading

    /// What a campaign has granted under one rule to one member: count and quantity.
    public func granted(
        by rule: RuleID,
        to member: MemberID,
        in campaign: CampaignID
    ) -> (count: Int64, quantity: Int64) {
        guard let state = self.campaigns[campaign], let ruleIndex = state.ruleIndex[rule] else { return (0, 0) }
        let counter = state.memberCounters[MemberRuleKey(rule: ruleIndex, member: member)]
        return (counter?.count ?? 0, counter?.quantity ?? 0)
    }

    /// How many invited friends a member has registered in a campaign.
    public func inviteCount(of member: MemberID, in campaign: CampaignID) -> Int64 {
        self.campaigns[campaign]?.inviteCounts[member] ?? 0
    }

    /// What has been refunded of an order in a campaign, or `nil` if the campaign has not seen it paid.
    public func refunded(_ order: OrderID, in campaign: CampaignID) -> Money? {
        self.campaigns[campaign]?.orders[order].map {
            Money(minorUnits: $0.refundedMinorUnits, currency: $0.paid.currency)
        }
    }

    /// Rebuilds a stored outcome from the transfers its event made, which are contiguous.
    private func outcome(replaying processed: Processed) -> SettlementOutcome {
        var outcome = SettlementOutcome()
        outcome.isDuplicate = true
        outcome.skipped = processed.skipped
        for offset in 0..<Int64(processed.transferCount) {
            let id = TransferID(rawValue: processed.firstTransfer + offset + 1)
            guard let transfer = self.ledger.transfer(id) else { continue }
            switch transfer.kind {
            case .posted, .pending:
                guard let key = transfer.key, let rule = key.rule, let beneficiary = key.beneficiary,
                    let amount = try? RewardAmount(transfer.amount, transfer.unit)
                else { continue }
                outcome.grants.append(
                    .init(
                        rule: rule,
                        beneficiary: beneficiary,
                        part: key.part,
                        amount: amount,
                        transfer: id,
                        isHeld: transfer.kind == .pending
                    )
                )
            case .voidPending, .reversal:
                outcome.reversals.append(id)
            case .postPending:
                continue
            }
        }
        return outcome
    }

    private func state(of campaign: CampaignID) throws(FissionError) -> CampaignState {
        guard let state = self.campaigns[campaign] else {
            throw FissionError(code: .campaignNotFound, reason: "no campaign \(campaign)")
        }
        return state
    }
}

/// What settling one event did.
public struct SettlementOutcome: Hashable, Sendable {
    /// One reward granted.
    public struct Grant: Hashable, Sendable {
        /// The rule that decided it.
        public let rule: RuleID
        /// Who receives it.
        public let beneficiary: MemberID
        /// Which part: the commission level (1 or 2), the milestone, the ladder top-up (1).
        public let part: Int32
        /// How much of which unit.
        public let amount: RewardAmount
        /// The transfer: pending while held, posted otherwise.
        public let transfer: TransferID
        /// Whether the grant is held until its refund window ends.
        public let isHeld: Bool
    }

    /// A grant a limit stopped.
    public struct Skip: Hashable, Sendable {
        /// Why it was not granted.
        public enum Reason: Hashable, Sendable {
            /// The campaign's budget for the unit could not cover it.
            case budgetExhausted
            /// A cap of the rule was reached.
            case capReached
        }

        /// The rule.
        public let rule: RuleID
        /// Who would have received it.
        public let beneficiary: MemberID
        /// How much it would have been.
        public let amount: RewardAmount
        /// Why not.
        public let reason: Reason
    }

    /// Rewards granted.
    public internal(set) var grants: [Grant] = []
    /// Transfers that voided holds or reversed posted grants (refunds).
    public internal(set) var reversals: [TransferID] = []
    /// Rewards not granted because of a cap or the budget.
    public internal(set) var skipped: [Skip] = []
    /// Whether the event had been settled before and this is the stored outcome.
    public internal(set) var isDuplicate = false
}

struct ProcessedKey: Hashable, Sendable {
    let campaign: CampaignID
    let event: EventID
}

/// What is kept of a settled event: enough to recognise it and to rebuild its outcome.
struct Processed: Sendable {
    let digest: UInt64
    /// The index of the first transfer the event made; its transfers are contiguous.
    let firstTransfer: Int64
    let transferCount: Int32
    /// Empty for most events, so it costs no allocation.
    let skipped: [SettlementOutcome.Skip]
}
