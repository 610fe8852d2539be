public import FissionCore

// MARK: - Codes of FissionGraph

extension FissionError.Code {
    /// A member was named as their own inviter.
    public static let selfInvite = Self("selfInvite")
    /// A member id the graph has never registered.
    public static let unknownMember = Self("unknownMember")
    /// A member id was registered a second time.
    public static let memberAlreadyRegistered = Self("memberAlreadyRegistered")
    /// The invitee joined before the inviter: an existing customer cannot be referred by a newer member.
    public static let inviteeJoinedFirst = Self("inviteeJoinedFirst")
    /// The binding policy does not allow a binding at this point (new members only, after registration).
    public static let bindingClosed = Self("bindingClosed")
    /// The member is bound for good (a permanent policy) to another inviter.
    public static let alreadyBound = Self("alreadyBound")
    /// The member's binding is still inside its protection window and cannot be taken over.
    public static let bindingProtected = Self("bindingProtected")
    /// A traversal depth outside `1...3`.
    public static let invalidDepth = Self("invalidDepth")
    /// A count limit (leaderboard size, path length) outside its allowed range.
    public static let invalidLimit = Self("invalidLimit")
    /// The graph is full: its member or campaign limit would be passed.
    public static let capacityExceeded = Self("capacityExceeded")
    /// A member id longer than the graph's identifier limit.
    public static let identifierTooLong = Self("identifierTooLong")
    /// A change was dated before a change the graph has already applied.
    public static let timeWentBackwards = Self("timeWentBackwards")
    /// A binding policy or graph limit that makes no sense (a protection window of 0 days).
    public static let invalidPolicy = Self("invalidPolicy")
}
