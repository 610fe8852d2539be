@_spi(FissionCoding) public import FissionCore
@_spi(FissionCoding) import FissionRewards

/// The first campaign model: a mutual-benefit share. A member opens a share in a campaign; each
/// registered friend who helps is settled as ``FissionRewards/RewardEvent/helped(sharer:helper:at:)``
/// under the campaign's rules (a ``FissionRewards/RewardRule/Shape/mutual(sharer:helper:)`` rule
/// rewards both sides); the share completes when `goal` friends have helped.
///
/// It is the simplest model on purpose: it shows the seam (``CampaignModel``) carrying a model's
/// commands through the same idempotency keys, journal, replay and ledger as the engine's own.
public struct MutualShareModel: CampaignModel {
    /// The most friends one share may need.
    public static var maximumGoal: Int { 1_000 }

    /// The journal name: `"mutual-share"`.
    public static var name: String { "mutual-share" }

    /// A share's command.
    public enum Command: CampaignModelCommand {
        /// Opens a share: `share` is the host's id for it.
        case open(share: EventID, sharer: MemberID, campaign: CampaignID, goal: Int)
        /// A friend helped a share.
        case help(share: EventID, helper: MemberID)

        /// The command's bytes.
        public func encoded() -> [UInt8] {
            var writer = ByteWriter(capacity: 48)
            switch self {
            case .open(let share, let sharer, let campaign, let goal):
                writer.append(UInt8(1))
                writer.append(identifier: share)
                writer.append(identifier: sharer)
                writer.append(identifier: campaign)
                writer.append(Int64(goal))
            case .help(let share, let helper):
                writer.append(UInt8(2))
                writer.append(identifier: share)
                writer.append(identifier: helper)
            }
            return writer.finish()
        }

        /// Decodes what ``encoded()`` wrote.
        public init(encoded bytes: [UInt8]) throws(FissionError) {
            do {
                try self.init(reading: bytes)
            } catch {
                throw error.decodingFault(as: .corruptJournal, in: "mutual-share command")
            }
        }

        private init(reading bytes: [UInt8]) throws(FissionError) {
            var reader = ByteReader(bytes: bytes)
            let tag: UInt8 = try reader.read()
            switch tag {
            case 1:
                let share: EventID = try reader.readIdentifier()
                let sharer: MemberID = try reader.readIdentifier()
                let campaign: CampaignID = try reader.readIdentifier()
                let goal: Int64 = try reader.read()
                self = .open(share: share, sharer: sharer, campaign: campaign, goal: Int(goal))
            case 2:
                self = .help(share: try reader.readIdentifier(), helper: try reader.readIdentifier())
            default:
                throw ByteReader.corrupt("mutual-share command tag \(tag)")
            }
            guard reader.isAtEnd else { throw ByteReader.corrupt("bytes after a mutual-share command") }
        }
    }

    /// A share and who has helped it.
    public struct Share: Hashable, Sendable {
        /// Who shared.
        public let sharer: MemberID
        /// The campaign whose rules reward the helps.
        public let campaign: CampaignID
        /// How many friends complete it.
        public let goal: Int
        /// The friends who helped, in order.
        public internal(set) var helpers: [MemberID]

        /// Whether enough friends have helped.
        public var isComplete: Bool { self.helpers.count >= self.goal }
    }

    /// The shares, by id.
    public private(set) var shares: [EventID: Share] = [:]

    /// An empty model.
    public init() {}

    /// The effect a completed share reports: the bytes of `"complete:" + share id`.
    public static func completionEffect(_ share: EventID) -> [UInt8] { Array("complete:\(share)".utf8) }

    /// Opens a share or records a help.
    ///
    /// - Throws: ``FissionError/Code/unknownMember`` for a sharer or helper the graph does not know;
    ///   ``FissionError/Code/campaignNotFound``; ``FissionError/Code/invalidShare`` for a goal
    ///   outside 1...``maximumGoal``, a share id in use, an unknown or complete share, a sharer
    ///   helping themselves, a friend helping twice, or a campaign that is not earning (paused,
    ///   not started or ended: the help would pay nothing, so it is not used up).
    public mutating func apply(
        _ command: Command,
        context: CampaignModelContext
    ) throws(FissionError) -> CampaignModelStep {
        switch command {
        case .open(let id, let sharer, let campaign, let goal):
            guard context.graph.contains(sharer) else {
                throw FissionError(code: .unknownMember, reason: "sharer \(sharer) is not registered")
            }
            guard context.settlement.campaign(campaign) != nil else {
                throw FissionError(code: .campaignNotFound, reason: "no campaign \(campaign)")
            }
            guard context.earningCampaigns.contains(campaign) else {
                throw FissionError(
                    code: .invalidShare,
                    reason: "campaign \(campaign) is not earning now (paused, not started or ended)"
                )
            }
            guard (1...Self.maximumGoal).contains(goal) else {
                throw FissionError(code: .invalidShare, reason: "goal \(goal) is outside 1...\(Self.maximumGoal)")
            }
            guard self.shares[id] == nil else {
                throw FissionError(code: .invalidShare, reason: "share \(id) is already open")
            }
            self.shares[id] = Share(sharer: sharer, campaign: campaign, goal: goal, helpers: [])
            return CampaignModelStep()
        case .help(let id, let helper):
            guard var share = self.shares[id] else {
                throw FissionError(code: .invalidShare, reason: "no share \(id)")
            }
            guard context.graph.contains(helper) else {
                throw FissionError(code: .unknownMember, reason: "helper \(helper) is not registered")
            }
            guard !share.isComplete else {
                throw FissionError(code: .invalidShare, reason: "share \(id) is complete")
            }
            // A help that no campaign would pay is refused rather than used up: the friend can
            // help once the campaign earns again.
            guard context.earningCampaigns.contains(share.campaign) else {
                throw FissionError(
                    code: .invalidShare,
                    reason: "campaign \(share.campaign) of share \(id) is not earning now (paused or ended)"
                )
            }
            guard helper != share.sharer, !share.helpers.contains(helper) else {
                throw FissionError(
                    code: .invalidShare,
                    reason: "\(helper) cannot help share \(id): the sharer, or a friend who helped already"
                )
            }
            share.helpers.append(helper)
            self.shares[id] = share
            let event = ModelRewardEvent(
                campaign: share.campaign,
                event: .helped(sharer: share.sharer, helper: helper, at: context.now)
            )
            return CampaignModelStep(
                rewardEvents: [event],
                effects: share.isComplete ? [Self.completionEffect(id)] : []
            )
        }
    }

    /// The shares' bytes, sorted by id so equal states give equal bytes.
    public func snapshot() -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        writer.append(UInt32(self.shares.count))
        for (id, share) in self.shares.sorted(by: { $0.key < $1.key }) {
            writer.append(identifier: id)
            writer.append(identifier: share.sharer)
            writer.append(identifier: share.campaign)
            writer.append(Int64(share.goal))
            writer.append(UInt32(share.helpers.count))
            for helper in share.helpers { writer.append(identifier: helper) }
        }
        return writer.finish()
    }

    /// Restores the shares from ``snapshot()``.
    ///
    /// - Throws: ``FissionError/Code/corruptSnapshot`` for bytes ``snapshot()`` cannot write:
    ///   shares out of order or repeated, a goal outside 1...``maximumGoal``, more helpers than
    ///   the goal, a helper repeated or the sharer among them.
    public init(snapshot bytes: [UInt8]) throws(FissionError) {
        var reader = ByteReader(bytes: bytes)
        let count: UInt32 = try reader.read()
        var previous: EventID?
        for _ in 0..<count {
            let id: EventID = try reader.readIdentifier()
            let sharer: MemberID = try reader.readIdentifier()
            let campaign: CampaignID = try reader.readIdentifier()
            let goal: Int64 = try reader.read()
            let helperCount: UInt32 = try reader.read()
            guard previous.map({ $0 < id }) ?? true, (1...Int64(Self.maximumGoal)).contains(goal),
                helperCount <= UInt32(goal)
            else {
                throw FissionError(
                    code: .corruptSnapshot,
                    reason: "share \(id): out of order, or a goal or helper count no share has"
                )
            }
            var helpers: [MemberID] = []
            for _ in 0..<helperCount {
                let helper: MemberID = try reader.readIdentifier()
                guard helper != sharer, !helpers.contains(helper) else {
                    throw FissionError(
                        code: .corruptSnapshot,
                        reason: "share \(id): helper \(helper) repeated or the sharer"
                    )
                }
                helpers.append(helper)
            }
            self.shares[id] = Share(sharer: sharer, campaign: campaign, goal: Int(goal), helpers: helpers)
            previous = id
        }
        guard reader.isAtEnd else {
            throw FissionError(code: .corruptSnapshot, reason: "bytes after the mutual-share state")
        }
    }
}

extension FissionError.Code {
    /// A mutual-benefit share command the share's state refuses.
    public static let invalidShare = Self("invalidShare")
}
