@_spi(FissionCoding) public import FissionCore
public import FissionGroups
@_spi(FissionCoding) public import FissionRewards

/// Something that happened in the host, or an operator's decision, for the engine to apply.
///
/// Every command is submitted with an idempotency key (see ``FissionEngine/submit(_:key:at:)``).
/// The key and the command's payload identify it: submitting the same key with the same payload
/// again returns the stored outcome, with another payload it is an error. The time of submission
/// is not part of the payload, so a retry a minute later is still the same command.
public enum EngineCommand: Hashable, Sendable {
    /// A member registered, possibly through an inviter's invitation (their invite code).
    ///
    /// The invite graph registers them (binding the inviter now or at the first order, as the
    /// policy says) and every live campaign settles `memberRegistered` for them.
    ///
    /// `campaign` names the campaign the invitation came through, for the invite graph's
    /// per-campaign counts (`InviteGraph.inviteCount(of:in:)`); it need not be a published reward
    /// campaign (a poster drive without rewards is one), and it does not choose which reward
    /// campaigns settle the registration: every earning one does.
    case registerMember(MemberID, invitedBy: MemberID?, campaign: CampaignID?, channel: String?)
    /// A registered member accepted another member's invitation later (a touch); the graph's
    /// binding policy decides whether it binds. `campaign` is the invitation's, as in
    /// ``registerMember(_:invitedBy:campaign:channel:)``.
    case bind(MemberID, to: MemberID, campaign: CampaignID?)
    /// An order was paid. The engine attributes the inviters from the graph at this moment (so a
    /// later rebinding does not move the commission) and counts the buyer's paid orders.
    case orderPaid(order: OrderID, buyer: MemberID, kind: OrderKind, lines: [OrderPaid.Line])
    /// Part or all of a paid order was refunded: every campaign that settled it voids or reverses.
    /// An order that paid nothing (coupons, balance) is refunded in full by an amount of zero.
    case orderRefunded(order: OrderID, amount: Money)
    /// Moves value into a campaign's budget from outside the ledger.
    case fundCampaign(CampaignID, amount: RewardAmount)
    /// Publishes a reward campaign: from its start, registrations and orders earn under its rules.
    indirect case publishCampaign(RewardCampaign)
    /// Pauses a published campaign: while paused, nothing earns in it (refunds still apply).
    case pauseCampaign(CampaignID)
    /// Resumes a paused campaign.
    case resumeCampaign(CampaignID)
    /// Adds a series of groups that opens new groups as they fill.
    indirect case addGroupSeries(GroupSeries)
    /// Adds a group to a series.
    indirect case addGroup(CommunityGroup, series: GroupSeriesID)
    /// Sets a group's moderation rules and strike policy (strikes recorded so far are dropped).
    indirect case setModeration(GroupID, rules: ModerationRules, policy: StrikePolicy)
    /// A registered member joined a group, or a series routes them to one.
    ///
    /// `facts` is what the host knows about the member that entry rules ask for and the engine
    /// does not keep: whether they have a paid order, what they have spent, whether they paid the
    /// group's entry fee (``FissionGroups/MemberFacts``). Leave it at `.none` for groups whose
    /// rules ask none of these; with `.none`, a rule such as ``FissionGroups/EntryRule/hasPaidOrder``
    /// refuses everyone. Its `inviterGroups` is ignored, as a directory ignores it: the groups of
    /// the inviter named in the join are looked up. Nor is it journaled, so two joins that differ
    /// only there are the same command.
    case joinGroup(
        MemberID,
        into: JoinTarget,
        invitedBy: MemberID?,
        channel: String?,
        facts: MemberFacts = .none
    )
    /// A member left a group of their own accord.
    case leaveGroup(MemberID, group: GroupID)
    /// A member checked in to an activity: with `group`, on that group's own board, in the group's
    /// offset and only while the member is in it; without, on the community's board (Engine.md,
    /// "Check-ins").
    case checkIn(MemberID, activity: CheckInActivityID, group: GroupID?)
    /// Replaces a member's tags (region, interests...), which group entry rules such as
    /// ``FissionGroups/EntryRule/hasTag(_:)`` read at the member's next join.
    case setMemberTags(MemberID, tags: TagSet)
    /// Puts a member in a layer of the configured ``FissionEngine/Configuration/layeringPolicy``
    /// (an operator's decision, or the host's own evaluation of their activity), which group entry
    /// rules such as ``FissionGroups/EntryRule/layer(atLeast:)`` read at the member's next join.
    /// Members are ``FissionMembers/Layer/ordinary`` until then. While the engine tracks activity
    /// (``trackActivity``) it also pins the member there: ``evaluateLayers(on:)`` leaves them
    /// alone until ``unpinMemberLayer(_:)``.
    case setMemberLayer(MemberID, layer: Layer)
    /// Forgets a member's check-ins on every board, the community's and each group's: their
    /// streaks and the milestones they were told of. For members who left for good, to make room
    /// on boards that reach ``FissionEngine/Configuration/checkInCapacity``; a member who comes
    /// back starts from nothing.
    case forgetCheckIns(MemberID)
    /// A member posted a message in a group: its moderator reviews it.
    case messagePosted(MemberID, group: GroupID, text: String)
    /// Time passed: held rewards whose hold ended by the submission time post.
    case advance
    /// An operator approved a held reward: its grant (``RewardGrant/transfer``) posts now, before
    /// its hold ends. Releasing a grant that has posted already is a no-op.
    case releaseHeldReward(TransferID)
    /// An operator rejected a held reward: what remains of its grant is voided and returns to
    /// the campaign's budget. Rejecting a grant voided already is a no-op.
    case rejectHeldReward(TransferID)
    /// A command for a campaign model (see ``CampaignModel``); build it with
    /// ``model(_:of:)``.
    case model(ModelCommand)
    /// An operator archived a group: it takes no new members (a series routes joins past it);
    /// its members stay and may leave or be moved out. Archiving an archived group does nothing.
    case archiveGroup(GroupID)
    /// An operator made an archived group take members again. Reactivating an active group does
    /// nothing.
    case reactivateGroup(GroupID)
    /// An operator changed a group's capacity: 2 to ``FissionGroups/CommunityGroup/maximumCapacity``,
    /// and not below its member count (``FissionError/Code/capacityBelowMemberCount``).
    case setGroupCapacity(GroupID, capacity: Int)
    /// An operator removed a member from a group (``FissionGroups/RemovalReason``, such as
    /// `"spam"`): their stay ends, so inviters' retained counts stop counting them, and the
    /// outcome carries ``EngineEffect/removeMember(_:group:)``.
    case removeFromGroup(MemberID, group: GroupID, reason: RemovalReason)
    /// A member moved out of one group into another group, or into a series (which routes them to
    /// a group other than `from`), in one step: the destination's entry rule applies, with their
    /// inviter into `from` as their inviter, and `facts` as for ``joinGroup(_:into:invitedBy:channel:facts:)``.
    /// A move credits nobody in the destination's invite attribution. For a member promoted into a
    /// core group: leaving and joining again would end their stay, and could leave them in
    /// neither group when the join is refused.
    case moveMember(MemberID, from: GroupID, to: JoinTarget, facts: MemberFacts = .none)
    /// A member made up a missed day of the current month on the board `group` counts on (the
    /// community's without a group), as ``FissionGroups/CheckInBoard/makeUp(_:activity:day:at:inGroupSince:)``
    /// allows: within the configured make-ups a month, on or after the day they joined (the
    /// group). The outcome carries ``EngineEffect/checkedIn(_:activity:day:streak:milestonesReached:)``
    /// for `day`.
    case makeUpCheckIn(MemberID, activity: CheckInActivityID, group: GroupID?, day: CalendarDay)
    /// Staff overturned a moderation decision: the group's moderator forgets the member's
    /// strikes, so their next broken rule counts as a first. A group without moderation is
    /// ``FissionError/Code/groupNotFound`` only if the group does not exist; otherwise nothing
    /// changes.
    case pardonMember(MemberID, group: GroupID)
    /// The host pays `amount` out of a member's wallet (cash to their account, points spent, a
    /// gift shipped), as ``FissionRewards/Settlement/withdraw(_:from:id:at:)`` does: what the member
    /// owes in that unit after clawbacks is repaid from the wallet first, and the available
    /// balance must cover both. The outcome carries ``EngineEffect/debtRepaid(_:amount:transfer:)``
    /// (if the member owed anything) and ``EngineEffect/withdrawn(_:amount:transfer:)``; the host
    /// pays the member when it sees the latter.
    case withdraw(MemberID, amount: RewardAmount)
    /// An operator forgives part or all of what a member owes after clawbacks, as
    /// ``FissionRewards/Settlement/writeOffDebt(_:of:id:at:)`` does: at most what they owe in the
    /// amount's unit (``FissionError/Code/invalidAmount`` otherwise). The outcome carries
    /// ``EngineEffect/debtWrittenOff(_:amount:transfer:)``.
    case writeOffDebt(MemberID, amount: RewardAmount)
    /// Start recording members' activity and computing their layers under the configured
    /// ``FissionEngine/Configuration/layeringPolicy``. From then on the engine counts, in the
    /// community's calendar (``FissionEngine/Configuration/checkInOffset``): an invitation for the
    /// inviter of each member bound for the first time (at registration, by ``bind(_:to:campaign:)``
    /// or at a first-order binding; not a rebinding), the net paid amount of each paid order in the
    /// policy's currency as spend, a use for a check-in on a day with no use yet (not a make-up), a
    /// message for each message posted that broke no moderation rule; and what
    /// the host reports with ``recordActivity(_:kind:)``. A refund (``orderRefunded(order:amount:)``)
    /// of an order paid while tracked takes the refunded amount back out of the spend of the day the
    /// order was counted on. Members keep their layers; a member an operator put in a layer other
    /// than ordinary stays pinned there. Once only: ``FissionError/Code/activityAlreadyTracked``
    /// after that, except on an engine whose tracking began before refunds counted (a store written
    /// by session 16's Fission, ``EngineState/activityCountsRefunds`` false), where it turns refund
    /// counting on for orders paid from then on. Submit it with a new key: a retry of the earlier
    /// `trackActivity`'s key returns that command's stored outcome and changes nothing.
    case trackActivity
    /// The host reports something a member did that the engine cannot see (a visit, a class, a run
    /// logged: `.use`; a purchase made elsewhere: `.spend`), counted on the command's day.
    /// ``FissionError/Code/unknownMember`` for an unregistered member;
    /// ``FissionError/Code/activityNotTracked`` before ``trackActivity``;
    /// ``FissionError/Code/currencyMismatch`` for a spend in another currency than the policy's;
    /// ``FissionError/Code/negativeAmount`` for a negative one; ``FissionError/Code/arithmeticOverflow``
    /// past the 64-bit range of the member's totals; ``FissionError/Code/invalidDate`` at an instant
    /// whose day in the community's calendar is outside years 1 to 9999.
    case recordActivity(MemberID, kind: ActivityRecord.Kind)
    /// Re-computes every member's layer as of `day` (today or earlier, in the community's
    /// calendar) under the layering policy, as ``FissionMembers/MemberRoster/reevaluateLayers(on:)``
    /// does: promoted at once, demoted after the policy's grace days, pinned members left alone.
    /// The outcome carries ``EngineEffect/layerChanged(_:from:to:isPromotion:)`` for each member
    /// who moved, in registration order; evaluating the same day again moves nobody unless
    /// activity or pins changed in between. Run it once a day, for today or yesterday: the engine
    /// keeps one day of detail beyond the policy's window, so an older day's window may have lost
    /// its first days to activity recorded since. ``FissionError/Code/activityNotTracked`` before ``trackActivity``;
    /// ``FissionError/Code/invalidDate`` for a day after today, or before the latest day evaluated
    /// (or the day tracking began): going back would start members' failing runs earlier and cut
    /// their grace short.
    case evaluateLayers(on: CalendarDay)
    /// Releases the pin ``setMemberLayer(_:layer:)`` puts on a member's layer while activity is
    /// tracked: the next ``evaluateLayers(on:)`` computes their layer from their activity.
    /// ``FissionError/Code/activityNotTracked`` before ``trackActivity``.
    case unpinMemberLayer(MemberID)
    /// The host takes back spend it reported with ``recordActivity(_:kind:)`` (a purchase made
    /// elsewhere and refunded): `amount` comes out of the member's spend on `paidOn`, the day in
    /// the community's calendar the spend was reported on, as
    /// ``FissionMembers/ActivityStats/recordRefund(_:paidOn:)`` takes it. Not for the engine's own
    /// orders: ``orderRefunded(order:amount:)`` takes their refunds out itself, and this would
    /// take the amount out of the day's other spend as well. ``FissionError/Code/unknownMember`` for an unregistered member;
    /// ``FissionError/Code/activityNotTracked`` before ``trackActivity``;
    /// ``FissionError/Code/invalidDate`` for a day after today;
    /// ``FissionError/Code/activityBeforeJoin`` for a day before the member joined;
    /// ``FissionError/Code/currencyMismatch``
    /// for another currency than the policy's; ``FissionError/Code/negativeAmount``;
    /// ``FissionError/Code/refundExceedsSpend`` for more than the member's spend of that day (and
    /// the spend no kept day holds).
    case recordRefund(MemberID, amount: Money, paidOn: CalendarDay)

    /// A command for the campaign model `model`.
    public static func model<Model: CampaignModel>(_ command: Model.Command, of model: Model.Type) -> EngineCommand {
        .model(ModelCommand(model: Model.name, payload: command.encoded()))
    }
}

extension MemberFacts {
    /// Whether a join's facts say nothing the engine uses: no paid order, no spend, no entry fee
    /// (``inviterGroups`` is ignored by the directory, and so by the journal).
    var isNoneForAJoin: Bool { !self.hasPaidOrder && self.totalSpend == nil && !self.hasPaidEntryFee }
}

/// A campaign model's command as the journal keeps it: the model's name and the command's bytes.
public struct ModelCommand: Hashable, Sendable {
    /// The model's ``CampaignModel/name``.
    public let model: String
    /// The command, as ``CampaignModelCommand/encoded()`` wrote it.
    public let payload: [UInt8]

    /// Creates one from a model's name and a command's bytes; ``EngineCommand/model(_:of:)`` is
    /// the typed way.
    public init(model: String, payload: [UInt8]) {
        self.model = model
        self.payload = payload
    }
}

extension EngineCommand {
    /// The most lines an order-paid command may carry.
    static var maximumLines: Int { OrderPaid.maximumLines }

    /// Refuses a command whose text is too long for the journal's form, before it is encoded: the
    /// encoder's length limits (65,535 bytes for a string, 2^32 - 1 for a blob) are preconditions.
    /// Every command's own checks accept far less (a channel is at most 64 bytes, a message 1 MiB),
    /// so this turns what would stop the process into the error the command gets anyway.
    func requireEncodable() throws(FissionError) {
        let stringLimit = Int(UInt16.max)
        let blobLimit = Int(UInt32.max)
        switch self {
        case .registerMember(_, _, _, let channel?), .joinGroup(_, _, _, let channel?, _):
            let length = channel.utf8.count
            guard length <= stringLimit else {
                throw FissionError(
                    code: .invalidName,
                    reason: "a channel of \(length) UTF-8 bytes; at most \(JoinSource.maximumChannelUTF8Length)"
                )
            }
        case .messagePosted(_, _, let text):
            let length = text.utf8.count
            guard length <= blobLimit else {
                throw FissionError(
                    code: .messageTooLong,
                    reason: "a message of \(length) UTF-8 bytes; at most \(ModerationRules.maximumTextUTF8Length)"
                )
            }
        case .model(let command):
            guard command.model.utf8.count <= stringLimit else {
                throw FissionError(
                    code: .unknownModel,
                    reason: "a model name of \(command.model.utf8.count) UTF-8 bytes names no campaign model"
                )
            }
            guard command.payload.count <= blobLimit else {
                throw FissionError(
                    code: .invalidModelCommand,
                    reason: "a model command of \(command.payload.count) bytes; the journal holds at most \(blobLimit)"
                )
            }
        default:
            break
        }
    }

    func encode(into writer: inout ByteWriter) {
        switch self {
        case .registerMember(let member, let inviter, let campaign, let channel):
            writer.append(UInt8(1))
            writer.append(identifier: member)
            writer.append(optional: inviter)
            writer.append(optional: campaign)
            writer.append(optional: channel)
        case .bind(let member, let inviter, let campaign):
            writer.append(UInt8(2))
            writer.append(identifier: member)
            writer.append(identifier: inviter)
            writer.append(optional: campaign)
        case .orderPaid(let order, let buyer, let kind, let lines):
            writer.append(UInt8(3))
            writer.append(identifier: order)
            writer.append(identifier: buyer)
            writer.append(string: kind.rawValue)
            writer.append(UInt32(lines.count))
            for line in lines {
                writer.append(identifier: line.sku)
                writer.append(line.quantity)
                writer.append(money: line.netPaid)
            }
        case .orderRefunded(let order, let amount):
            writer.append(UInt8(4))
            writer.append(identifier: order)
            writer.append(money: amount)
        case .fundCampaign(let campaign, let amount):
            writer.append(UInt8(5))
            writer.append(identifier: campaign)
            writer.append(amount: amount)
        case .publishCampaign(let campaign):
            // Tag 6 is a campaign published before settlement revisions existed: it settles under
            // revision one whatever its JSON says. Later revisions have tag 20 (Decision 0027).
            writer.append(UInt8(campaign.settlementRevision == .one ? 6 : 20))
            writer.append(json: campaign)
        case .pauseCampaign(let campaign):
            writer.append(UInt8(7))
            writer.append(identifier: campaign)
        case .resumeCampaign(let campaign):
            writer.append(UInt8(8))
            writer.append(identifier: campaign)
        case .addGroupSeries(let series):
            // Tag 9 is a series added before groups had check-in boards of their own: its groups'
            // check-ins count on the community board. A series added now is tag 22 (Engine.md).
            writer.append(UInt8(22))
            writer.append(json: series)
        case .addGroup(let group, let series):
            writer.append(UInt8(10))
            writer.append(json: group)
            writer.append(identifier: series)
        case .setModeration(let group, let rules, let policy):
            writer.append(UInt8(11))
            writer.append(identifier: group)
            writer.append(json: rules)
            writer.append(json: policy)
        case .joinGroup(let member, let target, let inviter, let channel, let facts):
            // Tag 12 is a join without facts, as every join was journaled before they existed;
            // tag 21 is the same followed by the facts.
            writer.append(UInt8(facts.isNoneForAJoin ? 12 : 21))
            writer.append(identifier: member)
            writer.append(joinTarget: target)
            writer.append(optional: inviter)
            writer.append(optional: channel)
            if !facts.isNoneForAJoin { writer.append(facts: facts) }
        case .forgetCheckIns(let member):
            writer.append(UInt8(23))
            writer.append(identifier: member)
        case .setMemberTags(let member, let tags):
            writer.append(UInt8(24))
            writer.append(identifier: member)
            writer.append(UInt32(tags.count))
            for tag in tags {
                writer.append(string: tag.category)
                writer.append(string: tag.value)
            }
        case .setMemberLayer(let member, let layer):
            writer.append(UInt8(25))
            writer.append(identifier: member)
            writer.append(string: layer.name)
        case .leaveGroup(let member, let group):
            writer.append(UInt8(13))
            writer.append(identifier: member)
            writer.append(identifier: group)
        case .checkIn(let member, let activity, let group):
            writer.append(UInt8(14))
            writer.append(identifier: member)
            writer.append(identifier: activity)
            writer.append(optional: group)
        case .messagePosted(let member, let group, let text):
            writer.append(UInt8(15))
            writer.append(identifier: member)
            writer.append(identifier: group)
            writer.append(blob: Array(text.utf8))
        case .advance:
            writer.append(UInt8(16))
        case .model(let command):
            writer.append(UInt8(17))
            writer.append(string: command.model)
            writer.append(blob: command.payload)
        case .releaseHeldReward(let grant):
            writer.append(UInt8(18))
            writer.append(grant.rawValue)
        case .rejectHeldReward(let grant):
            writer.append(UInt8(19))
            writer.append(grant.rawValue)
        case .archiveGroup(let group):
            writer.append(UInt8(26))
            writer.append(identifier: group)
        case .reactivateGroup(let group):
            writer.append(UInt8(27))
            writer.append(identifier: group)
        case .setGroupCapacity(let group, let capacity):
            writer.append(UInt8(28))
            writer.append(identifier: group)
            writer.append(Int64(capacity))
        case .removeFromGroup(let member, let group, let reason):
            writer.append(UInt8(29))
            writer.append(identifier: member)
            writer.append(identifier: group)
            // At most `RemovalReason.maximumUTF8Length` (256) bytes.
            writer.append(string: reason.text)
        case .moveMember(let member, let source, let target, let facts):
            writer.append(UInt8(30))
            writer.append(identifier: member)
            writer.append(identifier: source)
            writer.append(joinTarget: target)
            writer.append(UInt8(facts.isNoneForAJoin ? 0 : 1))
            if !facts.isNoneForAJoin { writer.append(facts: facts) }
        case .makeUpCheckIn(let member, let activity, let group, let day):
            writer.append(UInt8(31))
            writer.append(identifier: member)
            writer.append(identifier: activity)
            writer.append(optional: group)
            writer.append(day.daysSinceEpoch)
        case .pardonMember(let member, let group):
            writer.append(UInt8(32))
            writer.append(identifier: member)
            writer.append(identifier: group)
        case .withdraw(let member, let amount):
            writer.append(UInt8(33))
            writer.append(identifier: member)
            writer.append(amount: amount)
        case .writeOffDebt(let member, let amount):
            writer.append(UInt8(34))
            writer.append(identifier: member)
            writer.append(amount: amount)
        case .trackActivity:
            // Tag 35 is tracking as it began before refunds counted (session 16): a journal that
            // holds it keeps refunds out of the spend it counts, as when it was written. Tracking
            // begun now is tag 39, which takes refunds back out (Decision 0033).
            writer.append(UInt8(39))
        case .recordActivity(let member, let kind):
            writer.append(UInt8(36))
            writer.append(identifier: member)
            switch kind {
            case .use: writer.append(UInt8(0))
            case .spend(let amount):
                writer.append(UInt8(1))
                writer.append(money: amount)
            case .invite: writer.append(UInt8(2))
            case .message: writer.append(UInt8(3))
            }
        case .evaluateLayers(let day):
            writer.append(UInt8(37))
            writer.append(day.daysSinceEpoch)
        case .unpinMemberLayer(let member):
            writer.append(UInt8(38))
            writer.append(identifier: member)
        case .recordRefund(let member, let amount, let day):
            writer.append(UInt8(40))
            writer.append(identifier: member)
            writer.append(money: amount)
            writer.append(day.daysSinceEpoch)
        }
    }

    /// A form of a command's bytes written before a change to what the command does, which still
    /// applies as it did when it was written.
    struct JournaledForm: OptionSet, Sendable {
        let rawValue: UInt8

        /// `addGroupSeries` with tag 9 adds a series whose groups' check-ins count on the
        /// community board (``EngineState/seriesOnTheCommunityBoard``).
        static let seriesOnTheCommunityBoard = Self(rawValue: 1 << 0)
        /// `trackActivity` with tag 35 tracks activity without taking refunds out of the spend
        /// (``EngineState/activityCountsRefunds``).
        static let activityWithoutRefunds = Self(rawValue: 1 << 1)
    }

    /// A command read from the journal, and the earlier form its bytes are, if any.
    static func decodeJournaled(
        from reader: inout ByteReader
    ) throws(FissionError) -> (command: EngineCommand, form: JournaledForm) {
        let start = reader.offset
        let command = try Self.decode(from: &reader)
        switch reader.bytes[start] {
        case 9: return (command, .seriesOnTheCommunityBoard)
        case 35: return (command, .activityWithoutRefunds)
        default: return (command, [])
        }
    }

    /// The digests of the bytes an earlier Fission journaled this command as, when they differ
    /// from today's: a retry of a command journaled before its tag changed is the same command,
    /// and gets its stored outcome rather than ``FissionError/Code/idempotencyConflict``.
    func earlierFormDigests() -> [UInt64] {
        let earlierTag: UInt8
        switch self {
        case .addGroupSeries: earlierTag = 9
        case .trackActivity: earlierTag = 35
        default: return []
        }
        var writer = ByteWriter(capacity: 64)
        self.encode(into: &writer)
        var bytes = writer.bytes
        bytes[0] = earlierTag
        return [stableDigest(bytes)]
    }

    /// A value a decoded command holds, built by its validating initializer: a refusal is
    /// corrupt bytes, whatever code the initializer gives it.
    private static func validated<Value>(_ make: () throws(FissionError) -> Value) throws(FissionError) -> Value {
        do {
            return try make()
        } catch {
            throw ByteReader.corrupt(error.reason)
        }
    }

    // A function of one switch over every command kind: splitting it would scatter the format.
    static func decode(from reader: inout ByteReader) throws(FissionError) -> EngineCommand {
        let tag: UInt8 = try reader.read()
        switch tag {
        case 1:
            return .registerMember(
                try reader.readIdentifier(),
                invitedBy: try reader.readOptionalIdentifier(),
                campaign: try reader.readOptionalIdentifier(),
                channel: try reader.readOptionalString()
            )
        case 2:
            return .bind(
                try reader.readIdentifier(),
                to: try reader.readIdentifier(),
                campaign: try reader.readOptionalIdentifier()
            )
        case 3:
            let order: OrderID = try reader.readIdentifier()
            let buyer: MemberID = try reader.readIdentifier()
            let kindName = try reader.readString()
            guard let kind = OrderKind(rawValue: kindName) else { throw ByteReader.corrupt("order kind \(kindName)") }
            let count = try reader.readCount(limit: Self.maximumLines, "order lines")
            var lines: [OrderPaid.Line] = []
            lines.reserveCapacity(count)
            for _ in 0..<count {
                let sku: SKUID = try reader.readIdentifier()
                let quantity: Int64 = try reader.read()
                lines.append(OrderPaid.Line(sku: sku, quantity: quantity, netPaid: try reader.readMoney()))
            }
            return .orderPaid(order: order, buyer: buyer, kind: kind, lines: lines)
        case 4:
            return .orderRefunded(order: try reader.readIdentifier(), amount: try reader.readMoney())
        case 5:
            return .fundCampaign(try reader.readIdentifier(), amount: try reader.readAmount())
        case 6:
            return .publishCampaign(try reader.readJSON(RewardCampaign.self).settling(under: .one))
        case 7:
            return .pauseCampaign(try reader.readIdentifier())
        case 8:
            return .resumeCampaign(try reader.readIdentifier())
        case 9, 22:
            return .addGroupSeries(try reader.readJSON(GroupSeries.self))
        case 10:
            return .addGroup(try reader.readJSON(CommunityGroup.self), series: try reader.readIdentifier())
        case 11:
            return .setModeration(
                try reader.readIdentifier(),
                rules: try reader.readJSON(ModerationRules.self),
                policy: try reader.readJSON(StrikePolicy.self)
            )
        case 12, 21:
            let member: MemberID = try reader.readIdentifier()
            let target = try reader.readJoinTarget()
            let inviter: MemberID? = try reader.readOptionalIdentifier()
            let channel = try reader.readOptionalString()
            var facts = MemberFacts.none
            if tag == 21 {
                facts = try reader.readFacts()
                guard !facts.isNoneForAJoin else {
                    throw ByteReader.corrupt("a join with facts that are none (tag 21)")
                }
            }
            return .joinGroup(member, into: target, invitedBy: inviter, channel: channel, facts: facts)
        case 13:
            return .leaveGroup(try reader.readIdentifier(), group: try reader.readIdentifier())
        case 23:
            return .forgetCheckIns(try reader.readIdentifier())
        case 24:
            let member: MemberID = try reader.readIdentifier()
            let count = try reader.readCount(limit: TagSet.maximumCount, "tags")
            var tags: [MemberTag] = []
            for _ in 0..<count {
                let tag = try Self.validated { () throws(FissionError) in
                    try MemberTag(category: reader.readString(), value: reader.readString())
                }
                tags.append(tag)
            }
            // In the order the tag set was written in, which is not checked: tags compare as
            // Strings do (by canonical equivalence), and String order is not consistent for every
            // text (neither "\u{915}" < "\u{958}" nor the reverse, yet they differ), so a set
            // sorted by it can come out in either order. A tag written twice is refused.
            let set = try Self.validated { () throws(FissionError) in try TagSet(tags) }
            guard set.count == tags.count else { throw ByteReader.corrupt("a tag repeated") }
            return .setMemberTags(member, tags: set)
        case 25:
            let member: MemberID = try reader.readIdentifier()
            let name = try reader.readString()
            return .setMemberLayer(member, layer: try Self.validated { () throws(FissionError) in try Layer(name) })
        case 14:
            return .checkIn(
                try reader.readIdentifier(),
                activity: try reader.readIdentifier(),
                group: try reader.readOptionalIdentifier()
            )
        case 15:
            let member: MemberID = try reader.readIdentifier()
            let group: GroupID = try reader.readIdentifier()
            // Refused, not repaired: a host's text is valid UTF-8, so other bytes are damage.
            guard let text = String(validating: try reader.readBlob(), as: UTF8.self) else {
                throw ByteReader.corrupt("a message that is not UTF-8")
            }
            return .messagePosted(member, group: group, text: text)
        case 16:
            return .advance
        case 17:
            let model = try reader.readString()
            return .model(ModelCommand(model: model, payload: try reader.readBlob()))
        case 18:
            return .releaseHeldReward(TransferID(rawValue: try reader.read()))
        case 19:
            return .rejectHeldReward(TransferID(rawValue: try reader.read()))
        case 20:
            let campaign = try reader.readJSON(RewardCampaign.self)
            guard campaign.settlementRevision > .one else {
                throw ByteReader.corrupt("campaign \(campaign.id) under revision one with tag 20")
            }
            return .publishCampaign(campaign)
        case 26:
            return .archiveGroup(try reader.readIdentifier())
        case 27:
            return .reactivateGroup(try reader.readIdentifier())
        case 28:
            let group: GroupID = try reader.readIdentifier()
            let capacity: Int64 = try reader.read()
            // Any capacity the directory refuses is refused when applied; only a value that is
            // no `Int` here is corrupt (none, on 64-bit platforms).
            guard let value = Int(exactly: capacity) else { throw ByteReader.corrupt("capacity \(capacity)") }
            return .setGroupCapacity(group, capacity: value)
        case 29:
            let member: MemberID = try reader.readIdentifier()
            let group: GroupID = try reader.readIdentifier()
            let text = try reader.readString()
            let reason = try Self.validated { () throws(FissionError) in try RemovalReason(text) }
            return .removeFromGroup(member, group: group, reason: reason)
        case 30:
            let member: MemberID = try reader.readIdentifier()
            let source: GroupID = try reader.readIdentifier()
            let target = try reader.readJoinTarget()
            let hasFacts: UInt8 = try reader.read()
            var facts = MemberFacts.none
            switch hasFacts {
            case 0: break
            case 1:
                facts = try reader.readFacts()
                guard !facts.isNoneForAJoin else { throw ByteReader.corrupt("a move with facts that are none") }
            default: throw ByteReader.corrupt("a facts flag \(hasFacts)")
            }
            return .moveMember(member, from: source, to: target, facts: facts)
        case 31:
            let member: MemberID = try reader.readIdentifier()
            let activity: CheckInActivityID = try reader.readIdentifier()
            let group: GroupID? = try reader.readOptionalIdentifier()
            let days: Int64 = try reader.read()
            guard let day = CalendarDay(daysSinceEpoch: days) else {
                throw ByteReader.corrupt("a make-up day \(days) days from 1970, outside years 1 to 9999")
            }
            return .makeUpCheckIn(member, activity: activity, group: group, day: day)
        case 32:
            return .pardonMember(try reader.readIdentifier(), group: try reader.readIdentifier())
        case 33:
            return .withdraw(try reader.readIdentifier(), amount: try reader.readAmount())
        case 34:
            return .writeOffDebt(try reader.readIdentifier(), amount: try reader.readAmount())
        case 35, 39:
            return .trackActivity
        case 36:
            let member: MemberID = try reader.readIdentifier()
            let kind: UInt8 = try reader.read()
            switch kind {
            case 0: return .recordActivity(member, kind: .use)
            case 1: return .recordActivity(member, kind: .spend(try reader.readMoney()))
            case 2: return .recordActivity(member, kind: .invite)
            case 3: return .recordActivity(member, kind: .message)
            default: throw ByteReader.corrupt("activity kind \(kind)")
            }
        case 37:
            let days: Int64 = try reader.read()
            guard let day = CalendarDay(daysSinceEpoch: days) else {
                throw ByteReader.corrupt("a day to evaluate \(days) days from 1970, outside years 1 to 9999")
            }
            return .evaluateLayers(on: day)
        case 38:
            return .unpinMemberLayer(try reader.readIdentifier())
        case 40:
            let member: MemberID = try reader.readIdentifier()
            let amount = try reader.readMoney()
            let days: Int64 = try reader.read()
            guard let day = CalendarDay(daysSinceEpoch: days) else {
                throw ByteReader.corrupt("a paid day \(days) days from 1970, outside years 1 to 9999")
            }
            return .recordRefund(member, amount: amount, paidOn: day)
        default:
            throw ByteReader.corrupt("command tag \(tag)")
        }
    }
}

extension ByteWriter {
    /// A join's or a move's destination: 0 and a group, or 1 and a series.
    fileprivate mutating func append(joinTarget target: JoinTarget) {
        switch target {
        case .group(let group):
            self.append(UInt8(0))
            self.append(identifier: group)
        case .series(let series):
            self.append(UInt8(1))
            self.append(identifier: series)
        }
    }
}

extension ByteReader {
    fileprivate mutating func readJoinTarget() throws(FissionError) -> JoinTarget {
        let tag: UInt8 = try self.read()
        switch tag {
        case 0: return .group(try self.readIdentifier())
        case 1: return .series(try self.readIdentifier())
        default: throw Self.corrupt("join target tag \(tag)")
        }
    }
}
