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
    public internal(set) var ledger = Ledger()

    /// The campaigns, in the order they were added, and their index by id.
    var states: [CampaignState] = []
    var campaignIndex = IdentifierTable<IdentifierKind.Campaign>()
    /// Which campaign settled which event, by the ledger's event index.
    var settled = SettledIndex()
    /// Reused between events; the outcome's arrays are handed out from here and taken back, so
    /// once a caller lets go of an outcome, the next event reuses its storage.
    private var scratch = SettlementScratch()
    private var outcomeGrants: [SettlementOutcome.Grant] = []
    private var outcomeSkipped: [SettlementOutcome.Skip] = []
    private var outcomeReversals: [TransferID] = []

    /// Creates an empty settlement.
    public init() {}

    // MARK: - Campaigns and budgets

    /// Adds a campaign.
    ///
    /// - Throws: ``FissionError/Code/duplicateCampaign`` if its id is taken.
    public mutating func addCampaign(_ campaign: RewardCampaign) throws(FissionError) {
        guard self.campaignIndex.find(campaign.id) == nil else {
            throw FissionError(code: .duplicateCampaign, reason: "campaign \(campaign.id) was already added")
        }
        self.campaignIndex.append(campaign.id)
        self.states.append(CampaignState(campaign: campaign, ledger: &self.ledger))
    }

    /// The campaign with `id`, or `nil`.
    public func campaign(_ id: CampaignID) -> RewardCampaign? {
        self.campaignIndex.find(id).map { self.states[Int($0)].campaign }
    }

    /// Whether campaign `id` was added, is in `currency` and is live at `instant`: the engine asks
    /// this of every campaign for every order, and ``campaign(_:)`` would copy the definition.
    package func isLive(_ id: CampaignID, in currency: Currency, at instant: Timestamp) -> Bool {
        guard let index = self.campaignIndex.find(id) else { return false }
        return self.states[Int(index)].campaign.currency == currency
            && self.states[Int(index)].campaign.isLive(at: instant)
    }

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
        let state = self.states[Int(try self.index(of: campaign))]
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
    /// The outcome's arrays are the settlement's own reused storage: an outcome that the caller
    /// lets go of before the next call costs no allocation; one the caller keeps is simply copied
    /// on the next write, as any Swift array.
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
        let stateIndex = Int(try self.index(of: campaign))
        let settled = try self.settle(event, id: id, stateIndex: stateIndex)
        if settled.isDuplicate {
            return self.outcome(of: settled.processed, in: stateIndex, isDuplicate: true)
        }
        let parts = OutcomeParts(
            grants: !self.scratch.made.isEmpty,
            skipped: !self.scratch.skipped.isEmpty,
            reversals: !self.scratch.reversals.isEmpty
        )
        var outcome = self.takeOutcome(parts)
        var beneficiary = Int(settled.processed.firstBeneficiary)
        for index in self.scratch.made.indices {
            let (planned, transfer) = self.scratch.made[index]
            outcome.grants.append(
                self.grant(
                    planned,
                    transfer: transfer,
                    beneficiary: self.states[stateIndex].grantBeneficiaries[beneficiary],
                    rules: self.states[stateIndex].ruleIDs
                )
            )
            beneficiary += 1
        }
        for index in self.scratch.skipped.indices {
            outcome.skipped.append(self.skip(self.scratch.skipped[index], rules: self.states[stateIndex].ruleIDs))
        }
        if !self.scratch.reversals.isEmpty { outcome.reversals.append(contentsOf: self.scratch.reversals.elements) }
        return self.handOut(outcome, parts)
    }

    /// Settles events in order, each as ``settle(_:id:campaign:)`` would; a failed event leaves no
    /// trace and does not stop the others.
    ///
    /// Each outcome is kept, so each is a copy of its arrays. ``settle(compact:campaign:)`` does the
    /// same settling and reports what each event did without building outcomes: use it where
    /// throughput matters.
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

    /// Settles events in order, each exactly as ``settle(_:id:campaign:)`` would, and reports what
    /// each did in compact form: whether it was settled, a repeat or refused, and the range of
    /// transfers it made. A failed event leaves no trace and does not stop the others.
    ///
    /// This is the throughput path: it builds no ``SettlementOutcome``. Read a transfer with
    /// ``Ledger/transfer(_:)``, or an event's whole outcome (skipped grants included) with
    /// ``outcome(of:campaign:)``.
    ///
    /// - Throws: ``FissionError/Code/campaignNotFound`` before settling anything.
    public mutating func settle(
        compact batch: [(id: EventID, event: RewardEvent)],
        campaign: CampaignID
    ) throws(FissionError) -> SettlementBatch {
        let stateIndex = Int(try self.index(of: campaign))
        var result = SettlementBatch(capacity: batch.count)
        // Through the buffer: subscripting the array copied each (id, event) pair through the
        // runtime's generic tuple copy, retaining every reference in the event, then released them.
        batch.withUnsafeBufferPointer { items in
            for index in items.indices {
                do throws(FissionError) {
                    // One copy of the pair: each `items[index].x` would copy the whole pair.
                    let item = items[index]
                    let settled = try self.settle(item.event, id: item.id, stateIndex: stateIndex)
                    result.append(settled.processed, isDuplicate: settled.isDuplicate)
                } catch {
                    result.appendFailure(error, at: index)
                }
            }
        }
        return result
    }

    /// Settles `event` for campaign `stateIndex`, or recognises it as settled before, and returns
    /// its record. For a new event, `scratch` holds what it did until the next event.
    @inline(__always)
    private mutating func settle(
        _ event: borrowing RewardEvent,
        id: EventID,
        stateIndex: Int
    ) throws(FissionError) -> (processed: Processed, isDuplicate: Bool) {
        let digest = event.digest(self.states[stateIndex].digestScheme)
        let knownEvent = self.ledger.events.find(id)
        if let knownEvent, let position = self.settled.find(knownEvent, campaign: Int32(stateIndex)) {
            let earlier = self.states[stateIndex].processed[Int(position)]
            guard earlier.digest == digest else {
                throw FissionError(
                    code: .idempotencyConflict,
                    reason: "event \(id) was settled for campaign \(self.states[stateIndex].campaign.id) "
                        + "with a different payload"
                )
            }
            return (earlier, true)
        }
        let mark = self.ledger.mark
        self.scratch.reset()
        let source = knownEvent ?? self.ledger.events.append(id)
        do {
            // In place: the state is an element of `states`, the ledger another stored property.
            try self.states[stateIndex].apply(
                event,
                id: id,
                source: source,
                ledger: &self.ledger,
                scratch: &self.scratch
            )
        } catch {
            self.ledger.rollBack(to: mark)
            throw error
        }
        let firstSkip = Int32(self.states[stateIndex].skips.count)
        if !self.scratch.skipped.isEmpty {
            self.states[stateIndex].skips.append(contentsOf: self.scratch.skipped.elements)
        }
        let record = Processed(
            digest: digest,
            firstTransfer: Int32(mark.transferCount),
            transferCount: Int32(self.ledger.transferCount - mark.transferCount),
            firstSkip: firstSkip,
            skipCount: Int32(self.scratch.skipped.count),
            firstBeneficiary: Int32(self.states[stateIndex].grantBeneficiaries.count)
        )
        // The beneficiaries' ids, for the outcome now and whenever the event is asked about again.
        for index in self.scratch.made.indices {
            let planned = self.scratch.made[index].0
            self.states[stateIndex].grantBeneficiaries.append(
                planned.beneficiaryID(in: event, members: self.ledger.members)
            )
        }
        let position = self.states[stateIndex].recordProcessed(source, record)
        self.settled.insert(source, campaign: Int32(stateIndex), position: position)
        return (record, false)
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

    // MARK: - Operators' decisions on held grants

    /// Posts a held grant now, before its hold ends: an operator approved it.
    ///
    /// Idempotent: releasing a grant that has already posted (released before, or its hold ended)
    /// returns that posting with ``Ledger/Outcome/isDuplicate`` set and changes nothing. A later
    /// refund of the grant's order reverses the posted grant as it would any posted grant.
    ///
    /// - Parameters:
    ///   - grant: The pending transfer of the grant (``SettlementOutcome/Grant/transfer``).
    ///   - command: The host's id for the decision, recorded as the posting's reason.
    ///   - at: When it was decided.
    /// - Returns: The posting.
    /// - Throws: ``FissionError/Code/transferNotFound`` if there is no such transfer;
    ///   ``FissionError/Code/transferNotPending`` if it is not a held grant, or was voided (rejected,
    ///   or refunded in full).
    @discardableResult
    public mutating func release(
        _ grant: TransferID,
        command: EventID,
        at: Timestamp
    ) throws(FissionError) -> Ledger.Outcome {
        let held = try self.heldGrant(grant)
        return try self.ledger.post(
            grant,
            reason: TransferReason(command: command, rule: held.reason.rule, ruleVersion: held.reason.ruleVersion),
            at: at
        )
    }

    /// Voids what remains of a held grant: an operator rejected it, and its reservation returns to
    /// the campaign's budget.
    ///
    /// Idempotent: rejecting a grant that is already voided in full returns an empty outcome with
    /// ``Ledger/Outcome/isDuplicate`` set. A later refund of the grant's order has nothing left to
    /// undo for it. Like a refund, a rejection does not give back the cap room the grant used.
    ///
    /// In a campaign under ``SettlementRevision/two`` or later, rejecting an invite's own ladder
    /// grant also takes the invite off the ladder: a retroactive ladder's later top-ups do not
    /// reprice it. A rejected top-up stays rejected; the next invite does not pay it again.
    ///
    /// - Parameters:
    ///   - grant: The pending transfer of the grant (``SettlementOutcome/Grant/transfer``).
    ///   - command: The host's id for the decision, recorded as the void's reason.
    ///   - at: When it was decided.
    /// - Returns: The void.
    /// - Throws: ``FissionError/Code/transferNotFound`` if there is no such transfer;
    ///   ``FissionError/Code/transferNotPending`` if it is not a held grant, or has posted.
    @discardableResult
    public mutating func reject(
        _ grant: TransferID,
        command: EventID,
        at: Timestamp
    ) throws(FissionError) -> Ledger.Outcome {
        let held = try self.heldGrant(grant)
        let outcome = try self.ledger.void(
            grant,
            reason: TransferReason(command: command, rule: held.reason.rule, ruleVersion: held.reason.ruleVersion),
            at: at
        )
        // A rejected ladder grant leaves its ladder's progress (revision two; nothing can fail here).
        if !outcome.isDuplicate, let void = outcome.first, let key = held.key, let rule = key.rule,
            let beneficiary = key.beneficiary, let stateIndex = self.campaignIndex.find(key.campaign),
            let ruleIndex = self.states[Int(stateIndex)].ruleIndex[rule],
            let inviter = self.ledger.members.find(beneficiary), let voided = self.ledger.transfer(void)
        {
            self.states[Int(stateIndex)].forgetRejectedLadderGrant(
                rule: ruleIndex,
                inviter: inviter,
                part: key.part,
                quantity: voided.amount,
                record: Int32(grant.rawValue - 1)
            )
        }
        return outcome
    }

    /// The pending grant `id`, or the error that says why it is not one.
    private func heldGrant(_ id: TransferID) throws(FissionError) -> Transfer {
        guard let transfer = self.ledger.transfer(id) else {
            throw FissionError(code: .transferNotFound, reason: "no transfer \(id)")
        }
        guard transfer.kind == .pending, transfer.key?.operation == .grant else {
            throw FissionError(code: .transferNotPending, reason: "transfer \(id) is not a held reward grant")
        }
        return transfer
    }

    // MARK: - Reading

    /// What settling event `id` for `campaign` did, as ``settle(_:id:campaign:)`` first returned it
    /// (``SettlementOutcome/isDuplicate`` is `false`), or `nil` if that campaign has not settled it.
    ///
    /// The grants name the transfers as the event made them; a grant released, rejected or
    /// refunded since is still listed with the ``SettlementOutcome/Grant/isHeld`` it was made with.
    public func outcome(of id: EventID, campaign: CampaignID) -> SettlementOutcome? {
        guard let stateIndex = self.campaignIndex.find(campaign),
            let event = self.ledger.events.find(id),
            let position = self.settled.find(event, campaign: stateIndex)
        else { return nil }
        var outcome = SettlementOutcome()
        self.rebuild(self.states[Int(stateIndex)].processed[Int(position)], in: Int(stateIndex), into: &outcome)
        return outcome
    }

    /// What a campaign has granted under one rule to one member: count and quantity.
    public func granted(
        by rule: RuleID,
        to member: MemberID,
        in campaign: CampaignID
    ) -> (count: Int64, quantity: Int64) {
        guard let index = self.campaignIndex.find(campaign), let memberRef = self.ledger.members.find(member) else {
            return (0, 0)
        }
        let state = self.states[Int(index)]
        guard let ruleIndex = state.ruleIndex[rule] else { return (0, 0) }
        let counter = state.counter(rule: Int32(ruleIndex), member: memberRef)
        return (counter.count, counter.quantity)
    }

    /// How many invited friends a member has registered in a campaign.
    public func inviteCount(of member: MemberID, in campaign: CampaignID) -> Int64 {
        guard let index = self.campaignIndex.find(campaign), let memberRef = self.ledger.members.find(member) else {
            return 0
        }
        return self.states[Int(index)].inviteCount(of: memberRef)
    }

    /// What has been refunded of an order in a campaign, or `nil` if the campaign has not seen it paid.
    public func refunded(_ order: OrderID, in campaign: CampaignID) -> Money? {
        guard let index = self.campaignIndex.find(campaign) else { return nil }
        let state = self.states[Int(index)]
        return state.orderIDs.find(order).map {
            Money(minorUnits: state.orders[Int($0)].refundedMinorUnits, currency: state.campaign.currency)
        }
    }

    // MARK: - Outcomes

    /// Which of an outcome's arrays will have elements: only those borrow the reused storage.
    ///
    /// Handing out a reused array and taking it back costs a retain and a release (atomic
    /// operations) even when it stays empty; an empty part keeps the shared empty array instead.
    private struct OutcomeParts {
        var grants: Bool
        var skipped: Bool
        var reversals: Bool
    }

    /// An empty outcome on the reused arrays of `parts`.
    private mutating func takeOutcome(_ parts: OutcomeParts) -> SettlementOutcome {
        var outcome = SettlementOutcome()
        if parts.grants {
            swap(&outcome.grants, &self.outcomeGrants)
            SettlementScratch.clear(&outcome.grants)
        }
        if parts.skipped {
            swap(&outcome.skipped, &self.outcomeSkipped)
            SettlementScratch.clear(&outcome.skipped)
        }
        if parts.reversals {
            swap(&outcome.reversals, &self.outcomeReversals)
            SettlementScratch.clear(&outcome.reversals)
        }
        return outcome
    }

    /// Keeps a reference to the arrays ``takeOutcome(_:)`` took for `parts`, to reuse once the
    /// caller lets go of them.
    private mutating func handOut(_ outcome: SettlementOutcome, _ parts: OutcomeParts) -> SettlementOutcome {
        if parts.grants { self.outcomeGrants = outcome.grants }
        if parts.skipped { self.outcomeSkipped = outcome.skipped }
        if parts.reversals { self.outcomeReversals = outcome.reversals }
        return outcome
    }

    @inline(__always)
    private func grant(
        _ planned: PlannedGrant,
        transfer: Int32,
        beneficiary: MemberID,
        rules: [RuleID]
    ) -> SettlementOutcome.Grant {
        // Planned quantities are positive: the plans only hold positive amounts.
        .init(
            rule: rules[Int(planned.ruleIndex)],
            beneficiary: beneficiary,
            part: planned.part,
            amount: RewardAmount(unchecked: planned.quantity, self.ledger.units[Int(planned.unit)]),
            transfer: TransferID(rawValue: Int64(transfer) + 1),
            isHeld: planned.holdUntil != Ledger.noHold
        )
    }

    private func skip(_ skip: StoredSkip, rules: [RuleID]) -> SettlementOutcome.Skip {
        .init(
            rule: rules[Int(skip.ruleIndex)],
            beneficiary: skip.beneficiaryID,
            amount: RewardAmount(unchecked: skip.quantity, self.ledger.units[Int(skip.unit)]),
            reason: skip.reason == 0 ? .budgetExhausted : .capReached
        )
    }

    /// Rebuilds a stored outcome on the reused arrays.
    private mutating func outcome(
        of processed: Processed,
        in stateIndex: Int,
        isDuplicate: Bool
    ) -> SettlementOutcome {
        let parts = OutcomeParts(
            grants: processed.transferCount > 0,
            skipped: processed.skipCount > 0,
            reversals: processed.transferCount > 0
        )
        var outcome = self.takeOutcome(parts)
        outcome.isDuplicate = isDuplicate
        self.rebuild(processed, in: stateIndex, into: &outcome)
        return self.handOut(outcome, parts)
    }

    /// Appends a settled event's grants, skipped grants and reversals to `outcome`; its transfers
    /// are contiguous in the ledger.
    @inline(__always)
    private func rebuild(_ processed: Processed, in stateIndex: Int, into outcome: inout SettlementOutcome) {
        for index in Int(processed.firstSkip)..<Int(processed.firstSkip + processed.skipCount) {
            outcome.skipped.append(
                self.skip(self.states[stateIndex].skips[index], rules: self.states[stateIndex].ruleIDs)
            )
        }
        let first = Int(processed.firstTransfer)
        var beneficiary = Int(processed.firstBeneficiary)
        for index in first..<first + Int(processed.transferCount) {
            let record = self.ledger.records[index]
            switch record.kind {
            case .posted, .pending:
                guard record.isGrant else { continue }
                outcome.grants.append(
                    .init(
                        rule: self.ledger.ruleIDs[record.key.rule],
                        beneficiary: self.states[stateIndex].grantBeneficiaries[beneficiary],
                        part: record.key.part,
                        amount: RewardAmount(
                            unchecked: record.amount,
                            self.ledger.accounts[Int(record.debit)].unit
                        ),
                        transfer: TransferID(rawValue: Int64(index) + 1),
                        isHeld: record.kind == .pending
                    )
                )
                beneficiary += 1
            case .voidPending, .reversal:
                outcome.reversals.append(TransferID(rawValue: Int64(index) + 1))
            case .postPending:
                continue
            }
        }
    }

    // Inlined: a call to a non-mutating method from a mutating one copied the whole struct (a
    // memcpy of several hundred bytes per event) to pass it as `self`.
    @inline(__always)
    private func index(of campaign: CampaignID) throws(FissionError) -> Int32 {
        guard let index = self.campaignIndex.find(campaign) else {
            throw FissionError(code: .campaignNotFound, reason: "no campaign \(campaign)")
        }
        return index
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
