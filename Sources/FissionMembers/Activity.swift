public import FissionCore

/// Something a member did that counts toward their layer: used the product, spent, invited
/// someone, posted a message.
public struct ActivityRecord: Hashable, Sendable, Codable {
    /// What happened.
    public enum Kind: Hashable, Sendable, Codable {
        /// One use of the product (a visit, a class attended, a run logged).
        case use
        /// A paid amount.
        case spend(Money)
        /// One successful invitation.
        case invite
        /// One message posted in a community group.
        case message
    }

    /// Who did it.
    public let member: MemberID
    /// When.
    public let at: Timestamp
    /// What.
    public let kind: Kind

    /// Creates a record.
    public init(member: MemberID, at: Timestamp, kind: Kind) {
        self.member = member
        self.at = at
        self.kind = kind
    }
}

/// Totals of a member's activity over some days.
public struct ActivitySummary: Hashable, Sendable, Codable {
    /// Uses of the product.
    public var uses: Int64
    /// Amount spent.
    public var spend: Money
    /// Successful invitations.
    public var invites: Int64
    /// Messages posted.
    public var messages: Int64

    /// A summary with nothing in it.
    public static func empty(_ currency: Currency) -> ActivitySummary {
        ActivitySummary(uses: 0, spend: .zero(currency), invites: 0, messages: 0)
    }

    /// Creates a summary.
    public init(uses: Int64, spend: Money, invites: Int64, messages: Int64) {
        self.uses = uses
        self.spend = spend
        self.invites = invites
        self.messages = messages
    }

    /// Adds one record's worth of activity.
    ///
    /// - Throws: ``FissionError/Code/currencyMismatch``, ``FissionError/Code/negativeAmount`` for a
    ///   negative spend, or ``FissionError/Code/arithmeticOverflow``.
    mutating func add(_ kind: ActivityRecord.Kind) throws(FissionError) {
        switch kind {
        case .use: self.uses = try self.uses.checkedAdding(1, "uses")
        case .invite: self.invites = try self.invites.checkedAdding(1, "invites")
        case .message: self.messages = try self.messages.checkedAdding(1, "messages")
        case .spend(let amount):
            guard amount.currency == self.spend.currency else {
                throw FissionError(
                    code: .currencyMismatch,
                    reason: "a spend of \(amount) cannot count toward spend kept in \(self.spend.currency)"
                )
            }
            guard !amount.isNegative else {
                throw FissionError(
                    code: .negativeAmount,
                    reason:
                        "a spend of \(amount) is negative; record a refund with ActivityStats.recordRefund(_:paidOn:)"
                )
            }
            self.spend = try self.spend.adding(amount)
        }
    }

    /// Whether a count or the spend is negative, which recording never makes.
    var isNegative: Bool {
        self.uses < 0 || self.invites < 0 || self.messages < 0 || self.spend.isNegative
    }

    /// Adds another summary.
    mutating func add(_ other: ActivitySummary) throws(FissionError) {
        self.uses = try self.uses.checkedAdding(other.uses, "uses")
        self.invites = try self.invites.checkedAdding(other.invites, "invites")
        self.messages = try self.messages.checkedAdding(other.messages, "messages")
        self.spend = try self.spend.adding(other.spend)
    }
}

/// One member's activity: lifetime totals plus per-day totals for a trailing window.
///
/// Activity only adds up through ``record(_:on:)``; a refund of recorded spend comes back out
/// with ``recordRefund(_:paidOn:)``.
///
/// Per-day buckets are kept for ``retainedDays`` days back from the latest day seen, so memory is
/// bounded whatever the member does. A record older than that still counts in the lifetime
/// totals; it can no longer change a trailing window that ends on or after the latest day.
///
/// Decoding checks what recording keeps true, so stored stats that recording could not have
/// produced fail with `DecodingError.dataCorrupted` (see ``init(from:)``).
public struct ActivityStats: Hashable, Sendable, Codable {
    /// Totals for one calendar day.
    public struct DayTotals: Hashable, Sendable, Codable {
        /// The day.
        public let day: CalendarDay
        /// What happened that day.
        public internal(set) var summary: ActivitySummary
    }

    /// How many days of per-day totals are kept; a roster raises it when its window grows.
    public internal(set) var retainedDays: Int
    /// Everything since the member joined.
    public private(set) var lifetime: ActivitySummary
    /// Per-day totals, oldest first, covering at most ``retainedDays`` days.
    public private(set) var days: [DayTotals]
    /// The last day with a use of the product, if any.
    public private(set) var lastUseDay: CalendarDay?
    /// The last day with any activity, if any.
    public private(set) var lastActiveDay: CalendarDay?

    /// Empty stats keeping `retainedDays` days of detail.
    ///
    /// - Precondition: `retainedDays` is 1 to 3,660.
    public init(currency: Currency, retainedDays: Int) {
        precondition((1...3_660).contains(retainedDays), "retainedDays must be 1...3660, got \(retainedDays)")
        self.retainedDays = retainedDays
        self.lifetime = .empty(currency)
        self.days = []
        self.lastUseDay = nil
        self.lastActiveDay = nil
    }

    /// Decodes stats and checks that recording could have produced them.
    ///
    /// The encoded form is the synthesized one: `retainedDays`, `lifetime`, `days` (each a `day`
    /// and a `summary`), `lastUseDay` and `lastActiveDay`.
    ///
    /// - Throws: `DecodingError.dataCorrupted`, carrying the reason
    ///   (``FissionError/Code/corruptSnapshot``), when ``retainedDays`` is outside 1...3,660; a
    ///   count or spend is negative; the days are not in ascending order without repeats or span
    ///   ``retainedDays`` days or more; a day's spend is in another currency than the lifetime
    ///   spend; the days add up to more than the lifetime totals (or overflow); there are
    ///   lifetime totals but no day; ``lastActiveDay`` is not the last day kept;
    ///   ``lastUseDay`` is set without a use (or missing with one) or after ``lastActiveDay``; a
    ///   kept day after ``lastUseDay`` holds a use; or the kept totals of ``lastUseDay`` hold no
    ///   use while it is the last day kept, or while every use of the lifetime totals is on
    ///   another kept day (recording keeps the use on ``lastUseDay`` in that day's totals unless
    ///   it was recorded, or has since fallen, outside the kept days).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let retainedDays = try container.decode(Int.self, forKey: .retainedDays)
        let lifetime = try container.decode(ActivitySummary.self, forKey: .lifetime)
        let days = try container.decode([DayTotals].self, forKey: .days)
        let lastUseDay = try container.decodeIfPresent(CalendarDay.self, forKey: .lastUseDay)
        let lastActiveDay = try container.decodeIfPresent(CalendarDay.self, forKey: .lastActiveDay)
        try decodeValidated(at: decoder.codingPath) { () throws(FissionError) in
            try Self.check(
                retainedDays: retainedDays,
                lifetime: lifetime,
                days: days,
                lastUseDay: lastUseDay,
                lastActiveDay: lastActiveDay
            )
        }
        self.retainedDays = retainedDays
        self.lifetime = lifetime
        self.days = days
        self.lastUseDay = lastUseDay
        self.lastActiveDay = lastActiveDay
    }

    private enum CodingKeys: String, CodingKey {
        case retainedDays
        case lifetime
        case days
        case lastUseDay
        case lastActiveDay
    }

    /// Throws ``FissionError/Code/corruptSnapshot`` unless recording could have produced stats
    /// with these parts; what ``summary(windowDays:endingOn:)`` relies on among them.
    private static func check(
        retainedDays: Int,
        lifetime: ActivitySummary,
        days: [DayTotals],
        lastUseDay: CalendarDay?,
        lastActiveDay: CalendarDay?
    ) throws(FissionError) {
        func corrupt(_ reason: String) -> FissionError {
            FissionError(code: .corruptSnapshot, reason: "activity stats: \(reason)")
        }
        guard (1...3_660).contains(retainedDays) else {
            throw corrupt("retainedDays \(retainedDays) is outside 1...3660")
        }
        guard !lifetime.isNegative else { throw corrupt("the lifetime totals hold a negative count or spend") }
        var total = ActivitySummary.empty(lifetime.spend.currency)
        for (position, bucket) in days.enumerated() {
            if position > 0 {
                guard days[position - 1].day < bucket.day else {
                    throw corrupt("day \(bucket.day) follows \(days[position - 1].day); days ascend without repeats")
                }
            }
            guard bucket.summary.spend.currency == lifetime.spend.currency else {
                throw corrupt(
                    "the spend of \(bucket.day) is in \(bucket.summary.spend.currency); "
                        + "the lifetime spend is in \(lifetime.spend.currency)"
                )
            }
            guard !bucket.summary.isNegative else { throw corrupt("\(bucket.day) holds a negative count or spend") }
            do {
                try total.add(bucket.summary)
            } catch {
                throw corrupt("the days add up past the 64-bit range")
            }
        }
        if let first = days.first?.day, let last = days.last?.day, first.days(until: last) >= Int64(retainedDays) {
            throw corrupt("days from \(first) to \(last) span more than retainedDays \(retainedDays)")
        }
        guard total.uses <= lifetime.uses, total.invites <= lifetime.invites, total.messages <= lifetime.messages,
            total.spend.minorUnits <= lifetime.spend.minorUnits
        else {
            throw corrupt("the days add up to more than the lifetime totals")
        }
        guard !days.isEmpty || lifetime == .empty(lifetime.spend.currency) else {
            throw corrupt("lifetime totals without a day kept")
        }
        guard lastActiveDay == days.last?.day else {
            throw corrupt("lastActiveDay is not the last day kept")
        }
        guard (lastUseDay != nil) == (lifetime.uses > 0) else {
            throw corrupt(lastUseDay == nil ? "uses without a lastUseDay" : "a lastUseDay without a use")
        }
        if let lastUseDay, let lastActiveDay, lastUseDay > lastActiveDay {
            throw corrupt("lastUseDay \(lastUseDay) is after lastActiveDay \(lastActiveDay)")
        }
        if let lastUseDay {
            // Recording makes lastUseDay the latest day with a use. That day's use stays in its
            // kept totals unless it is not kept (it was older than the kept days when recorded,
            // or has been dropped since), and the last day kept is always kept whole. A window
            // that grew can keep that day again for later records, so its totals alone prove
            // nothing; the lifetime totals must then hold the use the days do not.
            if let latestUse = days.last(where: { $0.summary.uses > 0 })?.day, latestUse > lastUseDay {
                throw corrupt("\(latestUse) holds a use after lastUseDay \(lastUseDay)")
            }
            if (days.last { $0.day == lastUseDay }?.summary.uses ?? 0) == 0 {
                guard lastUseDay != lastActiveDay else {
                    throw corrupt("lastUseDay \(lastUseDay) is the last day kept, which holds no use")
                }
                guard lifetime.uses > total.uses else {
                    throw corrupt(
                        "lastUseDay \(lastUseDay) holds no use, "
                            + "yet every use of the lifetime totals is on another kept day"
                    )
                }
            }
        }
    }

    /// Records one activity on `day`.
    ///
    /// - Throws: ``FissionError/Code/currencyMismatch`` for a spend in another currency,
    ///   ``FissionError/Code/negativeAmount`` for a negative spend,
    ///   ``FissionError/Code/arithmeticOverflow``. The stats are unchanged when it throws.
    /// - Complexity: O(``retainedDays``) at worst, O(1) for activity on the latest day.
    public mutating func record(_ kind: ActivityRecord.Kind, on day: CalendarDay) throws(FissionError) {
        var lifetime = self.lifetime
        try lifetime.add(kind)
        var updated = self
        updated.lifetime = lifetime
        if let latest = updated.days.last?.day, latest.days(until: day) <= -Int64(self.retainedDays) {
            // Too old for the per-day detail; the lifetime totals have it.
        } else {
            try updated.addToDay(kind, day: day)
        }
        if case .use = kind, updated.lastUseDay.map({ $0 < day }) ?? true { updated.lastUseDay = day }
        if updated.lastActiveDay.map({ $0 < day }) ?? true { updated.lastActiveDay = day }
        self = updated
    }

    /// Takes a refunded amount back out of the spend recorded for `day`, the day it was paid.
    ///
    /// The refund lowers the lifetime spend and, while `day` is still one of the kept ``days``,
    /// that day's spend, so a window containing the day no longer counts it (a layer's
    /// requirement then sees the spend without it). Spend that no kept day holds (its day was
    /// dropped, or was already older than the kept days when it was recorded) is in the lifetime
    /// spend only: what the day's kept spend does not cover comes out of that, so the refund may
    /// be at most ``refundableSpend(paidOn:)``. It changes no other count and neither
    /// ``lastActiveDay`` nor ``lastUseDay``: the member was active that day.
    ///
    /// - Parameters:
    ///   - amount: The amount refunded, in the spend's currency; zero changes nothing.
    ///   - day: The day the refunded amount was recorded as spent (``record(_:on:)``).
    /// - Throws: ``FissionError/Code/currencyMismatch`` for another currency,
    ///   ``FissionError/Code/negativeAmount`` for a negative amount,
    ///   ``FissionError/Code/refundExceedsSpend`` for more than `day`'s kept spend and the
    ///   lifetime spend no kept day holds together. The stats are unchanged when it throws.
    /// - Complexity: O(``retainedDays``).
    public mutating func recordRefund(_ amount: Money, paidOn day: CalendarDay) throws(FissionError) {
        let currency = self.lifetime.spend.currency
        guard amount.currency == currency else {
            throw FissionError(
                code: .currencyMismatch,
                reason: "a refund of \(amount) cannot lower spend recorded in \(currency)"
            )
        }
        guard !amount.isNegative else {
            throw FissionError(code: .negativeAmount, reason: "a refund of \(amount) is negative")
        }
        guard amount.minorUnits > 0 else { return }
        let position = self.days.lastIndex { $0.day == day }
        let onDay = position.map { self.days[$0].summary.spend.minorUnits } ?? 0
        let unkept = self.spendNoKeptDayHolds
        let fromDay = min(amount.minorUnits, onDay)
        guard amount.minorUnits - fromDay <= unkept else {
            throw FissionError(
                code: .refundExceedsSpend,
                reason: "a refund of \(amount) paid on \(day) is more than the "
                    + "\(Money(minorUnits: onDay, currency: currency)) of spend kept for that day and the "
                    + "\(Money(minorUnits: unkept, currency: currency)) no kept day holds"
            )
        }
        // The day's spend first, the rest from the spend no kept day holds: neither goes negative,
        // and the kept days never add up to more than the lifetime totals.
        self.lifetime.spend = Money(minorUnits: self.lifetime.spend.minorUnits - amount.minorUnits, currency: currency)
        if let position {
            self.days[position].summary.spend = Money(minorUnits: onDay - fromDay, currency: currency)
        }
    }

    /// How much of the spend recorded for `day` a refund can still take back
    /// (``recordRefund(_:paidOn:)``): the day's kept spend and the spend no kept day holds.
    ///
    /// - Complexity: O(``retainedDays``).
    public func refundableSpend(paidOn day: CalendarDay) -> Money {
        let onDay = self.days.last { $0.day == day }?.summary.spend.minorUnits ?? 0
        // Both within the lifetime spend, which is an Int64.
        return Money(minorUnits: onDay + self.spendNoKeptDayHolds, currency: self.lifetime.spend.currency)
    }

    /// Spend in the lifetime totals only: of days dropped since, or recorded when its day was
    /// already older than the kept days (the window may have grown since, so such a day can be in
    /// the kept range now). It may be any such day's.
    private var spendNoKeptDayHolds: Int64 {
        self.lifetime.spend.minorUnits - self.days.reduce(Int64(0)) { $0 + $1.summary.spend.minorUnits }
    }

    /// The last day on or before `day` with a use of the product, as far as the kept days show.
    ///
    /// On or after ``lastUseDay`` it is ``lastUseDay``, so a use recorded after `day` does not
    /// hide an earlier one. Before ``lastUseDay`` it is the latest of ``days`` on or before `day`
    /// with a use, or `nil` if none has one: per-day detail is kept for ``retainedDays`` days
    /// ending on ``lastActiveDay``, so `nil` then means "no use in the kept days on or before
    /// `day`", not "never" (a use before the kept days counts only in ``lifetime``).
    ///
    /// - Complexity: O(1) on or after ``lastUseDay``, O(``retainedDays``) before it.
    public func lastUse(onOrBefore day: CalendarDay) -> CalendarDay? {
        guard let lastUseDay = self.lastUseDay, lastUseDay > day else { return self.lastUseDay }
        return self.days.last { $0.day <= day && $0.summary.uses > 0 }?.day
    }

    /// Totals over the `windowDays` days that end with `day` (inclusive).
    ///
    /// Only the kept ``days`` count: for a window that reaches back before them (one ending before
    /// ``lastActiveDay`` can), the activity of the days no longer kept is missing from the totals.
    ///
    /// - Complexity: O(``retainedDays``).
    public func summary(windowDays: Int, endingOn day: CalendarDay) -> ActivitySummary {
        var total = ActivitySummary.empty(self.lifetime.spend.currency)
        for bucket in self.days where bucket.day <= day && bucket.day.days(until: day) < Int64(windowDays) {
            // The buckets are in the lifetime currency, not negative, and add up to no more than
            // the lifetime totals: recording keeps it so, and decoding checks it.
            try! total.add(bucket.summary)
        }
        return total
    }

    private mutating func addToDay(_ kind: ActivityRecord.Kind, day: CalendarDay) throws(FissionError) {
        let index = self.days.lastIndex { $0.day <= day }
        if let index, self.days[index].day == day {
            try self.days[index].summary.add(kind)
        } else {
            var totals = DayTotals(day: day, summary: .empty(self.lifetime.spend.currency))
            try totals.summary.add(kind)
            self.days.insert(totals, at: index.map { $0 + 1 } ?? 0)
        }
        // Drop days that fell out of the retained window.
        if let latest = self.days.last?.day {
            let firstKept = self.days.firstIndex { $0.day.days(until: latest) < Int64(self.retainedDays) } ?? 0
            if firstKept > 0 { self.days.removeFirst(firstKept) }
        }
    }
}

extension ActivityStats {
    /// Stats from their parts, checked as ``init(from:)`` checks decoded ones: for binary forms
    /// (the engine's snapshot). ``lastActiveDay`` is the last day kept.
    ///
    /// - Throws: ``FissionError/Code/corruptSnapshot`` for parts recording could not have produced.
    @_spi(FissionCoding) public init(
        retainedDays: Int,
        lifetime: ActivitySummary,
        days: [(day: CalendarDay, summary: ActivitySummary)],
        lastUseDay: CalendarDay?
    ) throws(FissionError) {
        let totals = days.map { DayTotals(day: $0.day, summary: $0.summary) }
        try Self.check(
            retainedDays: retainedDays,
            lifetime: lifetime,
            days: totals,
            lastUseDay: lastUseDay,
            lastActiveDay: totals.last?.day
        )
        self.retainedDays = retainedDays
        self.lifetime = lifetime
        self.days = totals
        self.lastUseDay = lastUseDay
        self.lastActiveDay = totals.last?.day
    }
}
