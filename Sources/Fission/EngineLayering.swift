@_spi(FissionCoding) public import FissionCore
@_spi(FissionCoding) public import FissionMembers

// Layers computed from members' activity (Decision 0032). Off until `trackActivity` applies, so a
// store that never asks for it keeps no activity and writes the snapshot it always wrote. Once on,
// the engine records what its own commands show a member did (an invitation bound, an order paid,
// a check-in, a message) and what the host reports (`recordActivity`), and `evaluateLayers` moves
// members between the configured policy's layers. Every part of it is in the journal, so a replay
// and a restored snapshot agree.

/// Members' activity and layer bookkeeping, at their graph index like the member table.
struct MemberLayering: Sendable, Hashable {
    /// Each member's activity.
    var stats: [ActivityStats]
    /// Each member's layer state; its layer is always the member's.
    var states: [LayerState]
    /// The earliest day an evaluation may be for: the day tracking began, then the latest day
    /// evaluated. Going back would start failing runs earlier and shorten the grace.
    var earliestEvaluation: CalendarDay
    /// Whether a refund takes the refunded amount back out of the buyer's spend (Decision 0033):
    /// set by `trackActivity`, and unset only for tracking begun by a journal entry written
    /// before refunds counted (tag 35), until a later `trackActivity` turns it on. The orders
    /// paid while it is set keep the day their amount was counted on (`OrderRecord.paidDay`).
    var countsRefunds: Bool
}

extension EngineState {
    /// Whether the engine records members' activity and computes their layers: set by
    /// ``EngineCommand/trackActivity``.
    public var tracksActivity: Bool { self.layering != nil }

    /// A member's activity as the engine has recorded it since it began tracking activity, or
    /// `nil` for an unknown member or before ``EngineCommand/trackActivity``.
    public func activity(of member: MemberID) -> ActivityStats? {
        guard let layering = self.layering, let index = self.graph.index(of: member) else { return nil }
        return layering.stats[Int(index.rawValue)]
    }

    /// A member's layer bookkeeping (since when, failing since when, pinned or not), or `nil` for
    /// an unknown member or before ``EngineCommand/trackActivity``.
    public func layerState(of member: MemberID) -> LayerState? {
        guard let layering = self.layering, let index = self.graph.index(of: member) else { return nil }
        return layering.states[Int(index.rawValue)]
    }

    /// Registered members in `segment`, in registration order, a page at a time: what
    /// ``FissionMembers/MemberRoster/members(in:after:limit:)`` answers for a roster, for the
    /// engine's members (their tags and layers as the engine keeps them, their last active day
    /// from the activity it tracks).
    ///
    /// - Throws: ``FissionError/Code/invalidPageSize`` for a limit outside 1 to
    ///   ``FissionMembers/MemberRoster/maximumPageSize``; ``FissionError/Code/activityNotTracked``
    ///   for a segment that asks for recent activity (`activeSince`) while the engine does not
    ///   track activity, which would match nobody.
    /// - Complexity: O(members scanned), at most the number of members.
    public func members(
        in segment: Segment,
        after cursor: MemberRoster.Cursor? = nil,
        limit: Int
    ) throws(FissionError) -> MemberRoster.Page {
        guard (1...MemberRoster.maximumPageSize).contains(limit) else {
            throw FissionError(
                code: .invalidPageSize,
                reason: "limit \(limit) is outside 1...\(MemberRoster.maximumPageSize)"
            )
        }
        if segment.activeSince != nil, self.layering == nil {
            throw Self.notTracking("select members by recent activity")
        }
        var found: [Member] = []
        var position = max(cursor?.position ?? 0, 0)
        while position < self.registeredMembers.count && found.count < limit {
            let member = self.registeredMembers[position]
            if segment.contains(member, lastActiveDay: self.layering?.stats[position].lastActiveDay) {
                found.append(member)
            }
            position += 1
        }
        return MemberRoster.Page(
            members: found,
            next: position < self.registeredMembers.count ? MemberRoster.Cursor(position: position) : nil
        )
    }

    /// Days of daily detail kept per member under `policy`: its window, or the longest recency any
    /// tier asks for and the day of the last use, whichever is longer, and one day more, so that an
    /// evaluation of yesterday after today's first activity still sees its whole window (at most
    /// 3,660, what ``FissionMembers/ActivityStats`` keeps).
    static func retainedDays(under policy: LayeringPolicy) -> Int {
        let recency = policy.tiers.compactMap { $0.requirement?.maximumDaysSinceLastUse }.max() ?? 0
        let needed = max(Int64(policy.windowDays), min(recency, 3_659) + 1)
        return Int(min(needed + 1, 3_660))
    }

    /// The community's calendar day at `instant` (in ``FissionEngine/Configuration/checkInOffset``),
    /// kept within years 1 to 9999: activity in the first or last hours of the timestamp range
    /// counts on the nearest day a ``CalendarDay`` can hold.
    func communityDay(at instant: Timestamp) -> CalendarDay {
        min(max(instant.calendarDay(in: self.checkIns.offset), CalendarDay.first), CalendarDay.last)
    }

    /// Whether a refund of an order paid while activity is tracked takes the refunded amount back
    /// out of the buyer's spend: true once ``EngineCommand/trackActivity`` applies, except in a
    /// store whose tracking began before refunds counted (its `trackActivity` journaled by a
    /// Fission of session 16), until ``EngineCommand/trackActivity`` is submitted again, with a new
    /// key (a retry of the first one's key returns its stored outcome).
    public var activityCountsRefunds: Bool { self.layering?.countsRefunds ?? false }

    /// Starts tracking: every registered member gets empty activity and their current layer,
    /// pinned if an operator set one (anything but ordinary), since `now`'s day. On an engine
    /// that tracks without counting refunds (`countingRefunds` and tracking begun by a journal
    /// entry of tag 35), refunds count from now on, for orders paid from now on.
    mutating func startTrackingActivity(at now: Timestamp, countingRefunds: Bool) throws(FissionError) {
        if let layering = self.layering {
            guard countingRefunds, !layering.countsRefunds else {
                throw FissionError(code: .activityAlreadyTracked, reason: "the engine already tracks members' activity")
            }
            self.layering!.countsRefunds = true
            return
        }
        let policy = self.groups.policy
        let day = self.communityDay(at: now)
        let empty = ActivityStats(currency: policy.currency, retainedDays: Self.retainedDays(under: policy))
        self.layering = MemberLayering(
            stats: Array(repeating: empty, count: self.registeredMembers.count),
            states: self.registeredMembers.map {
                LayerState(layer: $0.layer, since: day, isPinned: $0.layer != .ordinary)
            },
            earliestEvaluation: day,
            countsRefunds: countingRefunds
        )
    }

    /// Adds a newly registered member (the last of the member table) to the tracked ones.
    mutating func trackNewMember(at now: Timestamp) {
        guard self.layering != nil else { return }
        let policy = self.groups.policy
        self.layering!.stats.append(
            ActivityStats(currency: policy.currency, retainedDays: Self.retainedDays(under: policy))
        )
        self.layering!.states.append(
            LayerState(
                layer: self.registeredMembers[self.registeredMembers.count - 1].layer,
                since: self.communityDay(at: now)
            )
        )
    }

    /// Records what a command showed a member did, when the engine tracks activity. Never fails
    /// the command: a spend in another currency than the policy's is not counted, nor is activity
    /// a member's totals cannot hold (past the 64-bit range), and either leaves the stats as they were.
    mutating func noteActivity(_ kind: ActivityRecord.Kind, of member: MemberIndex, at now: Timestamp) {
        guard self.layering != nil else { return }
        if case .spend(let amount) = kind, amount.currency != self.groups.policy.currency { return }
        let day = self.communityDay(at: now)
        try? self.layering!.stats[Int(member.rawValue)].record(kind, on: day)
    }

    /// Records a paid order's net amount as its buyer's spend, when the engine tracks activity.
    ///
    /// - Returns: The order's ``OrderRecord/paidDay``: the day the amount was counted on while
    ///   refunds count, else ``OrderRecord/notCounted``.
    mutating func noteOrderSpend(_ amount: Money, of buyer: MemberIndex, at now: Timestamp) -> Int32 {
        guard self.layering != nil, amount.currency == self.groups.policy.currency else {
            return OrderRecord.notCounted
        }
        let day = self.communityDay(at: now)
        guard (try? self.layering!.stats[Int(buyer.rawValue)].record(.spend(amount), on: day)) != nil,
            self.layering!.countsRefunds
        else { return OrderRecord.notCounted }
        // Years 1 to 9999 are within ±3,000,000 days of 1970.
        return Int32(day.daysSinceEpoch)
    }

    /// Takes a refund of `order` back out of its buyer's spend on the day it was counted, when it
    /// was counted while refunds count: as much of it as the day still holds (the host's
    /// `recordRefund` may have taken some of it already), or, once the day is no longer kept, as
    /// much as the spend no kept day holds. Never fails the refund.
    mutating func noteRefund(_ amount: Money, of order: OrderRecord) {
        guard self.layering != nil, order.paidDay != OrderRecord.notCounted,
            let index = self.graph.index(of: order.buyer)
        else { return }
        let day = CalendarDay(unchecked: Int64(order.paidDay))
        let stats = self.layering!.stats[Int(index.rawValue)]
        // A kept day holds the order's amount, less what the host's `recordRefund` took of it;
        // once the day is dropped, the amount is in the spend no kept day holds.
        let isKept = stats.days.first.map { day >= $0.day } ?? false
        let holds = isKept ? stats.summary(windowDays: 1, endingOn: day).spend : stats.refundableSpend(paidOn: day)
        let taken = Money(minorUnits: min(amount.minorUnits, holds.minorUnits), currency: amount.currency)
        // In the policy's currency (the order was counted), not negative, within what the day holds.
        try? self.layering!.stats[Int(index.rawValue)].recordRefund(taken, paidOn: day)
    }

    /// The index-based `noteActivity` for a registered member named by id, looked up only when the
    /// engine tracks activity.
    mutating func noteActivity(_ kind: ActivityRecord.Kind, of member: MemberID, at now: Timestamp) {
        guard self.layering != nil, let index = self.graph.index(of: member) else { return }
        self.noteActivity(kind, of: index, at: now)
    }

    /// Records a use from a check-in, unless the member already has a use that day: a member
    /// checking in to two activities, or again after ``EngineCommand/forgetCheckIns(_:)``, used the
    /// product once that day.
    mutating func noteUse(of member: MemberID, at now: Timestamp) {
        guard self.layering != nil, let index = self.graph.index(of: member) else { return }
        guard self.layering!.stats[Int(index.rawValue)].lastUseDay != self.communityDay(at: now) else { return }
        self.noteActivity(.use, of: index, at: now)
    }

    /// The host's report of a member's activity (``EngineCommand/recordActivity(_:kind:)``).
    mutating func recordActivity(
        _ kind: ActivityRecord.Kind,
        of member: MemberID,
        at now: Timestamp
    ) throws(FissionError) {
        guard let index = self.graph.index(of: member) else { throw Self.unknown(member) }
        guard self.layering != nil else { throw Self.notTracking("record activity") }
        let day = try now.checkedCalendarDay(in: self.checkIns.offset, what: "activity of member \(member)")
        // Unchanged when it throws (a spend in another currency, negative, or past the 64-bit range).
        try self.layering!.stats[Int(index.rawValue)].record(kind, on: day)
    }

    /// The host's refund of spend it reported (``EngineCommand/recordRefund(_:amount:paidOn:)``).
    mutating func recordRefund(
        _ amount: Money,
        of member: MemberID,
        paidOn day: CalendarDay,
        at now: Timestamp
    ) throws(FissionError) {
        guard let index = self.graph.index(of: member) else { throw Self.unknown(member) }
        guard self.layering != nil else { throw Self.notTracking("take back spend") }
        let today = self.communityDay(at: now)
        guard day <= today else {
            throw FissionError(
                code: .invalidDate,
                reason: "spend refunded as paid on \(day), after today (\(today)) in the community's calendar"
            )
        }
        let joined = self.communityDay(at: self.registeredMembers[Int(index.rawValue)].joinedAt)
        guard day >= joined else {
            throw FissionError(
                code: .activityBeforeJoin,
                reason: "spend refunded as paid on \(day), before member \(member) joined (\(joined))"
            )
        }
        // Unchanged when it throws (another currency, negative, more than the day's spend).
        try self.layering!.stats[Int(index.rawValue)].recordRefund(amount, paidOn: day)
    }

    /// Puts a member in `layer` (``EngineCommand/setMemberLayer(_:layer:)``); while activity is
    /// tracked, the layer is pinned, as an operator's decision.
    mutating func setLayer(_ layer: Layer, of index: MemberIndex, at now: Timestamp) {
        let position = Int(index.rawValue)
        if self.layering != nil {
            let current = self.layering!.states[position]
            let since = current.layer == layer ? current.since : self.communityDay(at: now)
            self.layering!.states[position] = LayerState(layer: layer, since: since, isPinned: true)
        }
        self.registeredMembers[position].layer = layer
    }

    /// Releases an operator's pin (``EngineCommand/unpinMemberLayer(_:)``): the member's layer is
    /// computed from their activity again at the next evaluation. A member who is not pinned stays
    /// as they are.
    mutating func unpinLayer(of member: MemberID) throws(FissionError) {
        guard let index = self.graph.index(of: member) else { throw Self.unknown(member) }
        guard self.layering != nil else { throw Self.notTracking("unpin a layer") }
        let state = self.layering!.states[Int(index.rawValue)]
        // Unpinned already: keep their failing run, or an unpin would restart their grace.
        guard state.isPinned else { return }
        self.layering!.states[Int(index.rawValue)] = LayerState(layer: state.layer, since: state.since)
    }

    /// Re-computes every unpinned member's layer as of `day` under the layering policy, as
    /// ``FissionMembers/MemberRoster/reevaluateLayers(on:)`` does, reporting each move in
    /// registration order.
    mutating func evaluateLayers(
        on day: CalendarDay,
        at now: Timestamp,
        _ effects: inout [EngineEffect]
    ) throws(FissionError) {
        guard self.layering != nil else { throw Self.notTracking("evaluate layers") }
        let today = self.communityDay(at: now)
        guard day <= today else {
            throw FissionError(
                code: .invalidDate,
                reason: "layers can be evaluated up to today (\(today)) in the community's calendar, not on \(day)"
            )
        }
        let earliest = self.layering!.earliestEvaluation
        guard day >= earliest else {
            throw FissionError(
                code: .invalidDate,
                reason: "layers were evaluated through \(earliest) (or tracked from it): an evaluation on \(day) "
                    + "would start failing runs earlier and cut members' grace short"
            )
        }
        self.layering!.earliestEvaluation = day
        let policy = self.groups.policy
        for position in self.registeredMembers.indices {
            let state = self.layering!.states[position]
            let next = policy.evaluate(state, stats: self.layering!.stats[position], on: day)
            guard next != state else { continue }
            self.layering!.states[position] = next
            let member = self.registeredMembers[position]
            guard next.layer != member.layer else { continue }
            self.registeredMembers[position].layer = next.layer
            let isPromotion = policy.ranks(next.layer, above: member.layer)
            effects.append(.layerChanged(member.id, from: member.layer, to: next.layer, isPromotion: isPromotion))
        }
    }

    private static func notTracking(_ what: String) -> FissionError {
        FissionError(
            code: .activityNotTracked,
            reason: "cannot \(what): the engine does not track members' activity; submit trackActivity first"
        )
    }
}

extension FissionError.Code {
    /// A layering command (``EngineCommand/recordActivity(_:kind:)``,
    /// ``EngineCommand/recordRefund(_:amount:paidOn:)``, ``EngineCommand/evaluateLayers(on:)``,
    /// ``EngineCommand/unpinMemberLayer(_:)``), or a
    /// segment query asking for recent activity (``EngineState/members(in:after:limit:)``), before
    /// ``EngineCommand/trackActivity``.
    public static let activityNotTracked = Self("activityNotTracked")
    /// ``EngineCommand/trackActivity`` when the engine already tracks activity (and counts
    /// refunds: on an engine that tracks without them, it turns them on).
    public static let activityAlreadyTracked = Self("activityAlreadyTracked")
}

// MARK: - The snapshot's layering section (versions 6 and 7)

extension ByteWriter {
    /// Appends each member's activity and layer state, in graph-index order. Spend is written as
    /// minor units: it is always in the layering policy's currency.
    mutating func append(layering: MemberLayering) {
        self.append(layering.earliestEvaluation.daysSinceEpoch)
        self.append(UInt32(layering.stats.count))
        for (stats, state) in zip(layering.stats, layering.states) {
            self.append(summary: stats.lifetime)
            self.append(UInt32(stats.days.count))
            for bucket in stats.days {
                self.append(bucket.day.daysSinceEpoch)
                self.append(summary: bucket.summary)
            }
            self.append(optionalDay: stats.lastUseDay)
            self.append(string: state.layer.name)
            self.append(state.since.daysSinceEpoch)
            self.append(optionalDay: state.failingSince)
            self.append(bool: state.isPinned)
        }
    }

    private mutating func append(summary: ActivitySummary) {
        self.append(summary.uses)
        self.append(summary.spend.minorUnits)
        self.append(summary.invites)
        self.append(summary.messages)
    }

    private mutating func append(optionalDay day: CalendarDay?) {
        self.append(bool: day != nil)
        if let day { self.append(day.daysSinceEpoch) }
    }
}

extension ByteReader {
    /// Reads what ``ByteWriter/append(layering:)`` wrote for `members` (the restored member table),
    /// checking each member's stats as decoding checks them, that each layer state is the
    /// member's layer and a pinned one has no failing run, and that no day is after `today` (the
    /// restored clock's day in the community's calendar): the engine records and evaluates nothing
    /// later.
    mutating func readLayering(
        members: [Member],
        policy: LayeringPolicy,
        today: CalendarDay
    ) throws(FissionError) -> MemberLayering {
        let earliestEvaluation = try self.readDay()
        guard earliestEvaluation <= today else {
            throw FissionError(
                code: .corruptSnapshot,
                reason: "layers evaluated through \(earliestEvaluation), after the engine's clock (\(today))"
            )
        }
        let count: UInt32 = try self.read()
        guard Int(count) == members.count else {
            throw FissionError(
                code: .corruptSnapshot,
                reason: "activity of \(count) members; the snapshot holds \(members.count)"
            )
        }
        var layering = MemberLayering(
            stats: [],
            states: [],
            earliestEvaluation: earliestEvaluation,
            countsRefunds: false
        )
        layering.stats.reserveCapacity(members.count)
        layering.states.reserveCapacity(members.count)
        for member in members {
            do throws(FissionError) {
                let lifetime = try self.readSummary(policy.currency)
                // A kept day takes 40 bytes: a corrupt count fails before anything is reserved.
                let dayCount: UInt32 = try self.read()
                guard Int(dayCount) <= min(EngineState.retainedDays(under: policy), self.remaining / 40) else {
                    throw Self.corrupt("\(dayCount) days of activity")
                }
                var days: [(day: CalendarDay, summary: ActivitySummary)] = []
                for _ in 0..<dayCount { days.append((try self.readDay(), try self.readSummary(policy.currency))) }
                let lastUseDay = try self.readBool() ? try self.readDay() : nil
                let stats = try ActivityStats(
                    retainedDays: EngineState.retainedDays(under: policy),
                    lifetime: lifetime,
                    days: days,
                    lastUseDay: lastUseDay
                )
                let layer = try Layer(self.readString())
                let since = try self.readDay()
                let failingSince = try self.readBool() ? try self.readDay() : nil
                let state = LayerState(
                    layer: layer,
                    since: since,
                    failingSince: failingSince,
                    isPinned: try self.readBool()
                )
                guard state.layer == member.layer else {
                    throw Self.corrupt("a layer state in \(state.layer); the member is in \(member.layer)")
                }
                guard !state.isPinned || state.failingSince == nil else {
                    throw Self.corrupt("a pinned layer with a failing run")
                }
                // The last day kept is the latest with activity (lastUseDay is not after it).
                guard (stats.lastActiveDay ?? .first) <= today, state.since <= today,
                    (state.failingSince ?? .first) <= today
                else {
                    throw Self.corrupt("a day after the engine's clock (\(today))")
                }
                layering.stats.append(stats)
                layering.states.append(state)
            } catch {
                throw FissionError(code: .corruptSnapshot, reason: "activity of member \(member.id): \(error.reason)")
            }
        }
        return layering
    }

    private mutating func readSummary(_ currency: Currency) throws(FissionError) -> ActivitySummary {
        let uses: Int64 = try self.read()
        let spend = Money(minorUnits: try self.read(), currency: currency)
        return ActivitySummary(uses: uses, spend: spend, invites: try self.read(), messages: try self.read())
    }

    private mutating func readDay() throws(FissionError) -> CalendarDay {
        let days: Int64 = try self.read()
        guard let day = CalendarDay(daysSinceEpoch: days) else {
            throw Self.corrupt("a day \(days) days from 1970, outside years 1 to 9999")
        }
        return day
    }
}
