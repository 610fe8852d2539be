public import FissionCore

/// A person in the brand's community.
///
/// A member is a plain value: who they are (the host's id), when and how they joined, their tags,
/// their layer and hashed risk signals. It holds no personal data: no name, no phone number.
/// Keep members in a ``MemberRoster`` to record activity and compute layers.
public struct Member: Identifiable, Hashable, Sendable, Codable {
    /// A member's identifier.
    public typealias ID = MemberID

    /// The host's id for this member.
    public let id: MemberID
    /// When the member joined.
    public let joinedAt: Timestamp
    /// How the member came: the channel, who invited them, the group they joined through.
    public let source: JoinSource
    /// Labels for segmenting and group entry rules.
    public var tags: TagSet
    /// The member's layer; a ``MemberRoster`` keeps it up to date under a ``LayeringPolicy``.
    public var layer: Layer
    /// Hashed phone and device fingerprints.
    public var riskSignals: RiskSignals

    /// Creates a member.
    ///
    /// - Parameters:
    ///   - id: The host's id.
    ///   - joinedAt: When they joined.
    ///   - source: How they came; `JoinSource()` when unknown.
    ///   - tags: Initial tags.
    ///   - layer: Initial layer, usually the policy's fallback (``Layer/ordinary``).
    ///   - riskSignals: Hashed fingerprints.
    public init(
        id: MemberID,
        joinedAt: Timestamp,
        source: JoinSource = JoinSource(),
        tags: TagSet = [],
        layer: Layer = .ordinary,
        riskSignals: RiskSignals = .none
    ) {
        self.id = id
        self.joinedAt = joinedAt
        self.source = source
        self.tags = tags
        self.layer = layer
        self.riskSignals = riskSignals
    }
}

/// How a member came into the community. Any part may be unknown.
public struct JoinSource: Hashable, Sendable, Codable {
    /// The longest channel name, in UTF-8 bytes.
    public static var maximumChannelUTF8Length: Int { 64 }

    /// Where they came from, such as `"wechat-moments"` or `"store-qr"`.
    public let channel: String?
    /// The member whose invite brought them, as the host reported it at registration.
    ///
    /// This is the claim, not the binding: the invite graph decides whether it binds.
    public let invitedBy: MemberID?
    /// The group they joined through.
    public let group: GroupID?

    /// Creates a join source.
    ///
    /// - Throws: ``FissionError/Code/invalidName`` if `channel` is empty, too long or holds a control character.
    public init(channel: String? = nil, invitedBy: MemberID? = nil, group: GroupID? = nil) throws(FissionError) {
        if let channel {
            try validateName(
                channel,
                what: "channel",
                maximumUTF8Length: Self.maximumChannelUTF8Length,
                code: .invalidName
            )
        }
        self.channel = channel
        self.invitedBy = invitedBy
        self.group = group
    }

    /// An unknown source.
    public init() {
        self.channel = nil
        self.invitedBy = nil
        self.group = nil
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let channel = try container.decodeIfPresent(String.self, forKey: .channel)
        let invitedBy = try container.decodeIfPresent(MemberID.self, forKey: .invitedBy)
        let group = try container.decodeIfPresent(GroupID.self, forKey: .group)
        do {
            try self.init(channel: channel, invitedBy: invitedBy, group: group)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .channel, in: container, debugDescription: error.reason)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case channel
        case invitedBy
        case group
    }
}
