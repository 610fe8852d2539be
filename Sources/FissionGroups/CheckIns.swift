public import FissionCore
public import FissionMembers

/// How a group's check-ins reward streaks and forgive missed days.
public struct CheckInSettings: Hashable, Sendable, Codable {
    /// The most milestones.
    public static var maximumMilestones: Int { 64 }
    /// The longest milestone, in days.
    public static var maximumMilestoneDays: Int { 3_660 }

    /// Milestones at 3, 7 and 30 days; two make-up check-ins a month.
    public static let standard = CheckInSettings(validatedMilestones: [3, 7, 30], makeUpsPerMonth: 2)

    /// Streak lengths, in days, that are reported once each when first reached; ascending.
    public let milestones: [Int]
    /// Make-up check-ins a member may use per calendar month per activity; 0 turns them off.
    public let makeUpsPerMonth: Int

    /// Creates settings.
    ///
    /// - Parameters:
    ///   - milestones: Distinct streak lengths, 1 to ``maximumMilestoneDays``, at most
    ///     ``maximumMilestones``; any order.
    ///   - makeUpsPerMonth: 0 to 31.
    /// - Throws: ``FissionError/Code/invalidCheckInSettings`` when a value is out of range or a
    ///   milestone repeats.
    public init(milestones: [Int], makeUpsPerMonth: Int) throws(FissionError) {
        let sorted = milestones.sorted()
        guard sorted.count <= Self.maximumMilestones,
            sorted.allSatisfy({ (1...Self.maximumMilestoneDays).contains($0) }),
            zip(sorted, sorted.dropFirst()).allSatisfy({ $0 < $1 })
        else {
            throw FissionError(
                code: .invalidCheckInSettings,
                reason: "milestones \(milestones) must be distinct, 1...\(Self.maximumMilestoneDays) days, at most "
                    + "\(Self.maximumMilestones)"
            )
        }
        guard (0...31).contains(makeUpsPerMonth) else {
            throw FissionError(
                code: .invalidCheckInSettings,
                reason: "makeUpsPerMonth \(makeUpsPerMonth) is outside 0...31"
            )
        }
        self.init(validatedMilestones: sorted, makeUpsPerMonth: makeUpsPerMonth)
    }

    private init(validatedMilestones milestones: [Int], makeUpsPerMonth: Int) {
        self.milestones = milestones
        self.makeUpsPerMonth = makeUpsPerMonth
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        do {
            try self.init(
                milestones: container.decode([Int].self, forKey: .milestones),
                makeUpsPerMonth: container.decode(Int.self, forKey: .makeUpsPerMonth)
            )
        } catch let error as FissionError {
            throw DecodingError.dataCorruptedError(forKey: .milestones, in: container, debugDescription: error.reason)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case milestones
        case makeUpsPerMonth
    }
}

/// A member's streak in one activity.
public struct Streak: Hashable, Sendable, Codable {
    /// Consecutive days up to today, or up to yesterday if they have not checked in yet today; 0
    /// once a day is missed.
    public let current: Int
    /// The longest run of consecutive days ever.
    public let longest: Int
    /// The latest day checked in, if any.
    public let lastDay: CalendarDay?
}

/// What a check-in did.
public struct CheckInReceipt: Hashable, Sendable {
    /// The calendar day checked in, in the group's offset.
    public let day: CalendarDay
    /// Whether it was a make-up for a missed day.
    public let isMakeUp: Bool
    /// The member's streak after it.
    public let streak: Streak
    /// Milestones reached for the first time by this check-in, ascending; each is reported once
    /// per member and activity, ever.
    public let milestonesReached: [Int]
}

/// A group's check-ins: at most one per member per activity per calendar day, streaks,
/// milestones and make-ups. A pure value.
///
/// Days are calendar days in the group's UTC offset: at UTC+8, 15:59:59.999Z and 16:00Z are
/// different days. A make-up check-in fills a missed day of the current month, before today,
/// at most ``CheckInSettings/makeUpsPerMonth`` times a month; it can join two runs into one streak.
///
/// "Joined" means joined the group when the host says so: pass the member's
/// ``Membership/since`` (from ``GroupDirectory/membership(of:in:)``) as `inGroupSince`, and no
/// check-in or make-up may predate the group join. Without it, only the community join
/// (``FissionMembers/Member/joinedAt``) bounds them.
///
/// The board never records a day twice for a member and activity: a check-in or make-up dated
/// before the member's latest check-in is refused when the host's clock says "today" is earlier
/// than that check-in, and days older than the runs the board keeps are refused too.
///
/// The board tracks at most ``capacity`` member and activity pairs (``maximumStreaks`` unless made
/// with another); it keeps each pair for good, because milestones are reported once ever. Call
/// ``forget(_:)`` for members who left the group for good to make room.
///
/// In `Codable` form the board lists its activities and its streaks sorted by member and
/// activity, so the same board always encodes to the same bytes; decoding checks every invariant.
public struct CheckInBoard: Hashable, Sendable, Codable {
    /// The most distinct activities one board tracks.
    public static var maximumActivities: Int { 64 }
    /// The most member and activity pairs a board tracks unless it is made with another
    /// ``capacity``: enough for a group, not for a whole community.
    public static var maximumStreaks: Int { 1 << 20 }

    struct Key: Hashable, Sendable {
        let member: MemberID
        let activity: CheckInActivityID
    }

    /// Consecutive days, as days since 1970.
    struct Run: Hashable, Sendable {
        var first: Int64
        var last: Int64
    }

    struct State: Hashable, Sendable {
        /// Runs of consecutive days, ascending, apart by at least one missed day; runs that can no
        /// longer change are dropped (``longest`` remembers them).
        var runs: [Run] = []
        var longest = 0
        /// Bit *i* is set once milestone *i* was reported.
        var reported: UInt64 = 0
        /// year × 12 + month of ``makeUpsUsed``.
        var makeUpMonth = 0
        var makeUpsUsed = 0
        /// The latest day of the runs dropped so far; no day up to it may be recorded again.
        var forgottenThrough: Int64?
    }

    /// The UTC offset that decides calendar days.
    public let offset: UTCOffset
    /// Milestones and make-ups.
    public let settings: CheckInSettings
    /// The most member and activity pairs the board tracks; past it a new pair is
    /// ``FissionError/Code/checkInBoardFull``.
    public internal(set) var capacity: Int = CheckInBoard.maximumStreaks
    var states: [Key: State] = [:]
    var activities: Set<CheckInActivityID> = []

    /// Creates an empty board that tracks up to ``maximumStreaks`` member and activity pairs.
    ///
    /// - Parameters:
    ///   - offset: The group's UTC offset (``CommunityGroup/offset``).
    ///   - settings: Milestones and make-ups.
    public init(offset: UTCOffset, settings: CheckInSettings = .standard) {
        self.offset = offset
        self.settings = settings
    }

    /// Creates an empty board that tracks up to `capacity` member and activity pairs: for a board
    /// of a whole community, larger than a group's ``maximumStreaks``. Each pair takes about 350
    /// bytes of memory.
    ///
    /// - Throws: ``FissionError/Code/invalidCheckInSettings`` for a capacity below 1.
    public init(offset: UTCOffset, settings: CheckInSettings = .standard, capacity: Int) throws(FissionError) {
        self.init(offset: offset, settings: settings)
        try self.setCapacity(capacity)
    }

    /// Changes how many member and activity pairs the board may track.
    ///
    /// The capacity limits new pairs only: a board set below the pairs it tracks already
    /// (``streakCount``) keeps them, and refuses new ones until ``forget(_:)`` brings it below.
    ///
    /// - Throws: ``FissionError/Code/invalidCheckInSettings`` for a capacity below 1; the board is
    ///   unchanged.
    public mutating func setCapacity(_ capacity: Int) throws(FissionError) {
        guard capacity >= 1 else {
            throw FissionError(code: .invalidCheckInSettings, reason: "a capacity of \(capacity) pairs; 1 or more")
        }
        self.capacity = capacity
    }

    /// Checks a member in to an activity for the calendar day of `instant`.
    ///
    /// - Parameters:
    ///   - member: The member; check-ins before ``FissionMembers/Member/joinedAt`` are refused.
    ///   - activity: The activity, such as `"morning-run"`.
    ///   - instant: When (the host's clock).
    ///   - inGroupSince: When the member entered the group (``Membership/since``); check-ins
    ///     before it are refused too. `nil` checks only the community join.
    /// - Returns: The day, the streak after it and the milestones it reached.
    /// - Throws: ``FissionError/Code/checkInBeforeJoin``; ``FissionError/Code/alreadyCheckedIn``
    ///   for a second check-in the same day; ``FissionError/Code/checkInOutOfOrder`` for a day
    ///   before the latest check-in (use ``makeUp(_:activity:day:at:inGroupSince:)`` for missed
    ///   days); ``FissionError/Code/invalidCheckInSettings`` past ``maximumActivities`` activities;
    ///   ``FissionError/Code/checkInBoardFull`` past ``capacity`` pairs;
    ///   ``FissionError/Code/invalidDate`` for an instant whose day in the board's offset is outside
    ///   years 1 to 9999 (hours from ``FissionCore/Timestamp/earliest`` or ``FissionCore/Timestamp/latest``).
    ///   The board is unchanged when it throws.
    /// - Complexity: O(*r*) in the member's retained runs (at most about 32).
    public mutating func checkIn(
        _ member: Member,
        activity: CheckInActivityID,
        at instant: Timestamp,
        inGroupSince: Timestamp? = nil
    ) throws(FissionError) -> CheckInReceipt {
        try self.checkIn(member, activity: activity, at: instant, inGroupSince: inGroupSince, ignoringCapacity: false)
    }

    /// ``checkIn(_:activity:at:inGroupSince:)``, with the capacity checked or not: the engine
    /// replays a check-in its journal committed even on a board whose capacity is now lower.
    package mutating func checkIn(
        _ member: Member,
        activity: CheckInActivityID,
        at instant: Timestamp,
        inGroupSince: Timestamp?,
        ignoringCapacity: Bool
    ) throws(FissionError) -> CheckInReceipt {
        let joined = max(member.joinedAt, inGroupSince ?? member.joinedAt)
        guard instant >= joined else {
            throw FissionError(
                code: .checkInBeforeJoin,
                reason: "check-in at \(instant) is before member \(member.id) joined at \(joined)"
            )
        }
        let day = try instant.checkedCalendarDay(in: self.offset, what: "check-in")
        let key = Key(member: member.id, activity: activity)
        var state = try self.state(for: key, ignoringCapacity: ignoringCapacity)
        if state.contains(day.daysSinceEpoch) {
            throw FissionError(
                code: .alreadyCheckedIn,
                reason: "member \(member.id) already checked in to \(activity) on \(day)"
            )
        }
        if let last = state.latestDay, day.daysSinceEpoch < last {
            throw FissionError(
                code: .checkInOutOfOrder,
                reason:
                    "\(day) is before the latest check-in on \(CalendarDay(unchecked: last)); make up missed days instead"
            )
        }
        let reached = self.insert(day.daysSinceEpoch, into: &state)
        self.activities.insert(activity)
        self.states[key] = state
        return CheckInReceipt(
            day: day,
            isMakeUp: false,
            streak: Self.streak(state, today: day.daysSinceEpoch),
            milestonesReached: reached
        )
    }

    /// Fills a missed day of the current month with a make-up check-in.
    ///
    /// - Parameters:
    ///   - member: The member.
    ///   - activity: The activity.
    ///   - day: The missed day: before today, in today's calendar month, on or after the day the
    ///     member joined (the group, when `inGroupSince` is given).
    ///   - now: The host's clock, which decides "today"; it may not be before the member's latest
    ///     check-in.
    ///   - inGroupSince: When the member entered the group (``Membership/since``); make-ups for
    ///     days before its calendar day are refused. `nil` checks only the community join.
    /// - Returns: The day, the streak after it and the milestones it reached.
    /// - Throws: ``FissionError/Code/makeUpNotAllowed`` when make-ups are off or used up this
    ///   month, or `day` is today, in the future or in another month;
    ///   ``FissionError/Code/checkInOutOfOrder`` when today is before the member's latest check-in
    ///   (a clock that went back) or `day` is older than the runs the board keeps;
    ///   ``FissionError/Code/checkInBeforeJoin``; ``FissionError/Code/alreadyCheckedIn``;
    ///   ``FissionError/Code/invalidCheckInSettings`` past ``maximumActivities`` activities;
    ///   ``FissionError/Code/checkInBoardFull`` past ``capacity`` pairs. The board is
    ///   unchanged when it throws.
    public mutating func makeUp(
        _ member: Member,
        activity: CheckInActivityID,
        day: CalendarDay,
        at now: Timestamp,
        inGroupSince: Timestamp? = nil
    ) throws(FissionError) -> CheckInReceipt {
        try self.makeUp(
            member,
            activity: activity,
            day: day,
            at: now,
            inGroupSince: inGroupSince,
            ignoringCapacity: false
        )
    }

    /// ``makeUp(_:activity:day:at:inGroupSince:)``, with the capacity checked or not: the engine
    /// replays a make-up its journal committed even on a board whose capacity is now lower.
    package mutating func makeUp(
        _ member: Member,
        activity: CheckInActivityID,
        day: CalendarDay,
        at now: Timestamp,
        inGroupSince: Timestamp?,
        ignoringCapacity: Bool
    ) throws(FissionError) -> CheckInReceipt {
        let today = now.calendarDay(in: self.offset)
        let (year, month, _) = today.components
        let (dayYear, dayMonth, _) = day.components
        guard day < today, year == dayYear, month == dayMonth else {
            throw FissionError(code: .makeUpNotAllowed, reason: "\(day) is not an earlier day of \(today)'s month")
        }
        let joined = max(member.joinedAt, inGroupSince ?? member.joinedAt)
        guard day >= joined.calendarDay(in: self.offset), now >= joined else {
            throw FissionError(code: .checkInBeforeJoin, reason: "member \(member.id) joined after \(day)")
        }
        let key = Key(member: member.id, activity: activity)
        var state = try self.state(for: key, ignoringCapacity: ignoringCapacity)
        if let last = state.latestDay, today.daysSinceEpoch < last {
            throw FissionError(
                code: .checkInOutOfOrder,
                reason: "today, \(today), is before the latest check-in on \(CalendarDay(unchecked: last))"
            )
        }
        if let forgotten = state.forgottenThrough, day.daysSinceEpoch <= forgotten {
            throw FissionError(code: .checkInOutOfOrder, reason: "\(day) is older than the check-ins the board keeps")
        }
        if state.contains(day.daysSinceEpoch) {
            throw FissionError(code: .alreadyCheckedIn, reason: "member \(member.id) already checked in on \(day)")
        }
        let monthKey = year * 12 + month
        let used = state.makeUpMonth == monthKey ? state.makeUpsUsed : 0
        guard used < self.settings.makeUpsPerMonth else {
            throw FissionError(
                code: .makeUpNotAllowed,
                reason: "member \(member.id) used \(used) of \(self.settings.makeUpsPerMonth) make-ups this month"
            )
        }
        state.makeUpMonth = monthKey
        state.makeUpsUsed = used + 1
        let reached = self.insert(day.daysSinceEpoch, into: &state)
        self.activities.insert(activity)
        self.states[key] = state
        return CheckInReceipt(
            day: day,
            isMakeUp: true,
            streak: Self.streak(state, today: today.daysSinceEpoch),
            milestonesReached: reached
        )
    }

    /// The member's streak in an activity as of the calendar day of `now`.
    public func streak(of member: MemberID, activity: CheckInActivityID, asOf now: Timestamp) -> Streak {
        guard let state = self.states[Key(member: member, activity: activity)] else {
            return Streak(current: 0, longest: 0, lastDay: nil)
        }
        return Self.streak(state, today: now.calendarDay(in: self.offset).daysSinceEpoch)
    }

    /// Whether the member checked in to the activity on `day` (only recent days are kept: the
    /// current and previous month at least).
    public func hasCheckedIn(_ member: MemberID, activity: CheckInActivityID, on day: CalendarDay) -> Bool {
        self.states[Key(member: member, activity: activity)]?.contains(day.daysSinceEpoch) ?? false
    }

    /// The number of member and activity pairs the board tracks: at most ``capacity``, unless the
    /// capacity was lowered below it.
    public var streakCount: Int { self.states.count }

    /// Forgets everything about a member: their streaks, and which milestones they were told of.
    ///
    /// Use it for members who left the group for good, to keep the board below its
    /// ``capacity``. A forgotten member who comes back starts from nothing, and can reach
    /// (and be told of) the same milestones again.
    ///
    /// - Complexity: O(*a*) in the board's activities.
    public mutating func forget(_ member: MemberID) {
        for activity in self.activities { self.states[Key(member: member, activity: activity)] = nil }
    }

    /// The member's state for an activity, or a new one if the board has room for it.
    private func state(for key: Key, ignoringCapacity: Bool = false) throws(FissionError) -> State {
        if let state = self.states[key] { return state }
        guard self.activities.contains(key.activity) || self.activities.count < Self.maximumActivities else {
            throw FissionError(
                code: .invalidCheckInSettings,
                reason: "a board tracks at most \(Self.maximumActivities) activities"
            )
        }
        guard ignoringCapacity || self.states.count < self.capacity else {
            throw FissionError(
                code: .checkInBoardFull,
                reason: "the board tracks \(self.capacity) member and activity pairs; forget members who left"
            )
        }
        return State()
    }

    /// Adds `day` to the runs; returns the milestones newly reached by the run that holds it.
    private func insert(_ day: Int64, into state: inout State) -> [Int] {
        var index = state.runs.firstIndex { $0.first > day } ?? state.runs.count
        let joinsLeft = index > 0 && state.runs[index - 1].last == day - 1
        let joinsRight = index < state.runs.count && state.runs[index].first == day + 1
        switch (joinsLeft, joinsRight) {
        case (true, true):
            state.runs[index - 1].last = state.runs[index].last
            state.runs.remove(at: index)
            index -= 1
        case (true, false):
            state.runs[index - 1].last = day
            index -= 1
        case (false, true):
            state.runs[index].first = day
        case (false, false):
            state.runs.insert(Run(first: day, last: day), at: index)
        }
        let length = Int(state.runs[index].last - state.runs[index].first + 1)
        state.longest = max(state.longest, length)
        var reached: [Int] = []
        for (milestoneIndex, milestone) in self.settings.milestones.enumerated() where milestone <= length {
            let bit: UInt64 = 1 << UInt64(milestoneIndex)
            if state.reported & bit == 0 {
                state.reported |= bit
                reached.append(milestone)
            }
        }
        // A make-up reaches back at most into the current month, so older runs can never grow
        // again; keep the last one (the current streak) and anything from the last 62 days. The
        // days of the dropped runs stay closed (forgottenThrough), so none is recorded twice.
        if let latest = state.runs.last?.last {
            let keepFrom = state.runs.firstIndex { $0.last >= latest - 62 } ?? state.runs.count - 1
            if keepFrom > 0 {
                state.forgottenThrough = state.runs[keepFrom - 1].last
                state.runs.removeFirst(keepFrom)
            }
        }
        return reached
    }

    private static func streak(_ state: State, today: Int64) -> Streak {
        let last = state.runs.last
        let current: Int
        if let last, last.last >= today - 1 {
            // The latest run counts while it reaches yesterday or later.
            current = Int(last.last - last.first + 1)
        } else {
            current = 0
        }
        return Streak(current: current, longest: state.longest, lastDay: last.map { CalendarDay(unchecked: $0.last) })
    }
}

extension CheckInBoard.State {
    func contains(_ day: Int64) -> Bool {
        self.runs.contains { $0.first <= day && day <= $0.last }
    }

    /// The latest day checked in, if any.
    var latestDay: Int64? { self.runs.last?.last }
}
