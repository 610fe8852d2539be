import FissionCore
import FissionRewards
import FissionStorage

/// Real transfers for the conformance checks, made by ledgers so they are what an engine writes.
///
/// ``main`` is one ledger's transfers of every kind; the twins are transfers from other ledgers
/// that collide with it on exactly one rule (an id, a key, a posting), so each check breaks one
/// rule at a time.
struct ConformanceFixtures: Sendable {
    static let campaign: CampaignID = 1
    static let unit = LedgerUnit.money(.cny)
    static let budget = AccountKey.budget(campaign, unit)
    static let at = Timestamp.earliest

    /// `main[0]` is transfer #1: a funding, a pending grant, its post, a posted grant, a second
    /// pending grant, its void, and a reversal of the posted grant.
    let main: [Transfer]

    init() throws {
        var ledger = Ledger()
        let reason = TransferReason(command: "fixture", rule: 3, ruleVersion: 2)
        let hold = try Timestamp(millisecondsSinceEpoch: Self.at.millisecondsSinceEpoch + 86_400_000)
        try Self.fund(&ledger, key: TransferKey(.funding, campaign: Self.campaign, source: "fund-1"), amount: 10_000)
        let pending = try ledger.transfer(
            key: Self.grantKey(member: 1, source: "order-1"),
            debit: Self.budget,
            credit: .wallet(1, Self.unit),
            amount: 300,
            holdUntil: hold,
            reason: reason,
            at: Self.at
        )
        try ledger.post(try Self.only(pending), reason: reason, at: Self.at)
        let posted = try ledger.transfer(
            key: Self.grantKey(member: "member-2", source: "order-2"),
            debit: Self.budget,
            credit: .wallet("member-2", Self.unit),
            amount: 200,
            reason: TransferReason(command: 77),
            at: Self.at
        )
        let second = try ledger.transfer(
            key: Self.grantKey(member: 3, source: "order-3"),
            debit: Self.budget,
            credit: .wallet(3, Self.unit),
            amount: 100,
            holdUntil: hold,
            reason: reason,
            at: Self.at
        )
        try ledger.void(try Self.only(second), reason: reason, at: Self.at)
        try ledger.reverse(
            try Self.only(posted),
            amount: 50,
            key: TransferKey(.reversal, campaign: Self.campaign, source: "refund-2"),
            reason: reason,
            at: Self.at
        )
        self.main = ledger.transfers(limit: ledger.transferCount)
        guard self.main.count == 7 else {
            throw FissionError(
                code: .invalidJournal,
                reason: "the fixture ledger made \(self.main.count) transfers, not 7"
            )
        }
    }

    /// Transfer `id` of the main ledger.
    func main(_ id: Int64) -> Transfer { self.main[Int(id) - 1] }

    /// A transfer numbered `id` from another ledger that carries `key`, a funding key of the main
    /// ledger: only the key collides.
    static func keyTwin(of key: TransferKey, id: Int64) throws -> Transfer {
        var ledger = Ledger()
        for index in 1..<id {
            try Self.fund(
                &ledger,
                key: TransferKey(.funding, campaign: Self.campaign, source: try EventID("twin-\(index)")),
                amount: 5
            )
        }
        try Self.fund(&ledger, key: key, amount: 5)
        return try Self.last(ledger)
    }

    /// A transfer numbered `id` (3 or more) from another ledger that posts pending transfer #2,
    /// as the main ledger's transfer #3 does: only the posting collides.
    static func postingTwin(id: Int64) throws -> Transfer {
        var ledger = Ledger()
        let reason = TransferReason(command: "twin")
        try Self.fund(&ledger, key: TransferKey(.funding, campaign: Self.campaign, source: "twin-fund"), amount: 1_000)
        let hold = try Timestamp(millisecondsSinceEpoch: Self.at.millisecondsSinceEpoch + 1)
        let pending = try ledger.transfer(
            key: Self.grantKey(member: 9, source: "twin-order"),
            debit: Self.budget,
            credit: .wallet(9, Self.unit),
            amount: 10,
            holdUntil: hold,
            reason: reason,
            at: Self.at
        )
        for index in 3..<max(id, 3) {
            try Self.fund(
                &ledger,
                key: TransferKey(.funding, campaign: Self.campaign, source: try EventID("twin-\(index)")),
                amount: 5
            )
        }
        try ledger.post(try Self.only(pending), reason: reason, at: Self.at)
        return try Self.last(ledger)
    }

    /// A transfer numbered `id` from another ledger whose key collides with nothing in the main ledger.
    static func unrelated(id: Int64) throws -> Transfer {
        var ledger = Ledger()
        for index in 1...max(id, 1) {
            try Self.fund(
                &ledger,
                key: TransferKey(.funding, campaign: 2, source: try EventID("unrelated-\(index)")),
                amount: 5
            )
        }
        return try Self.last(ledger)
    }

    private static func grantKey(member: MemberID, source: EventID) -> TransferKey {
        TransferKey(.grant, campaign: Self.campaign, rule: 3, beneficiary: member, source: source)
    }

    private static func fund(_ ledger: inout Ledger, key: TransferKey, amount: Int64) throws {
        try ledger.transfer(
            key: key,
            debit: .outside(Self.unit),
            credit: .budget(key.campaign, Self.unit),
            amount: amount,
            reason: TransferReason(command: key.source),
            at: Self.at
        )
    }

    private static func only(_ outcome: Ledger.Outcome) throws -> TransferID {
        guard let id = outcome.first, outcome.count == 1 else {
            throw FissionError(code: .invalidJournal, reason: "a fixture transfer made \(outcome.count) transfers")
        }
        return id
    }

    private static func last(_ ledger: Ledger) throws -> Transfer {
        guard let transfer = ledger.transfer(TransferID(rawValue: Int64(ledger.transferCount))) else {
            throw FissionError(code: .invalidJournal, reason: "a fixture ledger is empty")
        }
        return transfer
    }
}
