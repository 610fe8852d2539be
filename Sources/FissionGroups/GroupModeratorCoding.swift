import FissionCore

extension GroupModerator {
    /// One member's strikes, as encoded.
    private struct EncodedStrikes: Codable {
        let member: MemberID
        let strikes: [Timestamp]
    }

    private enum CodingKeys: String, CodingKey {
        case rules
        case policy
        case strikes
    }

    /// Encodes the rules, the policy and the strikes, sorted by member.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.rules, forKey: .rules)
        try container.encode(self.policy, forKey: .policy)
        let strikes = self.strikes.keys.sorted().map { EncodedStrikes(member: $0, strikes: self.strikes[$0]!) }
        try container.encode(strikes, forKey: .strikes)
    }

    /// Decodes a moderator and checks its strikes.
    ///
    /// - Throws: `DecodingError.dataCorrupted` for more than ``maximumTrackedMembers`` members, a
    ///   member listed twice, or a member with no strikes, more than
    ///   ``StrikePolicy/removeAfterStrikes`` strikes, or strikes out of order.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            rules: try container.decode(ModerationRules.self, forKey: .rules),
            policy: try container.decode(StrikePolicy.self, forKey: .policy)
        )
        let encoded = try container.decode([EncodedStrikes].self, forKey: .strikes)
        guard encoded.count <= Self.maximumTrackedMembers else {
            throw DecodingError.dataCorruptedError(
                forKey: .strikes,
                in: container,
                debugDescription: "strikes of more than \(Self.maximumTrackedMembers) members"
            )
        }
        self.strikes.reserveCapacity(encoded.count)
        for entry in encoded {
            guard self.strikes[entry.member] == nil, (1...self.policy.removeAfterStrikes).contains(entry.strikes.count),
                zip(entry.strikes, entry.strikes.dropFirst()).allSatisfy({ $0 <= $1 })
            else {
                throw DecodingError.dataCorruptedError(
                    forKey: .strikes,
                    in: container,
                    debugDescription: "the strikes of \(entry.member) repeat, are out of order or number outside "
                        + "1...\(self.policy.removeAfterStrikes)"
                )
            }
            self.strikes[entry.member] = entry.strikes
        }
    }
}
