@_spi(FissionCoding) public import FissionCore
public import FissionGroups
@_spi(FissionCoding) public import FissionRewards

/// What a command did, and what the host should carry out now that it is committed.
public struct EngineOutcome: Hashable, Sendable {
    /// The journal entry that holds the command.
    public internal(set) var sequence: Int64
    /// Whether the key had been submitted before with the same payload, and this is the outcome
    /// stored then (nothing was applied again).
    public internal(set) var isDuplicate: Bool
    /// The effects, in the order they happened.
    public internal(set) var effects: [EngineEffect]

    init(sequence: Int64 = 0, isDuplicate: Bool = false, effects: [EngineEffect] = []) {
        self.sequence = sequence
        self.isDuplicate = isDuplicate
        self.effects = effects
    }
}

/// One thing the host does after a command commits. The engine only decides; it sends nothing.
public enum EngineEffect: Hashable, Sendable {
    /// A reward was granted (held until its refund window ends, or posted at once): tell the member.
    case granted(campaign: CampaignID, RewardGrant)
    /// A reward a cap or an exhausted budget stopped.
    case skipped(
        campaign: CampaignID,
        rule: RuleID,
        beneficiary: MemberID,
        amount: RewardAmount,
        reason: SettlementOutcome.Skip.Reason
    )
    /// A refund voided a hold or reversed a posted grant.
    case reversed(campaign: CampaignID, TransferID)
    /// A held reward posted: its hold ended (``EngineCommand/advance``).
    case posted(TransferID, beneficiary: MemberID?, amount: RewardAmount)
    /// A coupon to issue in the host's coupon system: a coupon-unit grant has posted to the member.
    case issueCoupon(to: MemberID, type: SKUID, quantity: Int64, transfer: TransferID)
    /// A campaign budget was funded.
    case funded(campaign: CampaignID, TransferID)
    /// The member is now bound to the inviter (at registration, a later touch or the first order).
    case bound(MemberID, inviter: MemberID)
    /// Show the member this group (its chat QR code): they joined it.
    case showGroup(GroupID, to: MemberID)
    /// A series opened a new group: create the chat group for it.
    case openGroup(CommunityGroup)
    /// A check-in counted: the member's streak and any milestones reached.
    case checkedIn(MemberID, activity: CheckInActivityID, day: CalendarDay, streak: Int, milestonesReached: [Int])
    /// Warn the member about a message.
    case warnMember(MemberID, group: GroupID)
    /// Mute the member in the group until the instant.
    case muteMember(MemberID, group: GroupID, until: Timestamp)
    /// Remove the member from the group's chat (the engine has recorded the removal).
    case removeMember(MemberID, group: GroupID)
    /// A message needs a staff member's eyes.
    case flagForStaff(MemberID, group: GroupID)
    /// A campaign model's own effect, named by the model, with the model's bytes.
    case model(name: String, payload: [UInt8])
    /// Pay the member `amount`: it left their wallet (``EngineCommand/withdraw(_:amount:)``). A
    /// retried command returns this effect again: pay once per `transfer`. For coupons, issued
    /// when their grant posted, it records their use; issue nothing.
    case withdrawn(MemberID, amount: RewardAmount, transfer: TransferID)
    /// What the member owed after clawbacks was repaid from their wallet before a withdrawal.
    case debtRepaid(MemberID, amount: RewardAmount, transfer: TransferID)
    /// An operator forgave what the member owed (``EngineCommand/writeOffDebt(_:amount:)``).
    case debtWrittenOff(MemberID, amount: RewardAmount, transfer: TransferID)
    /// ``EngineCommand/evaluateLayers(on:)`` moved the member to another layer: move them into
    /// the groups their new layer calls for (``EngineCommand/moveMember(_:from:to:facts:)``).
    /// `isPromotion` says whether the new layer ranks higher under the layering policy (a layer it
    /// does not rank ranks below every one it does).
    case layerChanged(MemberID, from: Layer, to: Layer, isPromotion: Bool)
}

/// One reward granted, as an effect reports it.
public struct RewardGrant: Hashable, Sendable {
    /// The rule that decided it.
    public let rule: RuleID
    /// Who receives it.
    public let beneficiary: MemberID
    /// Which part: the commission level (1 or 2), the milestone, the ladder top-up (1).
    public let part: Int32
    /// How much of which unit.
    public let amount: RewardAmount
    /// The ledger transfer: pending while held, posted otherwise.
    public let transfer: TransferID
    /// Whether the grant is held until its refund window ends.
    public let isHeld: Bool

    init(rule: RuleID, beneficiary: MemberID, part: Int32, amount: RewardAmount, transfer: TransferID, isHeld: Bool) {
        self.rule = rule
        self.beneficiary = beneficiary
        self.part = part
        self.amount = amount
        self.transfer = transfer
        self.isHeld = isHeld
    }

    init(_ grant: SettlementOutcome.Grant) {
        self.init(
            rule: grant.rule,
            beneficiary: grant.beneficiary,
            part: grant.part,
            amount: grant.amount,
            transfer: grant.transfer,
            isHeld: grant.isHeld
        )
    }
}

extension EngineOutcome {
    /// The stored form: the effects only (sequence and duplicate flag belong to the entry).
    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 16 + self.effects.count * 64)
        self.encode(into: &writer)
        return writer.finish()
    }

    /// Appends the stored form to `writer`.
    func encode(into writer: inout ByteWriter) {
        writer.append(UInt32(self.effects.count))
        for effect in self.effects { effect.encode(into: &writer) }
    }

    static func decode(_ bytes: [UInt8], sequence: Int64, isDuplicate: Bool) throws(FissionError) -> EngineOutcome {
        var reader = ByteReader(bytes: bytes)
        let count = try reader.readCount(limit: bytes.count, "effects")
        var effects: [EngineEffect] = []
        effects.reserveCapacity(count)
        for _ in 0..<count { effects.append(try EngineEffect.decode(from: &reader)) }
        guard reader.isAtEnd else { throw ByteReader.corrupt("bytes after an outcome") }
        return EngineOutcome(sequence: sequence, isDuplicate: isDuplicate, effects: effects)
    }
}

extension EngineEffect {
    func encode(into writer: inout ByteWriter) {
        switch self {
        case .granted(let campaign, let grant):
            writer.append(UInt8(1))
            writer.append(identifier: campaign)
            writer.append(identifier: grant.rule)
            writer.append(identifier: grant.beneficiary)
            writer.append(grant.part)
            writer.append(amount: grant.amount)
            writer.append(grant.transfer.rawValue)
            writer.append(bool: grant.isHeld)
        case .skipped(let campaign, let rule, let beneficiary, let amount, let reason):
            writer.append(UInt8(2))
            writer.append(identifier: campaign)
            writer.append(identifier: rule)
            writer.append(identifier: beneficiary)
            writer.append(amount: amount)
            writer.append(bool: reason == .capReached)
        case .reversed(let campaign, let transfer):
            writer.append(UInt8(3))
            writer.append(identifier: campaign)
            writer.append(transfer.rawValue)
        case .posted(let transfer, let beneficiary, let amount):
            writer.append(UInt8(4))
            writer.append(transfer.rawValue)
            writer.append(optional: beneficiary)
            writer.append(amount: amount)
        case .issueCoupon(let member, let type, let quantity, let transfer):
            writer.append(UInt8(5))
            writer.append(identifier: member)
            writer.append(identifier: type)
            writer.append(quantity)
            writer.append(transfer.rawValue)
        case .funded(let campaign, let transfer):
            writer.append(UInt8(6))
            writer.append(identifier: campaign)
            writer.append(transfer.rawValue)
        case .bound(let member, let inviter):
            writer.append(UInt8(7))
            writer.append(identifier: member)
            writer.append(identifier: inviter)
        case .showGroup(let group, let member):
            writer.append(UInt8(8))
            writer.append(identifier: group)
            writer.append(identifier: member)
        case .openGroup(let group):
            writer.append(UInt8(9))
            writer.append(json: group)
        case .checkedIn(let member, let activity, let day, let streak, let milestones):
            writer.append(UInt8(10))
            writer.append(identifier: member)
            writer.append(identifier: activity)
            writer.append(day.daysSinceEpoch)
            writer.append(Int64(streak))
            writer.append(UInt32(milestones.count))
            for milestone in milestones { writer.append(Int64(milestone)) }
        case .warnMember(let member, let group):
            writer.append(UInt8(11))
            writer.append(identifier: member)
            writer.append(identifier: group)
        case .muteMember(let member, let group, let until):
            writer.append(UInt8(12))
            writer.append(identifier: member)
            writer.append(identifier: group)
            writer.append(timestamp: until)
        case .removeMember(let member, let group):
            writer.append(UInt8(13))
            writer.append(identifier: member)
            writer.append(identifier: group)
        case .flagForStaff(let member, let group):
            writer.append(UInt8(14))
            writer.append(identifier: member)
            writer.append(identifier: group)
        case .model(let name, let payload):
            writer.append(UInt8(15))
            writer.append(string: name)
            writer.append(blob: payload)
        case .withdrawn(let member, let amount, let transfer):
            writer.append(UInt8(16))
            writer.append(identifier: member)
            writer.append(amount: amount)
            writer.append(transfer.rawValue)
        case .debtRepaid(let member, let amount, let transfer):
            writer.append(UInt8(17))
            writer.append(identifier: member)
            writer.append(amount: amount)
            writer.append(transfer.rawValue)
        case .debtWrittenOff(let member, let amount, let transfer):
            writer.append(UInt8(18))
            writer.append(identifier: member)
            writer.append(amount: amount)
            writer.append(transfer.rawValue)
        case .layerChanged(let member, let from, let to, let isPromotion):
            writer.append(UInt8(19))
            writer.append(identifier: member)
            writer.append(string: from.name)
            writer.append(string: to.name)
            writer.append(bool: isPromotion)
        }
    }

    /// A layer's name read back, refused as a journal fault if it names no layer.
    private static func layer(_ name: String) throws(FissionError) -> Layer {
        do {
            return try Layer(name)
        } catch {
            throw ByteReader.corrupt("a layer named \(name.debugDescription): \(error.reason)")
        }
    }

    static func decode(from reader: inout ByteReader) throws(FissionError) -> EngineEffect {
        let tag: UInt8 = try reader.read()
        switch tag {
        case 1:
            let campaign: CampaignID = try reader.readIdentifier()
            let rule: RuleID = try reader.readIdentifier()
            let beneficiary: MemberID = try reader.readIdentifier()
            let part: Int32 = try reader.read()
            let amount = try reader.readAmount()
            let transfer = TransferID(rawValue: try reader.read())
            let grant = RewardGrant(
                rule: rule,
                beneficiary: beneficiary,
                part: part,
                amount: amount,
                transfer: transfer,
                isHeld: try reader.readBool()
            )
            return .granted(campaign: campaign, grant)
        case 2:
            let campaign: CampaignID = try reader.readIdentifier()
            let rule: RuleID = try reader.readIdentifier()
            let beneficiary: MemberID = try reader.readIdentifier()
            let amount = try reader.readAmount()
            let reason: SettlementOutcome.Skip.Reason = try reader.readBool() ? .capReached : .budgetExhausted
            return .skipped(campaign: campaign, rule: rule, beneficiary: beneficiary, amount: amount, reason: reason)
        case 3:
            return .reversed(campaign: try reader.readIdentifier(), TransferID(rawValue: try reader.read()))
        case 4:
            let transfer = TransferID(rawValue: try reader.read())
            let beneficiary: MemberID? = try reader.readOptionalIdentifier()
            return .posted(transfer, beneficiary: beneficiary, amount: try reader.readAmount())
        case 5:
            let member: MemberID = try reader.readIdentifier()
            let type: SKUID = try reader.readIdentifier()
            let quantity: Int64 = try reader.read()
            return .issueCoupon(
                to: member,
                type: type,
                quantity: quantity,
                transfer: TransferID(rawValue: try reader.read())
            )
        case 6:
            return .funded(campaign: try reader.readIdentifier(), TransferID(rawValue: try reader.read()))
        case 7:
            return .bound(try reader.readIdentifier(), inviter: try reader.readIdentifier())
        case 8:
            return .showGroup(try reader.readIdentifier(), to: try reader.readIdentifier())
        case 9:
            return .openGroup(try reader.readJSON(CommunityGroup.self))
        case 10:
            let member: MemberID = try reader.readIdentifier()
            let activity: CheckInActivityID = try reader.readIdentifier()
            // What a board reports: a day of years 1 to 9999, a streak of up to every such day,
            // milestones in range. Read unchecked, a day out of range came back in a retried
            // command's outcome and stopped the process wherever the host printed it.
            let days: Int64 = try reader.read()
            guard let day = CalendarDay(daysSinceEpoch: days) else {
                throw ByteReader.corrupt("a check-in day \(days) days from 1970, outside years 1 to 9999")
            }
            let streak: Int64 = try reader.read()
            guard streak >= 1, streak <= CalendarDay.first.days(until: CalendarDay.last) + 1 else {
                throw ByteReader.corrupt("a streak of \(streak) days")
            }
            let count = try reader.readCount(limit: CheckInSettings.maximumMilestones, "milestones")
            var milestones: [Int] = []
            for _ in 0..<count {
                let milestone: Int64 = try reader.read()
                guard (1...Int64(CheckInSettings.maximumMilestoneDays)).contains(milestone) else {
                    throw ByteReader.corrupt("a milestone of \(milestone) days")
                }
                milestones.append(Int(milestone))
            }
            return .checkedIn(member, activity: activity, day: day, streak: Int(streak), milestonesReached: milestones)
        case 11:
            return .warnMember(try reader.readIdentifier(), group: try reader.readIdentifier())
        case 12:
            return .muteMember(
                try reader.readIdentifier(),
                group: try reader.readIdentifier(),
                until: try reader.readTimestamp()
            )
        case 13:
            return .removeMember(try reader.readIdentifier(), group: try reader.readIdentifier())
        case 14:
            return .flagForStaff(try reader.readIdentifier(), group: try reader.readIdentifier())
        case 15:
            return .model(name: try reader.readString(), payload: try reader.readBlob())
        case 16:
            let member: MemberID = try reader.readIdentifier()
            let amount = try reader.readAmount()
            return .withdrawn(member, amount: amount, transfer: TransferID(rawValue: try reader.read()))
        case 17:
            let member: MemberID = try reader.readIdentifier()
            let amount = try reader.readAmount()
            return .debtRepaid(member, amount: amount, transfer: TransferID(rawValue: try reader.read()))
        case 18:
            let member: MemberID = try reader.readIdentifier()
            let amount = try reader.readAmount()
            return .debtWrittenOff(member, amount: amount, transfer: TransferID(rawValue: try reader.read()))
        case 19:
            let member: MemberID = try reader.readIdentifier()
            let from = try Self.layer(reader.readString())
            let to = try Self.layer(reader.readString())
            return .layerChanged(member, from: from, to: to, isPromotion: try reader.readBool())
        default:
            throw ByteReader.corrupt("effect tag \(tag)")
        }
    }
}
