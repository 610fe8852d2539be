import FissionCore
import FissionRewards
import Testing

private let campaign: CampaignID = "spring-invite"
private let budget = AccountKey.budget(campaign, cny)
private let alice = AccountKey.wallet("alice", cny)
private let t0 = try! Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)

private func reason(_ command: EventID) -> TransferReason {
    TransferReason(command: command, rule: "invite-fixed", ruleVersion: 1)
}

private func grantKey(_ source: EventID, beneficiary: MemberID = "alice", part: Int32 = 0) -> TransferKey {
    TransferKey(.grant, campaign: campaign, rule: "invite-fixed", beneficiary: beneficiary, source: source, part: part)
}

/// A ledger whose campaign budget holds `amount` fen.
private func fundedLedger(_ amount: Int64 = 10_000) throws -> Ledger {
    var ledger = Ledger()
    try ledger.transfer(
        key: TransferKey(.funding, campaign: campaign, source: "fund-1"),
        debit: .outside(cny),
        credit: budget,
        amount: amount,
        reason: reason("fund-1"),
        at: t0
    )
    return ledger
}

struct LedgerTests {
    @Test func aHoldReservesTheBudgetThenPostsOnce() throws {
        var ledger = try fundedLedger(10_000)
        let hold = try ledger.transfer(
            key: grantKey("order-1:paid"),
            debit: budget,
            credit: alice,
            amount: 3_000,
            holdUntil: t0.adding(days: 7),
            reason: reason("order-1:paid"),
            at: t0
        )
        #expect(ledger.balance(of: budget).available == 7_000)
        #expect(ledger.balance(of: alice).pending == 3_000)
        #expect(ledger.balance(of: alice).available == 0)

        #expect(ledger.postMatured(upTo: try t0.adding(days: 6), at: t0).isEmpty)
        let posts = ledger.postMatured(upTo: try t0.adding(days: 7), at: try t0.adding(days: 7))
        #expect(posts.count == 1)
        #expect(ledger.balance(of: alice).available == 3_000)
        #expect(ledger.balance(of: alice).pending == 0)
        #expect(ledger.balance(of: budget).available == 7_000)
        #expect(ledger.pendingState(of: hold.transfers[0]) == .posted(posts[0]))

        let again = try ledger.post(hold.transfers[0], reason: reason("retry"), at: t0)
        #expect(again.isDuplicate && again.transfers == posts)
        #expect(ledger.audit().isEmpty)
    }

    @Test func theSameKeyTwiceGrantsOnceAndADifferentPayloadIsRefused() throws {
        var ledger = try fundedLedger()
        let first = try ledger.transfer(
            key: grantKey("order-1:paid"),
            debit: budget,
            credit: alice,
            amount: 500,
            reason: reason("order-1:paid"),
            at: t0
        )
        let second = try ledger.transfer(
            key: grantKey("order-1:paid"),
            debit: budget,
            credit: alice,
            amount: 500,
            reason: reason("order-1:paid"),
            at: t0
        )
        #expect(!first.isDuplicate && second.isDuplicate && first.transfers == second.transfers)
        #expect(ledger.balance(of: alice).available == 500)
        #expect(throws: FissionError(code: .idempotencyConflict)) {
            try ledger.transfer(
                key: grantKey("order-1:paid"),
                debit: budget,
                credit: alice,
                amount: 600,
                reason: reason("order-1:paid"),
                at: t0
            )
        }
        #expect(ledger.transferCount == 2)
    }

    @Test func aBudgetNeverGoesBelowZeroCountingHolds() throws {
        var ledger = try fundedLedger(1_000)
        try ledger.transfer(
            key: grantKey("a"),
            debit: budget,
            credit: alice,
            amount: 800,
            holdUntil: t0,
            reason: reason("a"),
            at: t0
        )
        let before = ledger.transferCount
        #expect(throws: FissionError(code: .insufficientFunds)) {
            try ledger.transfer(
                key: grantKey("b"),
                debit: budget,
                credit: alice,
                amount: 201,
                reason: reason("b"),
                at: t0
            )
        }
        #expect(ledger.transferCount == before)
        try ledger.transfer(key: grantKey("c"), debit: budget, credit: alice, amount: 200, reason: reason("c"), at: t0)
        #expect(ledger.balance(of: budget).available == 0)
        #expect(ledger.audit().isEmpty)
    }

    @Test(
        "Malformed transfers are refused and change nothing",
        arguments: [
            (Int64(0), budget, alice, FissionError.Code.invalidAmount),
            (-5, budget, alice, .invalidAmount),
            (5, budget, AccountKey.wallet("alice", .points), .unitMismatch),
            (5, budget, budget, .sameAccount),
            (5, AccountKey.wallet("bob", cny), alice, .insufficientFunds),
        ]
    )
    func malformedTransfers(amount: Int64, debit: AccountKey, credit: AccountKey, code: FissionError.Code) throws {
        var ledger = try fundedLedger()
        #expect(throws: FissionError(code: code)) {
            try ledger.transfer(
                key: grantKey("x"),
                debit: debit,
                credit: credit,
                amount: amount,
                reason: reason("x"),
                at: t0
            )
        }
        #expect(ledger.transferCount == 1)
        #expect(ledger.accountKeys == [.outside(cny), budget])
    }

    @Test func voidsReleaseHoldsInPartOrWhole() throws {
        var ledger = try fundedLedger(10_000)
        let hold = try ledger.transfer(
            key: grantKey("order-1:paid"),
            debit: budget,
            credit: alice,
            amount: 1_000,
            holdUntil: t0.adding(days: 7),
            reason: reason("order-1:paid"),
            at: t0
        ).transfers[0]
        let refundKey = TransferKey(.reversal, campaign: campaign, beneficiary: "alice", source: "order-1:refund-1")
        try ledger.void(hold, amount: 400, key: refundKey, reason: reason("order-1:refund-1"), at: t0)
        let replay = try ledger.void(hold, amount: 400, key: refundKey, reason: reason("order-1:refund-1"), at: t0)
        #expect(replay.isDuplicate)
        #expect(ledger.pendingState(of: hold) == .open(remaining: 600))
        #expect(ledger.balance(of: budget).available == 9_400)
        #expect(throws: FissionError(code: .invalidAmount)) {
            try ledger.void(hold, amount: 601, reason: reason("too-much"), at: t0)
        }
        try ledger.void(hold, reason: reason("order-1:refund-all"), at: t0)
        #expect(ledger.pendingState(of: hold) == .voided)
        #expect(try ledger.void(hold, reason: reason("again"), at: t0).isDuplicate)
        #expect(throws: FissionError(code: .transferNotPending)) {
            try ledger.post(hold, reason: reason("late"), at: t0)
        }
        #expect(ledger.postMatured(upTo: try t0.adding(days: 30), at: t0).isEmpty)
        #expect(ledger.balance(of: budget).available == 10_000)
        #expect(ledger.balance(of: alice) == .zero)
        #expect(ledger.audit().isEmpty)
    }

    @Test func aClawbackBeyondTheWalletBecomesADebtNotALoss() throws {
        var ledger = try fundedLedger(10_000)
        let grant = try ledger.transfer(
            key: grantKey("order-1:paid"),
            debit: budget,
            credit: alice,
            amount: 1_000,
            reason: reason("order-1:paid"),
            at: t0
        ).transfers[0]
        // Alice withdraws 700 of it.
        try ledger.transfer(
            key: TransferKey(.withdrawal, campaign: campaign, beneficiary: "alice", source: "payout-1"),
            debit: alice,
            credit: .outside(cny),
            amount: 700,
            reason: reason("payout-1"),
            at: t0
        )
        let refundKey = TransferKey(.reversal, campaign: campaign, beneficiary: "alice", source: "order-1:refund")
        let clawback = try ledger.reverse(
            grant,
            amount: 1_000,
            key: refundKey,
            reason: reason("order-1:refund"),
            at: t0
        )
        #expect(clawback.transfers.count == 2)
        #expect(ledger.balance(of: alice).available == 0)
        #expect(ledger.balance(of: .receivable("alice", cny)).posted == -700)
        #expect(ledger.balance(of: budget).available == 10_000)
        let replay = try ledger.reverse(grant, amount: 1_000, key: refundKey, reason: reason("order-1:refund"), at: t0)
        #expect(replay.isDuplicate && replay.transfers == clawback.transfers)
        #expect(throws: FissionError(code: .invalidReversal)) {
            try ledger.reverse(
                grant,
                amount: 1,
                key: TransferKey(.reversal, campaign: campaign, source: "order-1:refund-2"),
                reason: reason("x"),
                at: t0
            )
        }
        #expect(ledger.reversibleAmount(of: grant) == 0)
        #expect(ledger.audit().isEmpty)
    }

    @Test func onlyPostedTransfersCanBeReversed() throws {
        var ledger = try fundedLedger()
        let hold = try ledger.transfer(
            key: grantKey("h"),
            debit: budget,
            credit: alice,
            amount: 10,
            holdUntil: t0,
            reason: reason("h"),
            at: t0
        ).transfers[0]
        let key = TransferKey(.reversal, campaign: campaign, source: "r")
        #expect(throws: FissionError(code: .invalidReversal)) {
            try ledger.reverse(hold, amount: 10, key: key, reason: reason("r"), at: t0)
        }
        #expect(throws: FissionError(code: .transferNotFound)) {
            try ledger.reverse(TransferID(rawValue: 99), amount: 10, key: key, reason: reason("r"), at: t0)
        }
        #expect(throws: FissionError(code: .transferNotPending)) {
            try ledger.post(TransferID(rawValue: 1), reason: reason("r"), at: t0)
        }
    }

    @Test func holdsMatureInOrderOfTheirEnd() throws {
        var ledger = try fundedLedger(10_000)
        var holds: [TransferID] = []
        for (index, days) in [5, 3, 5, 1].enumerated() {
            holds.append(
                try ledger.transfer(
                    key: grantKey(EventID(Int64(index))),
                    debit: budget,
                    credit: alice,
                    amount: 10,
                    holdUntil: t0.adding(days: Int64(days)),
                    reason: reason(EventID(Int64(index))),
                    at: t0
                ).transfers[0]
            )
        }
        let posts = ledger.postMatured(upTo: try t0.adding(days: 10), at: t0)
        let postedOrder = posts.compactMap { ledger.transfer($0)?.kind }
        #expect(
            postedOrder == [
                .postPending(holds[3]), .postPending(holds[1]), .postPending(holds[0]), .postPending(holds[2]),
            ]
        )
    }
}

struct RewardAmountDescriptionTests {
    @Test func moneyReadsAsMoneyAndOtherUnitsAsCounts() throws {
        #expect(try RewardAmount.money(Money(minorUnits: 2_000, currency: .cny)).description == "20.00 CNY")
        #expect(try RewardAmount(200, .points).description == "200 points")
        #expect(try RewardAmount(1, .coupon("c-10")).description == "1 coupon(c-10)")
    }
}
