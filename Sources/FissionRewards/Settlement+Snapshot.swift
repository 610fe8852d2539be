@_spi(FissionCoding) public import FissionCore

extension Settlement {
    /// The snapshot format's version, which ``snapshot()`` writes. ``init(snapshot:)`` also reads
    /// versions 1 and 2: campaigns restored from version 1 keep fingerprinting events as they did
    /// then (Decision 0021), and campaigns from either settle under ``SettlementRevision/one``
    /// (Decision 0027).
    public static var snapshotVersion: UInt32 { 3 }

    /// The whole settlement as compact binary: the ledger (ids, units, accounts, every transfer),
    /// the campaigns with their rules, and each campaign's state (registrations, counters, orders,
    /// the settled events and their skipped grants).
    ///
    /// Only the source of truth is written, in dense form (about 90 bytes per transfer and 20 per
    /// settled event with integer ids); balances, the hold queue and every hash index are rebuilt on
    /// restore. Integers are little-endian. A settlement restored by ``init(snapshot:)`` behaves
    /// exactly like this one: the same further events give the same outcomes, transfers and balances.
    ///
    /// - Complexity: O(size of the state).
    public func snapshot() -> [UInt8] {
        var writer = ByteWriter(capacity: 64 + self.ledger.records.count * 96 + self.ledger.members.count * 10)
        writer.append(literal: "FSNS")
        writer.append(Self.snapshotVersion)
        self.ledger.write(to: &writer)
        writer.append(UInt32(self.states.count))
        for state in self.states {
            writer.append(state.digestScheme.rawValue)
            writer.append(state.campaign.settlementRevision.rawValue)
            state.write(to: &writer)
        }
        writer.append(literal: "END.")
        return writer.finish()
    }

    /// Restores a settlement from ``snapshot()`` output, checking it thoroughly.
    ///
    /// - Throws: ``FissionError/Code/corruptSnapshot`` if the bytes are truncated, of another
    ///   format or version, or describe an impossible state (an index out of range, a duplicate
    ///   id, an invalid rule, a ledger whose transfers do not balance or break an account's limit).
    /// - Complexity: O(size of the snapshot).
    public init(snapshot bytes: [UInt8]) throws(FissionError) {
        self.init()
        var reader = ByteReader(bytes: bytes)
        guard try reader.readBytes(4) == Array("FSNS".utf8) else { throw corrupt("not a Settlement snapshot") }
        let version: UInt32 = try reader.read()
        guard (1...Self.snapshotVersion).contains(version) else {
            throw corrupt("snapshot version \(version) is unknown; this version of Fission reads 1 to 3")
        }
        self.ledger = try Ledger(reading: &reader)
        let campaignCount: UInt32 = try reader.read()
        guard campaignCount <= UInt32(reader.remaining) else { throw corrupt("campaign count \(campaignCount)") }
        for _ in 0..<campaignCount {
            // Version 1 wrote no scheme: its fingerprints are double-round.
            var scheme = DigestScheme.doubleRound
            if version >= 2 {
                let raw: UInt8 = try reader.read()
                guard let read = DigestScheme(rawValue: raw) else { throw corrupt("fingerprint scheme \(raw)") }
                scheme = read
            }
            // Versions 1 and 2 wrote no revision: their campaigns were built before revision two.
            var revision = SettlementRevision.one
            if version >= 3 {
                let raw: UInt8 = try reader.read()
                guard let read = SettlementRevision(rawValue: raw) else { throw corrupt("settlement revision \(raw)") }
                revision = read
            }
            let campaign = try readCampaign(&reader).settling(under: revision)
            guard self.campaignIndex.find(campaign.id) == nil,
                let ledgerCampaign = self.ledger.campaignIDs.find(campaign.id)
            else { throw corrupt("campaign \(campaign.id) is repeated or unknown to the ledger") }
            var state = CampaignState(campaign: campaign, ledger: &self.ledger)
            guard state.ledgerCampaign == ledgerCampaign else { throw corrupt("campaign \(campaign.id) index") }
            state.digestScheme = scheme
            try state.read(from: &reader, ledger: self.ledger, version: version)
            for (position, event) in state.processedEvents.enumerated() {
                self.settled.insert(event, campaign: Int32(self.states.count), position: Int32(position))
            }
            self.campaignIndex.append(campaign.id)
            self.states.append(state)
        }
        guard try reader.readBytes(4) == Array("END.".utf8), reader.isAtEnd else {
            throw corrupt("the snapshot does not end where its contents do")
        }
        let problems = self.ledger.audit()
        guard problems.isEmpty else { throw corrupt("the ledger is unsound: \(problems[0])") }
    }
}

extension Settlement: Equatable {
    /// Two settlements are equal when they hold the same state: the same ledger, campaigns and
    /// campaign states, in the same order (as their snapshots show). Reused buffers do not count.
    public static func == (lhs: Settlement, rhs: Settlement) -> Bool {
        lhs.snapshot() == rhs.snapshot()
    }
}

private func corrupt(_ reason: String) -> FissionError {
    FissionError(code: .corruptSnapshot, reason: "corrupt settlement snapshot: \(reason)")
}

/// Reads a count that cannot exceed what is left to read at `minimumBytes` each.
private func readCount(_ reader: inout ByteReader, minimumBytes: Int, _ what: String) throws(FissionError) -> Int {
    let raw: UInt64 = try reader.read()
    guard raw <= UInt64(reader.remaining / max(minimumBytes, 1)) else { throw corrupt("\(what) count \(raw)") }
    return Int(raw)
}

// MARK: - Ledger

extension Ledger {
    func write(to writer: inout ByteWriter) {
        Self.write(self.members, to: &writer)
        Self.write(self.events, to: &writer)
        Self.write(self.campaignIDs, to: &writer)
        Self.write(self.ruleIDs, to: &writer)
        writer.append(UInt64(self.units.count))
        for unit in self.units { writer.append(unit: unit) }
        writer.append(UInt64(self.accounts.count))
        writer.append(array: self.accountTable.keys)
        writer.append(UInt64(self.records.count))
        for record in self.records {
            writer.append(record.debit)
            writer.append(record.credit)
            writer.append(record.amount)
            writer.append(record.kind.rawValue)
            writer.append(record.related)
            writer.append(UInt8(record.hasKey ? 1 : 0))
            writer.append(record.key.operation)
            writer.append(record.key.part)
            writer.append(record.key.campaign)
            writer.append(record.key.rule)
            writer.append(record.key.beneficiary)
            writer.append(record.key.source)
            writer.append(record.command)
            writer.append(record.reasonRule)
            writer.append(record.ruleVersion)
            writer.append(record.at)
            writer.append(record.holdUntil)
            writer.append(record.linkedCount)
            writer.append(record.open)
            writer.append(record.resolution)
        }
    }

    private static func write<Kind>(_ table: IdentifierTable<Kind>, to writer: inout ByteWriter) {
        writer.append(UInt64(table.count))
        for id in table.ids { writer.append(identifier: id) }
    }

    private static func read<Kind>(
        _ reader: inout ByteReader,
        _ what: String
    ) throws(FissionError) -> IdentifierTable<Kind> {
        var table = IdentifierTable<Kind>()
        for _ in 0..<(try readCount(&reader, minimumBytes: 9, what)) {
            let id: Identifier<Kind> = try reader.readIdentifier()
            guard table.find(id) == nil else { throw corrupt("\(what) \(id) is repeated") }
            table.append(id)
        }
        return table
    }

    init(reading reader: inout ByteReader) throws(FissionError) {
        self.init()
        self.members = try Self.read(&reader, "member")
        self.events = try Self.read(&reader, "event")
        self.campaignIDs = try Self.read(&reader, "campaign")
        self.ruleIDs = try Self.read(&reader, "rule")
        for _ in 0..<(try readCount(&reader, minimumBytes: 1, "unit")) {
            let unit = try reader.readUnit(corrupt: corrupt)
            guard self.findUnit(unit) == nil else { throw corrupt("unit \(unit) is repeated") }
            _ = self.internUnit(unit)
        }
        let accountCount = try readCount(&reader, minimumBytes: 8, "account")
        let keys: [UInt64] = try reader.readArray(count: accountCount)
        for composite in keys {
            let unit = Int32(truncatingIfNeeded: composite >> 32 & 0x3FFF_FFFF)
            let owner = Int32(bitPattern: UInt32(truncatingIfNeeded: composite))
            guard unit < Int32(self.units.count), owner >= 0, self.accountTable.find(composite) == nil else {
                throw corrupt("account key \(composite)")
            }
            let ownerValue: AccountOwner
            switch OwnerTag(rawValue: composite >> 62) {
            case .budget:
                guard owner < Int32(self.campaignIDs.count) else { throw corrupt("budget owner \(owner)") }
                ownerValue = .budget(self.campaignIDs[owner])
            case .wallet:
                guard owner < Int32(self.members.count) else { throw corrupt("wallet owner \(owner)") }
                ownerValue = .wallet(self.members[owner])
            case .receivable:
                guard owner < Int32(self.members.count) else { throw corrupt("receivable owner \(owner)") }
                ownerValue = .receivable(self.members[owner])
            case .outside, nil:
                guard owner == 0 else { throw corrupt("outside owner \(owner)") }
                ownerValue = .outside
            }
            self.accounts.append(AccountKey(ownerValue, self.units[Int(unit)]))
            self.balances.append(.zero)
            self.accountTable.append(composite)
        }
        let recordCount = try readCount(&reader, minimumBytes: 90, "transfer")
        self.records.reserveCapacity(recordCount)
        for index in 0..<recordCount {
            let record = try self.readRecord(&reader, index: index)
            if record.hasKey {
                guard self.record(forKey: record.key) == nil else { throw corrupt("transfer #\(index + 1)'s key") }
            }
            self.records.append(record)
            if record.hasKey { self.indexKey(Int32(index)) }
            if record.kind == .pending, record.resolution == 0 {
                self.holds.insert(holdUntil: record.holdUntil, record: Int32(index))
            }
            if !record.hasKey, record.kind == .posted {
                try self.indexMemberMove(record, at: index)
            }
        }
        // A repayment is always followed by its withdrawal's payout.
        for first in self.memberMoves.values {
            let record = self.records[Int(first)]
            if case .receivable = self.accounts[Int(record.credit)].owner,
                case .wallet = self.accounts[Int(record.debit)].owner
            {
                let next = Int(first) + 1
                guard next < self.records.count, !self.records[next].hasKey, self.records[next].kind == .posted,
                    self.records[next].command == record.command,
                    self.accounts[Int(self.records[next].credit)].owner == .outside
                else { throw corrupt("transfer #\(first + 1) repays a debt without a payout after it") }
            }
        }
        // A resolved pending transfer names its post, which must name it back.
        for (index, record) in self.records.enumerated() where record.kind == .pending && record.resolution > 0 {
            let post = Int(record.resolution - 1)
            guard post < self.records.count, self.records[post].kind == .postPending,
                self.records[post].related == Int32(index)
            else { throw corrupt("transfer #\(index + 1)'s post") }
        }
        guard let balances = Self.deriveBalances(self.records, accountCount: self.accounts.count) else {
            throw corrupt("the transfers' running totals leave 0...Int64.max")
        }
        self.balances = balances
        // A receivable holds a debt or nothing: a repayment never takes it above zero.
        for (index, account) in self.accounts.enumerated() where self.balances[index].posted > 0 {
            if case .receivable = account.owner { throw corrupt("\(account) is above zero") }
        }
    }

    /// Files a transfer without a key that posted at once: a withdrawal's repayment or payout,
    /// which moves value out of a member's wallet to the same member's receivable or outside, or a
    /// debt write-off, from outside to a receivable.
    private mutating func indexMemberMove(_ record: Record, at index: Int) throws(FissionError) {
        if self.accounts[Int(record.debit)].owner == .outside {
            guard case .receivable = self.accounts[Int(record.credit)].owner, record.reasonRule == -1,
                self.memberMoves[record.command] == nil
            else { throw corrupt("transfer #\(index + 1) has no key and is not a write-off") }
            self.memberMoves[record.command] = Int32(index)
            return
        }
        guard case .wallet(let member) = self.accounts[Int(record.debit)].owner else {
            throw corrupt("transfer #\(index + 1) has no key and does not come from a wallet")
        }
        let credit = self.accounts[Int(record.credit)].owner
        guard credit == .outside || credit == .receivable(member), record.reasonRule == -1 else {
            throw corrupt("transfer #\(index + 1) has no key and is not a withdrawal")
        }
        if let first = self.memberMoves[record.command] {
            // The second leg: the payout right after its repayment.
            guard credit == .outside, Int(first) == index - 1,
                case .receivable = self.accounts[Int(self.records[Int(first)].credit)].owner,
                case .wallet = self.accounts[Int(self.records[Int(first)].debit)].owner,
                self.records[Int(first)].debit == record.debit
            else { throw corrupt("transfer #\(index + 1) repeats a withdrawal's command") }
        } else {
            self.memberMoves[record.command] = Int32(index)
        }
    }

    private func readRecord(_ reader: inout ByteReader, index: Int) throws(FissionError) -> Record {
        let debit: Int32 = try reader.read()
        let credit: Int32 = try reader.read()
        let amount: Int64 = try reader.read()
        guard let kind = RecordKind(rawValue: try reader.read()) else { throw corrupt("transfer #\(index + 1) kind") }
        let related: Int32 = try reader.read()
        let hasKey: UInt8 = try reader.read()
        let key = CompactKey(
            operation: try reader.read(),
            part: try reader.read(),
            campaign: try reader.read(),
            rule: try reader.read(),
            beneficiary: try reader.read(),
            source: try reader.read()
        )
        let record = Record(
            debit: debit,
            credit: credit,
            amount: amount,
            kind: kind,
            related: related,
            key: key,
            hasKey: hasKey == 1,
            command: try reader.read(),
            reasonRule: try reader.read(),
            ruleVersion: try reader.read(),
            at: try reader.read(),
            holdUntil: try reader.read(),
            linkedCount: try reader.read(),
            open: try reader.read(),
            resolution: try reader.read()
        )
        let accounts = 0..<Int32(self.accounts.count)
        let earlier = 0..<Int32(index)
        var valid =
            accounts.contains(debit) && accounts.contains(credit) && amount > 0 && hasKey <= 1
            && (0..<Int32(self.events.count)).contains(record.command)
            && (record.reasonRule == -1 || (0..<Int32(self.ruleIDs.count)).contains(record.reasonRule))
            && (Timestamp.earliest.millisecondsSinceEpoch...Timestamp.latest.millisecondsSinceEpoch).contains(record.at)
            && record.open >= 0 && record.open <= amount && record.linkedCount >= 0
        if record.hasKey {
            valid =
                valid && TransferKey.Operation(rawValue: key.operation) != nil
                && (0..<Int32(self.campaignIDs.count)).contains(key.campaign)
                && (0..<Int32(self.events.count)).contains(key.source)
                && (key.rule == -1 || (0..<Int32(self.ruleIDs.count)).contains(key.rule))
                && (key.beneficiary == -1 || (0..<Int32(self.members.count)).contains(key.beneficiary))
        }
        switch kind {
        case .posted:
            valid = valid && record.holdUntil == Self.noHold && record.resolution == 0
        case .pending:
            valid =
                valid && record.holdUntil != Self.noHold
                && (record.resolution == -1 || record.resolution == 0
                    || (record.resolution > Int64(index + 1) && record.resolution <= Int64.max))
        case .postPending, .voidPending, .reversal:
            valid =
                valid && earlier.contains(related) && record.holdUntil == Self.noHold
                && self.records[Int(related)].kind == (kind == .reversal ? self.records[Int(related)].kind : .pending)
        }
        if valid, kind == .reversal {
            let original = self.records[Int(related)]
            // A withdrawal's or a write-off's transfers (posted, without a key) are never reversed.
            valid = valid && (original.kind == .postPending || (original.kind == .posted && original.hasKey))
        }
        // A withdrawal's or a write-off's transfer: one alone under no key, nothing to reverse.
        if kind == .posted && hasKey == 0 {
            valid =
                valid && record.open == 0 && related == -1 && record.linkedCount == 1 && record.ruleVersion == 0
                && key == .none
        }
        valid = valid && self.accounts[Int(debit)].unit == self.accounts[Int(credit)].unit
        guard valid else { throw corrupt("transfer #\(index + 1) is inconsistent") }
        return record
    }
}

// MARK: - Campaigns and rules

private func writeCampaign(_ campaign: RewardCampaign, to writer: inout ByteWriter) {
    writer.append(identifier: campaign.id)
    writer.append(campaign.version)
    writer.append(campaign.startsAt.millisecondsSinceEpoch)
    writer.append(campaign.endsAt.millisecondsSinceEpoch)
    writer.append(campaign.offset.seconds)
    writer.append(currency: campaign.currency)
    writer.append(UInt32(campaign.rules.count))
    for rule in campaign.rules { writeRule(rule, to: &writer) }
}

private func readCampaign(_ reader: inout ByteReader) throws(FissionError) -> RewardCampaign {
    let id: CampaignID = try reader.readIdentifier()
    let version: Int32 = try reader.read()
    let startsAt: Int64 = try reader.read()
    let endsAt: Int64 = try reader.read()
    let offsetSeconds: Int32 = try reader.read()
    let currency = try reader.readCurrency(corrupt: corrupt)
    let ruleCount: UInt32 = try reader.read()
    guard ruleCount <= UInt32(RewardCampaign.maximumRules) else { throw corrupt("campaign \(id) rule count") }
    var rules: [RewardRule] = []
    for _ in 0..<ruleCount { rules.append(try readRule(&reader)) }
    do {
        return try RewardCampaign(
            id: id,
            version: version,
            startsAt: Timestamp(millisecondsSinceEpoch: startsAt),
            endsAt: Timestamp(millisecondsSinceEpoch: endsAt),
            offset: UTCOffset(seconds: Int(offsetSeconds)),
            currency: currency,
            rules: rules
        )
    } catch {
        throw corrupt(error.reason)
    }
}

private func writeOptional(_ value: Int64?, to writer: inout ByteWriter) {
    writer.append(UInt8(value == nil ? 0 : 1))
    writer.append(value ?? 0)
}

private func readOptional(_ reader: inout ByteReader) throws(FissionError) -> Int64? {
    let flag: UInt8 = try reader.read()
    let value: Int64 = try reader.read()
    guard flag <= 1 else { throw corrupt("optional flag \(flag)") }
    return flag == 1 ? value : nil
}

private func writeRule(_ rule: RewardRule, to writer: inout ByteWriter) {
    writer.append(identifier: rule.id)
    switch rule.shape {
    case .inviteFixed(let amount):
        writer.append(UInt8(0))
        writer.append(amount: amount)
    case .orderFixed(let amount):
        writer.append(UInt8(1))
        writer.append(amount: amount)
    case .commission(let rates, let overrides):
        writer.append(UInt8(2))
        writer.append(UInt32(rates.count))
        for rate in rates { writer.append(rate.value) }
        writer.append(UInt32(overrides.count))
        for override in overrides {
            writer.append(identifier: override.sku)
            writer.append(UInt32(override.perUnitMinorUnits.count))
            for amount in override.perUnitMinorUnits { writer.append(amount) }
        }
    case .milestoneSplit(let total, let weights):
        writer.append(UInt8(3))
        writer.append(amount: total)
        writer.append(UInt32(weights.count))
        for weight in weights {
            writer.append(weight.milestone.rawValue)
            writer.append(weight.weight)
        }
    case .ladder(let unit, let tiers, let semantics):
        writer.append(UInt8(4))
        writer.append(unit: unit)
        writer.append(UInt32(tiers.count))
        for tier in tiers {
            writer.append(tier.fromCount)
            writer.append(tier.amountEach)
        }
        writer.append(UInt8(semantics == .marginal ? 0 : 1))
    case .mutual(let sharer, let helper):
        writer.append(UInt8(5))
        writer.append(amount: sharer)
        writer.append(amount: helper)
    }
    writer.append(UInt8(rule.eligibility.newMembersOnly ? 1 : 0))
    writer.append(UInt8(rule.eligibility.firstOrderOnly ? 1 : 0))
    writer.append(UInt32(rule.eligibility.excludedOrderKinds.count))
    for kind in rule.eligibility.excludedOrderKinds { writer.append(UInt8(kind.digestCode)) }
    writeOptional(rule.caps.perMemberCount, to: &writer)
    writeOptional(rule.caps.perMemberQuantity, to: &writer)
    writeOptional(rule.caps.perMemberDailyQuantity, to: &writer)
    writeOptional(rule.caps.perCampaignQuantity, to: &writer)
    writer.append(rule.holdDays)
}

private func readSmallCount(_ reader: inout ByteReader, limit: UInt32, _ what: String) throws(FissionError) -> Int {
    let count: UInt32 = try reader.read()
    guard count <= limit, count <= UInt32(reader.remaining) else { throw corrupt("\(what) count \(count)") }
    return Int(count)
}

private func readRule(_ reader: inout ByteReader) throws(FissionError) -> RewardRule {
    let id: RuleID = try reader.readIdentifier()
    let tag: UInt8 = try reader.read()
    let shape: RewardRule.Shape
    switch tag {
    case 0: shape = .inviteFixed(try reader.readAmount(corrupt: corrupt))
    case 1: shape = .orderFixed(try reader.readAmount(corrupt: corrupt))
    case 2:
        var rates: [BasisPoints] = []
        for _ in 0..<(try readSmallCount(&reader, limit: 16, "rate")) {
            do {
                rates.append(try BasisPoints(try reader.read()))
            } catch {
                throw corrupt(error.reason)
            }
        }
        var overrides: [RewardRule.SKUOverride] = []
        for _ in 0..<(try readSmallCount(&reader, limit: UInt32.max, "override")) {
            let sku: SKUID = try reader.readIdentifier()
            var amounts: [Int64] = []
            for _ in 0..<(try readSmallCount(&reader, limit: 16, "override amount")) {
                amounts.append(try reader.read())
            }
            overrides.append(.init(sku: sku, perUnitMinorUnits: amounts))
        }
        shape = .commission(levelRates: rates, skuOverrides: overrides)
    case 3:
        let total = try reader.readAmount(corrupt: corrupt)
        var weights: [RewardRule.MilestoneWeight] = []
        for _ in 0..<(try readSmallCount(&reader, limit: 16, "weight")) {
            guard let milestone = Milestone(rawValue: try reader.read()) else { throw corrupt("milestone") }
            weights.append(.init(milestone, try reader.read()))
        }
        shape = .milestoneSplit(total: total, weights: weights)
    case 4:
        let unit = try reader.readUnit(corrupt: corrupt)
        var tiers: [RewardRule.LadderTier] = []
        for _ in 0..<(try readSmallCount(&reader, limit: 64, "tier")) {
            tiers.append(.init(fromCount: try reader.read(), amountEach: try reader.read()))
        }
        let semantics: UInt8 = try reader.read()
        guard semantics <= 1 else { throw corrupt("ladder semantics \(semantics)") }
        shape = .ladder(unit: unit, tiers: tiers, semantics: semantics == 0 ? .marginal : .retroactive)
    case 5:
        shape = .mutual(
            sharer: try reader.readAmount(corrupt: corrupt),
            helper: try reader.readAmount(corrupt: corrupt)
        )
    default: throw corrupt("rule shape \(tag)")
    }
    let newMembersOnly: UInt8 = try reader.read()
    let firstOrderOnly: UInt8 = try reader.read()
    var excluded: [OrderKind] = []
    for _ in 0..<(try readSmallCount(&reader, limit: 16, "order kind")) {
        let code: UInt8 = try reader.read()
        guard let kind = OrderKind.allCases.first(where: { $0.digestCode == UInt64(code) }) else {
            throw corrupt("order kind \(code)")
        }
        excluded.append(kind)
    }
    guard newMembersOnly <= 1, firstOrderOnly <= 1 else { throw corrupt("eligibility flags") }
    let caps = RewardRule.Caps(
        perMemberCount: try readOptional(&reader),
        perMemberQuantity: try readOptional(&reader),
        perMemberDailyQuantity: try readOptional(&reader),
        perCampaignQuantity: try readOptional(&reader)
    )
    let holdDays: Int64 = try reader.read()
    do {
        return try RewardRule(
            id: id,
            shape: shape,
            eligibility: .init(
                newMembersOnly: newMembersOnly == 1,
                firstOrderOnly: firstOrderOnly == 1,
                excludedOrderKinds: excluded
            ),
            caps: caps,
            holdDays: holdDays
        )
    } catch {
        throw corrupt(error.reason)
    }
}

// MARK: - Campaign state

extension CampaignState {
    func write(to writer: inout ByteWriter) {
        writeCampaign(self.campaign, to: &writer)
        // Registrations, sparse: (member, inviter) for each registered member.
        let registered = self.members.indices.filter { self.members[$0].inviter != -2 }
        writer.append(UInt64(registered.count))
        for member in registered {
            writer.append(Int32(member))
            writer.append(self.members[member].inviter)
        }
        let inviting = self.members.indices.filter { self.members[$0].inviteCount != 0 }
        writer.append(UInt64(inviting.count))
        for member in inviting {
            writer.append(Int32(member))
            writer.append(self.members[member].inviteCount)
        }
        writer.append(UInt64(self.ladders.count))
        writer.append(array: self.ladderKeys.keys)
        for progress in self.ladders {
            writer.append(progress.paidInvites)
            writer.append(progress.paidQuantity)
            // Version 3 (settlement revisions) adds the latest top-up's rate and record.
            writer.append(progress.toppedUpRate)
            writer.append(progress.toppedUpRecord)
        }
        writer.append(UInt64(self.milestoneBits.count))
        writer.append(array: self.milestoneKeys.keys)
        writer.append(array: self.milestoneBits)
        // Counters, sparse: (rule, member) keys, then the counters. Slot blocks are in the order
        // members were first granted; wallets are not written (a restored slot looks its wallet
        // up again on its next grant).
        var counterKeys: [UInt64] = []
        var counters: [Counter] = []
        let ruleCount = self.facts.count
        for (member, record) in self.members.enumerated() where record.firstSlot >= 0 {
            for rule in 0..<ruleCount where self.slots[Int(record.firstSlot) + rule].counter.count > 0 {
                counterKeys.append(Self.pairKey(Int32(rule), Int32(member)))
                counters.append(self.slots[Int(record.firstSlot) + rule].counter)
            }
        }
        writer.append(UInt64(counters.count))
        writer.append(array: counterKeys)
        for counter in counters {
            writer.append(counter.count)
            writer.append(counter.quantity)
        }
        let dailies = self.dailyCounters.sorted {
            ($0.key.rule, $0.key.member, $0.key.day) < ($1.key.rule, $1.key.member, $1.key.day)
        }
        writer.append(UInt64(dailies.count))
        for (key, quantity) in dailies {
            writer.append(key.rule)
            writer.append(key.member)
            writer.append(key.day)
            writer.append(quantity)
        }
        writer.append(array: self.ruleTotals)
        writer.append(UInt64(self.orders.count))
        for id in self.orderIDs.ids { writer.append(identifier: id) }
        for order in self.orders {
            writer.append(order.paid)
            writer.append(order.refundedMinorUnits)
            writer.append(order.firstGrant)
            writer.append(order.grantCount)
        }
        writer.append(UInt64(self.orderGrants.count))
        for grant in self.orderGrants {
            writer.append(grant.transfer)
            writer.append(grant.ruleIndex)
            writer.append(grant.beneficiary)
            writer.append(grant.part)
            writer.append(grant.quantity)
            writer.append(grant.undone)
        }
        writer.append(UInt64(self.processed.count))
        writer.append(array: self.processedEvents)
        for record in self.processed {
            writer.append(record.digest)
            writer.append(record.firstTransfer)
            writer.append(record.transferCount)
            writer.append(record.firstSkip)
            writer.append(record.skipCount)
        }
        writer.append(UInt64(self.skips.count))
        for skip in self.skips {
            writer.append(skip.ruleIndex)
            writer.append(skip.beneficiary)
            writer.append(skip.unit)
            writer.append(skip.quantity)
            writer.append(skip.reason)
        }
    }

    mutating func read(from reader: inout ByteReader, ledger: Ledger, version: UInt32) throws(FissionError) {
        let members = 0..<Int32(ledger.members.count)
        let rules = 0..<Int32(self.campaign.rules.count)
        let records = 0..<Int32(ledger.records.count)
        self.members = Array(repeating: CampaignMember(), count: ledger.members.count)
        for _ in 0..<(try readCount(&reader, minimumBytes: 8, "registration")) {
            let member: Int32 = try reader.read()
            let inviter: Int32 = try reader.read()
            guard members.contains(member), inviter == -1 || members.contains(inviter),
                self.members[Int(member)].inviter == -2
            else { throw corrupt("registration of member #\(member)") }
            self.members[Int(member)].inviter = inviter
        }
        for _ in 0..<(try readCount(&reader, minimumBytes: 12, "invite count")) {
            let member: Int32 = try reader.read()
            let count: Int64 = try reader.read()
            guard members.contains(member), count > 0 else { throw corrupt("invite count of member #\(member)") }
            self.members[Int(member)].inviteCount = count
        }
        let ladderCount = try readCount(&reader, minimumBytes: version >= 3 ? 36 : 24, "ladder")
        self.ladderKeys = try Self.readKeys(&reader, count: ladderCount, rules: rules, members: members)
        for _ in 0..<ladderCount {
            var progress = LadderProgress(paidInvites: try reader.read(), paidQuantity: try reader.read())
            if version >= 3 {
                progress.toppedUpRate = try reader.read()
                progress.toppedUpRecord = try reader.read()
            }
            // Counts and amounts a ladder can hold; anything else would overflow when a grant is
            // rejected or added later.
            guard progress.paidInvites >= 0, progress.paidQuantity >= 0, progress.toppedUpRate >= 0,
                progress.toppedUpRecord >= -1, Int(progress.toppedUpRecord) < ledger.records.count
            else {
                throw corrupt(
                    "a ladder's progress: \(progress.paidInvites) invites, \(progress.paidQuantity) paid, "
                        + "top-up \(progress.toppedUpRate) at #\(progress.toppedUpRecord)"
                )
            }
            self.ladders.append(progress)
        }
        let milestoneCount = try readCount(&reader, minimumBytes: 9, "milestone")
        self.milestoneKeys = try Self.readKeys(&reader, count: milestoneCount, rules: rules, members: members)
        self.milestoneBits = try reader.readArray(count: milestoneCount)
        let counterCount = try readCount(&reader, minimumBytes: 24, "counter")
        let counterKeys = try Self.readKeys(&reader, count: counterCount, rules: rules, members: members).keys
        for key in counterKeys {
            let position = self.makeSlot(
                rule: Int32(truncatingIfNeeded: key >> 32),
                member: Int32(truncatingIfNeeded: key)
            )
            let counter = Counter(count: try reader.read(), quantity: try reader.read())
            // A counter exists once a grant counted in it.
            guard counter.count > 0, counter.quantity > 0 else { throw corrupt("counter \(key)") }
            self.slots[position].counter = counter
        }
        for _ in 0..<(try readCount(&reader, minimumBytes: 24, "daily counter")) {
            let key = DailyKey(rule: try reader.read(), member: try reader.read(), day: try reader.read())
            guard rules.contains(key.rule), members.contains(key.member), self.dailyCounters[key] == nil else {
                throw corrupt("daily counter")
            }
            self.dailyCounters[key] = try reader.read()
        }
        self.ruleTotals = try reader.readArray(count: self.campaign.rules.count)
        let orderCount = try readCount(&reader, minimumBytes: 33, "order")
        for _ in 0..<orderCount {
            let id: OrderID = try reader.readIdentifier()
            guard self.orderIDs.find(id) == nil else { throw corrupt("order \(id) is repeated") }
            self.orderIDs.append(id)
        }
        var grantsCovered = 0
        for _ in 0..<orderCount {
            let order = OrderRecord(
                paid: try reader.read(),
                refundedMinorUnits: try reader.read(),
                firstGrant: try reader.read(),
                grantCount: try reader.read()
            )
            guard order.paid >= 0, order.refundedMinorUnits >= 0, order.refundedMinorUnits <= order.paid,
                order.firstGrant >= 0, order.grantCount >= 0
            else { throw corrupt("order record") }
            grantsCovered = max(grantsCovered, Int(order.firstGrant) + Int(order.grantCount))
            self.orders.append(order)
        }
        let grantCount = try readCount(&reader, minimumBytes: 32, "order grant")
        guard grantsCovered <= grantCount else { throw corrupt("an order's grants are out of range") }
        for _ in 0..<grantCount {
            let grant = OrderGrant(
                transfer: try reader.read(),
                ruleIndex: try reader.read(),
                beneficiary: try reader.read(),
                part: try reader.read(),
                quantity: try reader.read(),
                undone: try reader.read()
            )
            guard records.contains(grant.transfer), rules.contains(grant.ruleIndex),
                members.contains(grant.beneficiary), grant.quantity > 0, grant.undone >= 0,
                grant.undone <= grant.quantity
            else { throw corrupt("order grant") }
            self.orderGrants.append(grant)
        }
        let processedCount = try readCount(&reader, minimumBytes: 28, "settled event")
        let events: [Int32] = try reader.readArray(count: processedCount)
        var skipsCovered = 0
        var seen = Set<Int32>()
        for event in events {
            let record = Processed(
                digest: try reader.read(),
                firstTransfer: try reader.read(),
                transferCount: try reader.read(),
                firstSkip: try reader.read(),
                skipCount: try reader.read(),
                firstBeneficiary: Int32(self.grantBeneficiaries.count)
            )
            guard (0..<Int32(ledger.events.count)).contains(event), seen.insert(event).inserted,
                record.firstTransfer >= 0, record.transferCount >= 0,
                Int(record.firstTransfer) + Int(record.transferCount) <= ledger.records.count,
                record.firstSkip >= 0, record.skipCount >= 0
            else { throw corrupt("settled event #\(event)") }
            skipsCovered = max(skipsCovered, Int(record.firstSkip) + Int(record.skipCount))
            // The grants' beneficiaries, as a replay of the event lists them.
            let transfers = Int(record.firstTransfer)..<Int(record.firstTransfer) + Int(record.transferCount)
            for index in transfers where ledger.records[index].isGrant {
                self.grantBeneficiaries.append(ledger.members[ledger.records[index].key.beneficiary])
            }
            _ = self.recordProcessed(event, record)
        }
        let skipCount = try readCount(&reader, minimumBytes: 21, "skip")
        guard skipsCovered <= skipCount else { throw corrupt("a settled event's skips are out of range") }
        for _ in 0..<skipCount {
            let ruleIndex: Int32 = try reader.read()
            let beneficiary: Int32 = try reader.read()
            guard members.contains(beneficiary) else { throw corrupt("skipped grant") }
            let skip = StoredSkip(
                ruleIndex: ruleIndex,
                beneficiary: beneficiary,
                beneficiaryID: ledger.members[beneficiary],
                unit: try reader.read(),
                quantity: try reader.read(),
                reason: try reader.read()
            )
            guard rules.contains(skip.ruleIndex),
                (0..<Int32(ledger.units.count)).contains(skip.unit), skip.quantity > 0, skip.reason <= 1
            else { throw corrupt("skipped grant") }
            self.skips.append(skip)
        }
    }

    /// Reads `count` (rule, member) keys into a table, checking both halves and uniqueness.
    private static func readKeys(
        _ reader: inout ByteReader,
        count: Int,
        rules: Range<Int32>,
        members: Range<Int32>
    ) throws(FissionError) -> CompositeTable {
        var table = CompositeTable()
        let keys: [UInt64] = try reader.readArray(count: count)
        for key in keys {
            guard rules.contains(Int32(truncatingIfNeeded: key >> 32)),
                members.contains(Int32(truncatingIfNeeded: key & 0xFFFF_FFFF)), table.find(key) == nil
            else { throw corrupt("counter key \(key)") }
            table.append(key)
        }
        return table
    }
}
