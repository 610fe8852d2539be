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
            guard !amount.isNegative else {
                throw FissionError(
                    code: .negativeAmount,
                    reason: "a spend of \(amount) is negative; record refunds apart"
                )
            }
            self.spend = try self.spend.adding(amount)
        }
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
/// Per-day buckets are kept for ``retainedDays`` days back from the latest day seen, so memory is
/// bounded whatever the member does. A record older than that still counts in the lifetime
/// totals; it can no longer change a trailing window that ends on or after the latest day.
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

    /// Totals over the `windowDays` days that end with `day` (inclusive).
    ///
    /// - Complexity: O(``retainedDays``).
    public func summary(windowDays: Int, endingOn day: CalendarDay) -> ActivitySummary {
        var total = ActivitySummary.empty(self.lifetime.spend.currency)
        for bucket in self.days where bucket.day <= day && bucket.day.days(until: day) < Int64(windowDays) {
            // Each bucket is a part of the lifetime totals, which did not overflow.
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
