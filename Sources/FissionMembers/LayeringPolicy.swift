public import FissionCore

/// What a member must have done in the trailing window to be in a layer. Every stated
/// criterion must hold.
///
/// "Core" as the articles describe it (about twice a week, at least every two to three weeks)
/// is `ActivityRequirement(minimumUses: 6, maximumDaysSinceLastUse: 21)` over a 21-day window.
public struct ActivityRequirement: Hashable, Sendable, Codable {
    /// Uses of the product in the window.
    public let minimumUses: Int64
    /// Spend in the window, if spend counts.
    public let minimumSpend: Money?
    /// Successful invitations in the window.
    public let minimumInvites: Int64
    /// Messages posted in the window.
    public let minimumMessages: Int64
    /// The most days since the last use, if recency counts (0 means "used today").
    public let maximumDaysSinceLastUse: Int64?

    /// Creates a requirement.
    ///
    /// - Throws: ``FissionError/Code/invalidLayeringPolicy`` for a negative threshold or a
    ///   requirement that asks for nothing (it would admit every member).
    public init(
        minimumUses: Int64 = 0,
        minimumSpend: Money? = nil,
        minimumInvites: Int64 = 0,
        minimumMessages: Int64 = 0,
        maximumDaysSinceLastUse: Int64? = nil
    ) throws(FissionError) {
        guard minimumUses >= 0, minimumInvites >= 0, minimumMessages >= 0,
            (minimumSpend?.minorUnits ?? 0) >= 0, (maximumDaysSinceLastUse ?? 0) >= 0
        else {
            throw FissionError(code: .invalidLayeringPolicy, reason: "activity thresholds may not be negative")
        }
        guard
            minimumUses > 0 || minimumInvites > 0 || minimumMessages > 0 || (minimumSpend?.minorUnits ?? 0) > 0
                || maximumDaysSinceLastUse != nil
        else {
            throw FissionError(
                code: .invalidLayeringPolicy,
                reason: "a requirement must ask for something; one that asks for nothing admits every member"
            )
        }
        self.minimumUses = minimumUses
        self.minimumSpend = minimumSpend
        self.minimumInvites = minimumInvites
        self.minimumMessages = minimumMessages
        self.maximumDaysSinceLastUse = maximumDaysSinceLastUse
    }

    /// Whether a member with `summary` over the window, last using the product on `lastUseDay`,
    /// meets the requirement on `day`.
    ///
    /// `lastUseDay` is the last use on or before `day` (``ActivityStats/lastUse(onOrBefore:)``);
    /// a later one fails recency.
    ///
    /// A spend criterion is met only by spend in its own currency: a `summary` whose spend is in
    /// another currency does not meet ``minimumSpend``, whatever the amount (amounts in two
    /// currencies cannot be compared). Without a spend criterion the spend is not looked at.
    public func isMet(by summary: ActivitySummary, lastUseDay: CalendarDay?, on day: CalendarDay) -> Bool {
        guard summary.uses >= self.minimumUses, summary.invites >= self.minimumInvites,
            summary.messages >= self.minimumMessages
        else { return false }
        if let minimumSpend = self.minimumSpend {
            guard summary.spend.currency == minimumSpend.currency,
                summary.spend.minorUnits >= minimumSpend.minorUnits
            else { return false }
        }
        if let maximumDays = self.maximumDaysSinceLastUse {
            guard let lastUseDay, lastUseDay <= day, lastUseDay.days(until: day) <= maximumDays else { return false }
        }
        return true
    }

    /// Decodes a requirement and checks it as ``init(minimumUses:minimumSpend:minimumInvites:minimumMessages:maximumDaysSinceLastUse:)``
    /// does.
    ///
    /// - Throws: `DecodingError.dataCorrupted`, carrying the reason, for a requirement that
    ///   initialiser refuses (a negative threshold, or one that asks for nothing).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let minimumUses = try container.decode(Int64.self, forKey: .minimumUses)
        let minimumSpend = try container.decodeIfPresent(Money.self, forKey: .minimumSpend)
        let minimumInvites = try container.decode(Int64.self, forKey: .minimumInvites)
        let minimumMessages = try container.decode(Int64.self, forKey: .minimumMessages)
        let maximumDaysSinceLastUse = try container.decodeIfPresent(Int64.self, forKey: .maximumDaysSinceLastUse)
        self = try decodeValidated(at: decoder.codingPath) { () throws(FissionError) in
            try Self(
                minimumUses: minimumUses,
                minimumSpend: minimumSpend,
                minimumInvites: minimumInvites,
                minimumMessages: minimumMessages,
                maximumDaysSinceLastUse: maximumDaysSinceLastUse
            )
        }
    }

    private enum CodingKeys: String, CodingKey {
        case minimumUses
        case minimumSpend
        case minimumInvites
        case minimumMessages
        case maximumDaysSinceLastUse
    }

    /// Whether every member who meets `self` also meets `other` (self is at least as strict).
    func implies(_ other: ActivityRequirement) -> Bool {
        self.minimumUses >= other.minimumUses && self.minimumInvites >= other.minimumInvites
            && self.minimumMessages >= other.minimumMessages
            && (self.minimumSpend?.minorUnits ?? 0) >= (other.minimumSpend?.minorUnits ?? 0)
            && {
                guard let otherDays = other.maximumDaysSinceLastUse else { return true }
                guard let selfDays = self.maximumDaysSinceLastUse else { return false }
                return selfDays <= otherDays
            }()
    }
}

/// How members are sorted into layers: ranked tiers with requirements, a fallback layer, the
/// trailing window the requirements are measured over, and a grace period against flapping.
///
/// Tiers are listed highest first. A member is promoted as soon as they meet a higher tier's
/// requirement. They are demoted only when they have failed their current layer's requirement at
/// every evaluation for ``graceDays`` days (counted from the first failing evaluation), and then
/// to the highest tier they do meet (or the fallback); one passing evaluation inside the grace
/// period resets it.
///
/// A tier without a requirement is assigned by operators only (KOLs usually are): the policy ranks
/// it but never computes it. Pin such members with ``MemberRoster/assignLayer(_:to:on:)``.
///
/// ```swift
/// let policy = try LayeringPolicy(
///     tiers: [
///         .init(layer: .kol, requirement: nil),
///         .init(layer: .core, requirement: ActivityRequirement(minimumUses: 6, maximumDaysSinceLastUse: 21)),
///     ],
///     fallback: .ordinary,
///     windowDays: 21,
///     graceDays: 14,
///     currency: .cny
/// )
/// ```
public struct LayeringPolicy: Hashable, Sendable, Codable {
    /// The longest window and grace period, in days.
    public static var maximumDays: Int { 366 }
    /// The most tiers a policy may have.
    public static var maximumTiers: Int { 32 }

    /// One ranked layer and how members reach it.
    public struct Tier: Hashable, Sendable, Codable {
        /// The layer.
        public let layer: Layer
        /// What a member must do to be computed into it; `nil` for operator-assigned layers.
        public let requirement: ActivityRequirement?

        /// Creates a tier.
        public init(layer: Layer, requirement: ActivityRequirement?) {
            self.layer = layer
            self.requirement = requirement
        }
    }

    /// The tiers, highest first.
    public let tiers: [Tier]
    /// The layer of members who meet no tier's requirement; ranked below every tier.
    public let fallback: Layer
    /// The trailing window requirements are measured over, in days (ending today, inclusive).
    public let windowDays: Int
    /// Days a member may fail their layer's requirement before being demoted.
    public let graceDays: Int
    /// The currency spend thresholds are in.
    public let currency: Currency

    /// Creates a policy.
    ///
    /// - Throws: ``FissionError/Code/invalidLayeringPolicy`` for a window or grace period outside
    ///   0...366 (window at least 1), more than 32 tiers, or a spend threshold in another currency;
    ///   ``FissionError/Code/duplicateLayer`` if a layer is listed twice (the fallback included);
    ///   ``FissionError/Code/contradictoryThresholds`` if a lower tier's requirement is at least as
    ///   strict as a higher one's, so that no member could ever be computed into the lower tier.
    public init(
        tiers: [Tier],
        fallback: Layer,
        windowDays: Int,
        graceDays: Int,
        currency: Currency
    ) throws(FissionError) {
        guard (1...Self.maximumDays).contains(windowDays) else {
            throw FissionError(code: .invalidLayeringPolicy, reason: "windowDays \(windowDays) is outside 1...366")
        }
        guard (0...Self.maximumDays).contains(graceDays) else {
            throw FissionError(code: .invalidLayeringPolicy, reason: "graceDays \(graceDays) is outside 0...366")
        }
        guard tiers.count <= Self.maximumTiers else {
            throw FissionError(code: .invalidLayeringPolicy, reason: "\(tiers.count) tiers; at most 32")
        }
        var seen: Set<Layer> = [fallback]
        for tier in tiers {
            guard seen.insert(tier.layer).inserted else {
                throw FissionError(code: .duplicateLayer, reason: "layer \(tier.layer) is listed twice")
            }
            if let spend = tier.requirement?.minimumSpend, spend.currency != currency {
                throw FissionError(
                    code: .invalidLayeringPolicy,
                    reason:
                        "tier \(tier.layer) has a spend threshold in \(spend.currency); the policy is in \(currency)"
                )
            }
        }
        for (higherIndex, higher) in tiers.enumerated() {
            guard let higherRequirement = higher.requirement else { continue }
            for lower in tiers[(higherIndex + 1)...] {
                guard let lowerRequirement = lower.requirement, lowerRequirement.implies(higherRequirement) else {
                    continue
                }
                throw FissionError(
                    code: .contradictoryThresholds,
                    reason: "\(lower.layer) ranks below \(higher.layer) but asks at least as much, "
                        + "so every member who meets it is computed into \(higher.layer)"
                )
            }
        }
        self.tiers = tiers
        self.fallback = fallback
        self.windowDays = windowDays
        self.graceDays = graceDays
        self.currency = currency
    }

    /// Decodes a policy and checks it as ``init(tiers:fallback:windowDays:graceDays:currency:)``
    /// does, so a stored policy that initialiser would refuse (a window of 0 days, a layer listed
    /// twice, contradictory tiers) fails to decode instead of trapping later.
    ///
    /// - Throws: `DecodingError.dataCorrupted`, carrying the reason, for a policy that
    ///   initialiser refuses.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let tiers = try container.decode([Tier].self, forKey: .tiers)
        let fallback = try container.decode(Layer.self, forKey: .fallback)
        let windowDays = try container.decode(Int.self, forKey: .windowDays)
        let graceDays = try container.decode(Int.self, forKey: .graceDays)
        let currency = try container.decode(Currency.self, forKey: .currency)
        self = try decodeValidated(at: decoder.codingPath) { () throws(FissionError) in
            try Self(tiers: tiers, fallback: fallback, windowDays: windowDays, graceDays: graceDays, currency: currency)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case tiers
        case fallback
        case windowDays
        case graceDays
        case currency
    }

    /// The layer's rank: 0 for the highest tier, `tiers.count` for the fallback, `nil` if the
    /// policy does not know the layer.
    public func rank(of layer: Layer) -> Int? {
        if layer == self.fallback { return self.tiers.count }
        return self.tiers.firstIndex { $0.layer == layer }
    }

    /// Whether `layer` ranks at `minimum` or above.
    ///
    /// When the policy ranks both layers, this compares their ranks (see ``rank(of:)``). When it
    /// does not rank one of them, or either, the answer is whether they are the same layer: a
    /// layer the policy does not know is at least itself and nothing else, and no layer is at
    /// least one the policy does not know. FissionGroups' `layerAtLeast` entry rules admit members
    /// by this answer. (``MemberRoster/reevaluateLayers(on:)`` ranks unknown layers below every
    /// known one when it tells a promotion from a demotion.)
    public func isLayer(_ layer: Layer, atLeast minimum: Layer) -> Bool {
        guard let rank = self.rank(of: layer), let minimumRank = self.rank(of: minimum) else {
            return layer == minimum
        }
        return rank <= minimumRank
    }

    /// Whether `layer` ranks strictly above `other`, a layer the policy does not know ranking
    /// below every layer it knows (and alike with another unknown one).
    public func ranks(_ layer: Layer, above other: Layer) -> Bool {
        let unknown = self.tiers.count + 1
        return (self.rank(of: layer) ?? unknown) < (self.rank(of: other) ?? unknown)
    }

    /// The highest computed tier whose requirement `stats` meet on `day`, or the fallback.
    ///
    /// Spend counts only in the policy's ``currency``: stats recorded in another currency meet no
    /// spend requirement (see ``ActivityRequirement/isMet(by:lastUseDay:on:)``). A
    /// ``MemberRoster`` records spend in its policy's currency, so its members' stats always match.
    ///
    /// Recency is measured from the last use on or before `day`
    /// (``ActivityStats/lastUse(onOrBefore:)``), so activity recorded after `day` changes
    /// nothing about `day`.
    ///
    /// The window totals and the last use come from the per-day totals the stats keep,
    /// ``ActivityStats/retainedDays`` days ending on ``ActivityStats/lastActiveDay``. The answer
    /// is the one the whole history gives when the window lies within the kept days (for any day
    /// on or after ``ActivityStats/lastActiveDay`` when ``windowDays`` is at most `retainedDays`,
    /// as in a ``MemberRoster``) and, for a day before ``ActivityStats/lastUseDay``, the
    /// `maximumDaysSinceLastUse + 1` days ending on `day` do too: `day` at least `lastActiveDay`
    /// minus `retainedDays` plus the larger of ``windowDays`` and `maximumDaysSinceLastUse + 1`
    /// days. Otherwise activity before the kept days counts for neither (a member with no use in
    /// the kept days on or before `day` fails every recency criterion), so the answer may rank
    /// the member lower than the whole history would, never higher.
    public func qualifyingLayer(for stats: ActivityStats, on day: CalendarDay) -> Layer {
        let summary = stats.summary(windowDays: self.windowDays, endingOn: day)
        let lastUse = stats.lastUse(onOrBefore: day)
        for tier in self.tiers {
            if let requirement = tier.requirement, requirement.isMet(by: summary, lastUseDay: lastUse, on: day) {
                return tier.layer
            }
        }
        return self.fallback
    }

    /// The member's layer state after evaluating their activity on `day`.
    ///
    /// Pinned members keep their layer. Others are promoted at once to a higher qualifying tier,
    /// or demoted once they have failed their layer for ``graceDays`` days. Which tiers qualify is
    /// ``qualifyingLayer(for:on:)``'s answer, so stats in another currency than the policy's meet
    /// no spend requirement.
    public func evaluate(_ state: LayerState, stats: ActivityStats, on day: CalendarDay) -> LayerState {
        guard !state.isPinned else { return state }
        let qualifying = self.qualifyingLayer(for: stats, on: day)
        guard let currentRank = self.rank(of: state.layer) else {
            // A layer this policy does not know (an older policy's): re-sort at once.
            return LayerState(layer: qualifying, since: day, failingSince: nil, isPinned: false)
        }
        let qualifyingRank = self.rank(of: qualifying)!
        if qualifyingRank < currentRank {
            return LayerState(layer: qualifying, since: day, failingSince: nil, isPinned: false)
        }
        if qualifyingRank == currentRank {
            return LayerState(layer: state.layer, since: state.since, failingSince: nil, isPinned: false)
        }
        let failingSince = min(state.failingSince ?? day, day)
        if failingSince.days(until: day) >= Int64(self.graceDays) {
            return LayerState(layer: qualifying, since: day, failingSince: nil, isPinned: false)
        }
        return LayerState(layer: state.layer, since: state.since, failingSince: failingSince, isPinned: false)
    }
}

/// A member's layer and the bookkeeping that keeps it from flapping.
public struct LayerState: Hashable, Sendable, Codable {
    /// The current layer.
    public let layer: Layer
    /// The day the member entered the layer.
    public let since: CalendarDay
    /// The first day of the current run of days on which the member failed their layer's
    /// requirement; `nil` while they meet it.
    public let failingSince: CalendarDay?
    /// Whether an operator assigned the layer; pinned layers are never recomputed.
    public let isPinned: Bool

    /// Creates a state.
    public init(layer: Layer, since: CalendarDay, failingSince: CalendarDay? = nil, isPinned: Bool = false) {
        self.layer = layer
        self.since = since
        self.failingSince = failingSince
        self.isPinned = isPinned
    }
}
