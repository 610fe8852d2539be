public import FissionCore

/// What the host knows about a member that the member value itself does not hold, for entry rules.
///
/// The library does no I/O, so facts such as "has a paid order" come in as a value the host (or
/// the engine) fills from its own records before asking whether a member may join a group.
public struct MemberFacts: Hashable, Sendable, Codable {
    /// The most groups ``inviterGroups`` may list.
    public static var maximumInviterGroups: Int { 1_024 }

    /// Whether the member has at least one paid order.
    public var hasPaidOrder: Bool
    /// What the member has spent in total; `nil` when nothing (or nothing known).
    public var totalSpend: Money?
    /// Whether the member paid the group's entry fee.
    public var hasPaidEntryFee: Bool
    /// The groups the member's inviter is in, for ``EntryRule/Clause/invitedByMemberOf(_:)`` when
    /// a rule is evaluated on its own. A ``GroupDirectory`` ignores this and looks up the inviter
    /// named in the join itself.
    public var inviterGroups: [GroupID]

    /// Creates facts; by default the member has no order, no spend, no fee and no inviter.
    ///
    /// - Precondition: `inviterGroups` lists at most ``maximumInviterGroups`` groups.
    public init(
        hasPaidOrder: Bool = false,
        totalSpend: Money? = nil,
        hasPaidEntryFee: Bool = false,
        inviterGroups: [GroupID] = []
    ) {
        precondition(
            inviterGroups.count <= Self.maximumInviterGroups,
            "inviterGroups lists \(inviterGroups.count) groups; at most \(Self.maximumInviterGroups)"
        )
        self.hasPaidOrder = hasPaidOrder
        self.totalSpend = totalSpend
        self.hasPaidEntryFee = hasPaidEntryFee
        self.inviterGroups = inviterGroups
    }

    /// Nothing known: no order, no spend, no fee, no inviter.
    public static var none: MemberFacts { MemberFacts() }

    /// Decodes facts, checking the limit on ``inviterGroups``.
    ///
    /// - Throws: `DecodingError.dataCorrupted` when `inviterGroups` lists more than
    ///   ``maximumInviterGroups`` groups.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let inviterGroups = try container.decode([GroupID].self, forKey: .inviterGroups)
        guard inviterGroups.count <= Self.maximumInviterGroups else {
            throw DecodingError.dataCorruptedError(
                forKey: .inviterGroups,
                in: container,
                debugDescription:
                    "inviterGroups lists \(inviterGroups.count) groups; at most \(Self.maximumInviterGroups)"
            )
        }
        self.init(
            hasPaidOrder: try container.decode(Bool.self, forKey: .hasPaidOrder),
            totalSpend: try container.decodeIfPresent(Money.self, forKey: .totalSpend),
            hasPaidEntryFee: try container.decode(Bool.self, forKey: .hasPaidEntryFee),
            inviterGroups: inviterGroups
        )
    }

    private enum CodingKeys: String, CodingKey {
        case hasPaidOrder
        case totalSpend
        case hasPaidEntryFee
        case inviterGroups
    }
}
