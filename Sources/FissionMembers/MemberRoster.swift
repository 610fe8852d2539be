public import FissionCore

/// The members of one community with their activity and layers: a pure value.
///
/// Add members, feed it activity records, and call ``reevaluateLayers(on:)`` once a day (or
/// whenever the host likes; it is idempotent for a given day) to move members between layers
/// under the ``LayeringPolicy``. Query members by ``Segment``, a page at a time, in join order.
///
/// Every mutating method either succeeds completely or throws and leaves the roster unchanged.
public struct MemberRoster: Sendable {
    /// The most members one page may return.
    public static var maximumPageSize: Int { 10_000 }

    /// A member's record in the roster.
    ///
    /// The member's layer is always their layer state's, and a pinned layer has no failing run.
    /// Decoding checks both (and the stats, as ``ActivityStats/init(from:)`` does).
    public struct Entry: Hashable, Sendable, Codable {
        /// The member, with their current layer.
        public internal(set) var member: Member
        /// Their activity.
        public internal(set) var stats: ActivityStats
        /// Their layer bookkeeping.
        public internal(set) var layerState: LayerState

        init(member: Member, stats: ActivityStats, layerState: LayerState) {
            self.member = member
            self.stats = stats
            self.layerState = layerState
        }

        /// Decodes an entry and checks that a roster could have kept it.
        ///
        /// - Throws: `DecodingError.dataCorrupted`, carrying the reason
        ///   (``FissionError/Code/corruptSnapshot``), when the member's layer is not the layer
        ///   state's or a pinned layer state has a failing run; the errors of decoding the stats.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let member = try container.decode(Member.self, forKey: .member)
            let stats = try container.decode(ActivityStats.self, forKey: .stats)
            let layerState = try container.decode(LayerState.self, forKey: .layerState)
            try decodeValidated(at: decoder.codingPath) { () throws(FissionError) in
                func corrupt(_ problem: String) -> FissionError {
                    FissionError(code: .corruptSnapshot, reason: "roster entry: \(problem)")
                }
                if member.layer != layerState.layer {
                    throw corrupt(
                        "member \(member.id) is in layer \(member.layer); their layer state is \(layerState.layer)"
                    )
                }
                if layerState.isPinned && layerState.failingSince != nil {
                    throw corrupt("member \(member.id)'s layer is pinned but has a failing run")
                }
            }
            self.init(member: member, stats: stats, layerState: layerState)
        }

        private enum CodingKeys: String, CodingKey {
            case member
            case stats
            case layerState
        }
    }

    /// A change of layer produced by ``reevaluateLayers(on:)``.
    public struct LayerChange: Hashable, Sendable, Codable {
        /// Who moved.
        public let member: MemberID
        /// From which layer.
        public let from: Layer
        /// To which layer.
        public let to: Layer
        /// Whether the new layer ranks higher; a layer the policy does not know ranks below every
        /// layer it knows, so leaving one is a promotion.
        public let isPromotion: Bool

        /// Creates a change record.
        public init(member: MemberID, from: Layer, to: Layer, isPromotion: Bool) {
            self.member = member
            self.from = from
            self.to = to
            self.isPromotion = isPromotion
        }
    }

    /// A position in the join order, for paging.
    public struct Cursor: Hashable, Sendable, Codable {
        /// The position of the next member to read.
        public let position: Int

        /// A cursor at `position` in the join order (for a roster kept elsewhere, such as the
        /// engine's members); a roster's own pages hand these out.
        public init(position: Int) {
            self.position = position
        }
    }

    /// One page of a segment query.
    public struct Page: Sendable {
        /// The members on this page, in join order.
        public let members: [Member]
        /// Where the next page starts, or `nil` when there are no more members.
        public let next: Cursor?

        /// A page of `members`, continuing at `next`.
        public init(members: [Member], next: Cursor?) {
            self.members = members
            self.next = next
        }
    }

    /// The policy layers are computed under.
    public private(set) var policy: LayeringPolicy
    /// The UTC offset that decides which calendar day an activity falls on.
    public let offset: UTCOffset

    private var entries: [MemberID: Entry] = [:]
    private var joinOrder: [MemberID] = []

    /// Creates an empty roster.
    ///
    /// - Parameters:
    ///   - policy: How layers are computed.
    ///   - offset: The community's UTC offset; "today" and trailing windows are counted in it.
    public init(policy: LayeringPolicy, offset: UTCOffset) {
        self.policy = policy
        self.offset = offset
    }

    /// The number of members.
    public var count: Int { self.joinOrder.count }

    /// The member with `id`, or `nil`.
    public func member(_ id: MemberID) -> Member? { self.entries[id]?.member }

    /// The roster's record of the member with `id`, or `nil`.
    public func entry(_ id: MemberID) -> Entry? { self.entries[id] }

    /// Adds a member.
    ///
    /// The member keeps the layer they come with; if the policy does not rank it, the next
    /// ``reevaluateLayers(on:)`` sorts them.
    ///
    /// - Throws: ``FissionError/Code/duplicateMember`` if the id is taken;
    ///   ``FissionError/Code/invalidDate`` if the member joined on a day outside years 1 to 9999 in
    ///   the roster's offset (hours from `Timestamp.earliest` or `Timestamp.latest`). The roster is
    ///   unchanged when it throws.
    public mutating func add(_ member: Member) throws(FissionError) {
        guard self.entries[member.id] == nil else {
            throw FissionError(code: .duplicateMember, reason: "member \(member.id) is already in the roster")
        }
        let joinDay = try member.joinedAt.checkedCalendarDay(in: self.offset, what: "member \(member.id)'s join")
        self.entries[member.id] = Entry(
            member: member,
            stats: ActivityStats(currency: self.policy.currency, retainedDays: self.retainedDays),
            layerState: LayerState(layer: member.layer, since: joinDay)
        )
        self.joinOrder.append(member.id)
    }

    /// Records an activity.
    ///
    /// - Throws: ``FissionError/Code/memberNotFound`` for an unknown member;
    ///   ``FissionError/Code/activityBeforeJoin`` for an activity before the member joined;
    ///   ``FissionError/Code/currencyMismatch`` or ``FissionError/Code/negativeAmount`` for a bad
    ///   spend; ``FissionError/Code/arithmeticOverflow``; ``FissionError/Code/invalidDate`` for an
    ///   activity on a day outside years 1 to 9999 in the roster's offset. The roster is unchanged
    ///   when it throws.
    public mutating func record(_ activity: ActivityRecord) throws(FissionError) {
        guard var entry = self.entries[activity.member] else {
            throw FissionError(code: .memberNotFound, reason: "no member \(activity.member)")
        }
        guard activity.at >= entry.member.joinedAt else {
            throw FissionError(
                code: .activityBeforeJoin,
                reason:
                    "activity at \(activity.at) is before member \(activity.member) joined at \(entry.member.joinedAt)"
            )
        }
        let day = try activity.at.checkedCalendarDay(in: self.offset, what: "activity of member \(activity.member)")
        try entry.stats.record(activity.kind, on: day)
        self.entries[activity.member] = entry
    }

    /// Takes a refund back out of a member's recorded spend
    /// (``ActivityStats/recordRefund(_:paidOn:)``): the amount was recorded as a spend at `paidAt`,
    /// and its day's spend and the lifetime spend no longer count it.
    ///
    /// - Throws: ``FissionError/Code/memberNotFound`` for an unknown member;
    ///   ``FissionError/Code/activityBeforeJoin`` for a payment before the member joined;
    ///   ``FissionError/Code/invalidDate`` for a payment on a day outside years 1 to 9999 in the
    ///   roster's offset; ``FissionError/Code/currencyMismatch``,
    ///   ``FissionError/Code/negativeAmount``, or ``FissionError/Code/refundExceedsSpend`` for more
    ///   than the member's kept spend of that day and the spend no kept day holds together
    ///   (``ActivityStats/refundableSpend(paidOn:)``). The roster is unchanged when it throws.
    public mutating func recordRefund(_ amount: Money, of member: MemberID, paidAt: Timestamp) throws(FissionError) {
        guard var entry = self.entries[member] else {
            throw FissionError(code: .memberNotFound, reason: "no member \(member)")
        }
        guard paidAt >= entry.member.joinedAt else {
            throw FissionError(
                code: .activityBeforeJoin,
                reason: "a payment at \(paidAt) is before member \(member) joined at \(entry.member.joinedAt)"
            )
        }
        let day = try paidAt.checkedCalendarDay(in: self.offset, what: "payment refunded to member \(member)")
        try entry.stats.recordRefund(amount, paidOn: day)
        self.entries[member] = entry
    }

    /// Sets a member's tags.
    ///
    /// - Throws: ``FissionError/Code/memberNotFound``.
    public mutating func setTags(_ tags: TagSet, for id: MemberID) throws(FissionError) {
        guard self.entries[id] != nil else {
            throw FissionError(code: .memberNotFound, reason: "no member \(id)")
        }
        self.entries[id]!.member.tags = tags
    }

    /// Puts a member in `layer` by an operator's decision and pins them there.
    ///
    /// - Throws: ``FissionError/Code/memberNotFound``; ``FissionError/Code/unknownLayer`` if the
    ///   policy does not rank `layer`.
    public mutating func assignLayer(_ layer: Layer, to id: MemberID, on day: CalendarDay) throws(FissionError) {
        guard self.entries[id] != nil else {
            throw FissionError(code: .memberNotFound, reason: "no member \(id)")
        }
        guard self.policy.rank(of: layer) != nil else {
            throw FissionError(code: .unknownLayer, reason: "the layering policy has no layer \(layer)")
        }
        let since = self.entries[id]!.member.layer == layer ? self.entries[id]!.layerState.since : day
        self.entries[id]!.layerState = LayerState(layer: layer, since: since, isPinned: true)
        self.entries[id]!.member.layer = layer
    }

    /// Releases an operator's pin so the member's layer is computed again from their activity.
    ///
    /// - Throws: ``FissionError/Code/memberNotFound``.
    public mutating func unpinLayer(of id: MemberID) throws(FissionError) {
        guard let state = self.entries[id]?.layerState else {
            throw FissionError(code: .memberNotFound, reason: "no member \(id)")
        }
        self.entries[id]!.layerState = LayerState(layer: state.layer, since: state.since)
    }

    /// Replaces the layering policy; the next ``reevaluateLayers(on:)`` applies it.
    ///
    /// A longer window than before sees only the days kept under the old one until it fills up:
    /// per-day detail older than the old window was not kept. A shorter window keeps what is
    /// kept: a member's ``ActivityStats/retainedDays`` never goes down, so the days already kept
    /// stay within it (and the entry decodes).
    ///
    /// - Throws: ``FissionError/Code/invalidLayeringPolicy`` if the new policy's currency differs
    ///   (the recorded spend could not be compared).
    public mutating func replacePolicy(_ policy: LayeringPolicy) throws(FissionError) {
        guard policy.currency == self.policy.currency else {
            throw FissionError(
                code: .invalidLayeringPolicy,
                reason: "the roster records spend in \(self.policy.currency); the new policy is in \(policy.currency)"
            )
        }
        for id in self.joinOrder where self.entries[id]!.stats.retainedDays < policy.windowDays {
            self.entries[id]!.stats.retainedDays = policy.windowDays
        }
        self.policy = policy
    }

    /// Re-computes every unpinned member's layer as of `day` and returns who moved, in join order.
    ///
    /// Calling it twice for the same day changes nothing the second time. Activity recorded
    /// after `day` does not count toward it, so a nightly job may re-evaluate yesterday after
    /// today's first records came in. For a day before a member's latest activity, though, only
    /// the per-day detail the roster keeps (``ActivityStats/retainedDays``, the longest window
    /// since the member was added) counts; ``LayeringPolicy/qualifyingLayer(for:on:)`` says when
    /// that is the whole story.
    ///
    /// - Complexity: O(*members* × ``ActivityStats/retainedDays``).
    public mutating func reevaluateLayers(on day: CalendarDay) -> [LayerChange] {
        var changes: [LayerChange] = []
        for id in self.joinOrder {
            let entry = self.entries[id]!
            let next = self.policy.evaluate(entry.layerState, stats: entry.stats, on: day)
            guard next != entry.layerState else { continue }
            self.entries[id]!.layerState = next
            if next.layer != entry.member.layer {
                self.entries[id]!.member.layer = next.layer
                let isPromotion = self.policy.ranks(next.layer, above: entry.member.layer)
                changes.append(
                    LayerChange(member: id, from: entry.member.layer, to: next.layer, isPromotion: isPromotion)
                )
            }
        }
        return changes
    }

    /// Members in `segment`, in join order, one page at a time.
    ///
    /// - Parameters:
    ///   - segment: Which members to return.
    ///   - cursor: Where to continue; `nil` for the first page.
    ///   - limit: The most members to return, 1 to ``maximumPageSize``.
    /// - Throws: ``FissionError/Code/invalidPageSize``.
    /// - Complexity: O(members scanned), at most the roster's size.
    public func members(in segment: Segment, after cursor: Cursor? = nil, limit: Int) throws(FissionError) -> Page {
        guard (1...Self.maximumPageSize).contains(limit) else {
            throw FissionError(code: .invalidPageSize, reason: "limit \(limit) is outside 1...\(Self.maximumPageSize)")
        }
        var found: [Member] = []
        var position = max(cursor?.position ?? 0, 0)
        while position < self.joinOrder.count && found.count < limit {
            let entry = self.entries[self.joinOrder[position]]!
            if segment.contains(entry.member, lastActiveDay: entry.stats.lastActiveDay) {
                found.append(entry.member)
            }
            position += 1
        }
        return Page(members: found, next: position < self.joinOrder.count ? Cursor(position: position) : nil)
    }

    /// Days of per-day activity kept for a new member: the policy's window, so memory stays bounded.
    private var retainedDays: Int { self.policy.windowDays }
}
