/// The raw-array floor of settlement: the same decisions as ``SettlementWorkload``'s campaigns,
/// as plain loops over preallocated arrays indexed by dense member, order and event indices.
///
/// It does the work settlement cannot skip, and nothing else: a dedupe table by event index
/// (a repeated event reads back what it did), the per-level amounts (rate of the net paid amount,
/// rounded down), the budget check (a grant that does not fit is skipped, the next may fit),
/// recording each transfer (beneficiary, amount, part, hold, state) and the wallet and budget
/// balances it moves, and for a refund the cumulative share undone per grant (void while held,
/// reverse once posted, a shortfall into the member's receivable). No ids, hashing, validation,
/// idempotency keys or audit trail: what our settlement does beyond this is its overhead.
public struct FloorSettlement: Sendable {
    /// What remains in the budget, pending grants counted.
    public private(set) var budgetAvailable: Int64
    /// Per event: 0 if unseen, else 1 + the index of its first transfer.
    var seenFirst: [Int32]
    /// Per event: how many transfers it made.
    var seenCount: [UInt8]
    // The transfers.
    var beneficiary: [Int32] = []
    var amount: [Int64] = []
    var part: [UInt8] = []
    var holdUntil: [Int64] = []
    /// 0 pending, 1 posted, 2 voided, 3 a reversal or void record.
    var state: [UInt8] = []
    var undone: [Int64] = []
    // Per member.
    var walletPending: [Int64]
    var walletPosted: [Int64]
    var receivable: [Int64]
    var inviteCount: [Int32]
    var registeredInviter: [Int32]
    var milestones: [UInt8]
    // Per order.
    var orderPaid: [Int64]
    var orderRefunded: [Int64]
    var orderFirst: [Int32]
    var orderCount: [UInt8]

    /// Room for `members`, `orders` and `events`, and a budget.
    public init(members: Int, orders: Int, events: Int, budget: Int64) {
        self.budgetAvailable = budget
        self.seenFirst = [Int32](repeating: 0, count: events)
        self.seenCount = [UInt8](repeating: 0, count: events)
        let transfers = 2 * events + 16
        self.beneficiary.reserveCapacity(transfers)
        self.amount.reserveCapacity(transfers)
        self.part.reserveCapacity(transfers)
        self.holdUntil.reserveCapacity(transfers)
        self.state.reserveCapacity(transfers)
        self.undone.reserveCapacity(transfers)
        self.walletPending = [Int64](repeating: 0, count: members)
        self.walletPosted = [Int64](repeating: 0, count: members)
        self.receivable = [Int64](repeating: 0, count: members)
        self.inviteCount = [Int32](repeating: 0, count: members)
        self.registeredInviter = [Int32](repeating: -2, count: members)
        self.milestones = [UInt8](repeating: 0, count: members)
        self.orderPaid = [Int64](repeating: 0, count: orders)
        self.orderRefunded = [Int64](repeating: 0, count: orders)
        self.orderFirst = [Int32](repeating: 0, count: orders)
        self.orderCount = [UInt8](repeating: 0, count: orders)
    }

    /// Grants `quantity` to `member` if the budget allows, recording the transfer.
    @inline(__always)
    mutating func grant(_ member: Int32, _ quantity: Int64, part: UInt8, hold: Int64, _ totals: inout SettlementTotals)
    {
        guard quantity > 0 else { return }
        guard quantity <= self.budgetAvailable else {
            totals.skipped &+= 1
            return
        }
        self.budgetAvailable -= quantity
        if hold > 0 {
            self.walletPending[Int(member)] += quantity
        } else {
            self.walletPosted[Int(member)] += quantity
        }
        self.beneficiary.append(member)
        self.amount.append(quantity)
        self.part.append(part)
        self.holdUntil.append(hold)
        self.state.append(hold > 0 ? 0 : 1)
        self.undone.append(0)
        totals.granted[Int(part)] &+= quantity
        totals.grantCount &+= 1
    }

    /// Reads back a repeated event's transfers, as a stored outcome is rebuilt. True if `event` was seen.
    @inline(__always)
    mutating func replay(_ event: Int, _ totals: inout SettlementTotals) -> Bool {
        let first = Int(self.seenFirst[event])
        guard first > 0 else { return false }
        for transfer in (first - 1)..<(first - 1 + Int(self.seenCount[event])) where self.state[transfer] != 3 {
            totals.granted[Int(self.part[transfer])] &+= self.amount[transfer]
            totals.grantCount &+= 1
        }
        return true
    }

    @inline(__always)
    mutating func markSeen(_ event: Int, from first: Int) {
        self.seenFirst[event] = Int32(first + 1)
        self.seenCount[event] = UInt8(self.amount.count - first)
    }

    /// A paid order of the 2-level campaign: level 1 and 2 commission, held.
    @inline(__always)
    public mutating func pay(
        event: Int,
        order: Int,
        level1: Int32,
        level2: Int32,
        amount: Int64,
        at: Int64,
        _ totals: inout SettlementTotals
    ) {
        if self.replay(event, &totals) { return }
        let first = self.amount.count
        let hold = at + SettlementWorkload.holdDays * 86_400_000
        self.orderPaid[order] = amount
        self.orderFirst[order] = Int32(first)
        if level1 >= 0 {
            self.grant(level1, amount * SettlementWorkload.levelRates[0] / 10_000, part: 1, hold: hold, &totals)
        }
        if level2 >= 0 {
            self.grant(level2, amount * SettlementWorkload.levelRates[1] / 10_000, part: 2, hold: hold, &totals)
        }
        self.orderCount[order] = UInt8(self.amount.count - first)
        self.markSeen(event, from: first)
    }

    /// A refund: undoes the cumulative refunded share of each of the order's grants.
    @inline(__always)
    public mutating func refund(event: Int, order: Int, amount refundAmount: Int64, _ totals: inout SettlementTotals) {
        if self.replay(event, &totals) { return }
        let first = self.amount.count
        let paid = self.orderPaid[order]
        let refunded = self.orderRefunded[order] + refundAmount
        precondition(refundAmount > 0 && refunded <= paid, "the workload is valid")
        self.orderRefunded[order] = refunded
        let start = Int(self.orderFirst[order])
        for transfer in start..<(start + Int(self.orderCount[order])) {
            let target = self.amount[transfer] * refunded / paid
            let delta = target - self.undone[transfer]
            guard delta > 0, self.state[transfer] != 2 else { continue }
            let member = Int(self.beneficiary[transfer])
            if self.state[transfer] == 0 {
                self.walletPending[member] -= delta
                if target == self.amount[transfer] { self.state[transfer] = 2 }
            } else {
                let fromWallet = min(max(self.walletPosted[member], 0), delta)
                self.walletPosted[member] -= fromWallet
                self.receivable[member] -= delta - fromWallet
            }
            self.budgetAvailable += delta
            self.undone[transfer] = target
            self.beneficiary.append(Int32(member))
            self.amount.append(delta)
            self.part.append(self.part[transfer])
            self.holdUntil.append(0)
            self.state.append(3)
            self.undone.append(0)
            totals.reversals &+= 1
        }
        self.markSeen(event, from: first)
    }

    /// One step of the mixed stream (commission, milestone split and ladder, in rule order).
    @inline(__always)
    public mutating func mixed(_ step: MixedStep, event: Int, parents: [Int32], _ totals: inout SettlementTotals) {
        switch step.kind {
        case .register:
            if self.replay(event, &totals) { return }
            let first = self.amount.count
            let member = Int(step.member)
            let inviter = parents[member]
            self.registeredInviter[member] = inviter
            if inviter >= 0 {
                // Milestone "registered", then the ladder at the inviter's new count.
                self.grant(inviter, SettlementWorkload.milestoneParts[0], part: 3, hold: 0, &totals)
                self.milestones[member] |= 1
                let count = Int64(self.inviteCount[Int(inviter)]) + 1
                self.inviteCount[Int(inviter)] = Int32(count)
                let tiers = SettlementWorkload.ladderTiers
                let rate = count >= tiers[1].fromCount ? tiers[1].amountEach : tiers[0].amountEach
                self.grant(inviter, rate, part: 6, hold: 0, &totals)
            }
            self.markSeen(event, from: first)
        case .pay:
            if self.replay(event, &totals) { return }
            let first = self.amount.count
            let buyer = Int(step.member)
            let order = Int(step.order)
            let level1 = parents[buyer]
            let level2 = level1 >= 0 ? parents[Int(level1)] : -1
            let at = SettlementWorkload.startMilliseconds + Int64(event)
            let hold = at + SettlementWorkload.holdDays * 86_400_000
            self.orderPaid[order] = step.amount
            self.orderFirst[order] = Int32(first)
            if level1 >= 0 {
                self.grant(
                    level1,
                    step.amount * SettlementWorkload.levelRates[0] / 10_000,
                    part: 1,
                    hold: hold,
                    &totals
                )
            }
            if level2 >= 0 {
                self.grant(
                    level2,
                    step.amount * SettlementWorkload.levelRates[1] / 10_000,
                    part: 2,
                    hold: hold,
                    &totals
                )
            }
            let inviter = self.registeredInviter[buyer]
            // The first order earns the first-order part; any later one the repurchase part until
            // it is granted (settlement revision two, which the workload's campaign is under).
            if inviter >= 0 && step.paidCount >= 1 {
                let milestone = min(step.paidCount, 2)
                let bit: UInt8 = milestone == 1 ? 2 : 4
                if self.milestones[buyer] & bit == 0 {
                    let before = self.amount.count
                    self.grant(
                        inviter,
                        SettlementWorkload.milestoneParts[Int(milestone)],
                        part: 3 + UInt8(milestone),
                        hold: 0,
                        &totals
                    )
                    if self.amount.count > before { self.milestones[buyer] |= bit }
                }
            }
            self.orderCount[order] = UInt8(self.amount.count - first)
            self.markSeen(event, from: first)
        case .refund:
            self.refund(event: event, order: Int(step.order), amount: step.amount, &totals)
        }
    }
}
