import FissionCore

extension CheckInBoard {
    /// One member's streak in one activity, as encoded.
    private struct EncodedStreak: Codable {
        let member: MemberID
        let activity: CheckInActivityID
        /// Runs of consecutive days, ascending: each `[first, last]`.
        let runs: [[CalendarDay]]
        let longest: Int
        /// The milestones already reported, ascending.
        let reportedMilestones: [Int]
        let makeUpMonth: Int
        let makeUpsUsed: Int
        let forgottenThrough: CalendarDay?
    }

    private enum CodingKeys: String, CodingKey {
        case offset
        case settings
        case capacity
        case activities
        case streaks
    }

    /// Encodes the board: its offset, settings, activities (sorted) and streaks (sorted by member,
    /// then activity), so equal boards encode to equal bytes.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.offset, forKey: .offset)
        try container.encode(self.settings, forKey: .settings)
        // Only a capacity other than the default: a board made without one encodes as it always did.
        if self.capacity != Self.maximumStreaks { try container.encode(self.capacity, forKey: .capacity) }
        try container.encode(self.activities.sorted(), forKey: .activities)
        let keys = self.states.keys.sorted { ($0.member, $0.activity) < ($1.member, $1.activity) }
        let streaks = keys.map { key in
            let state = self.states[key]!
            return EncodedStreak(
                member: key.member,
                activity: key.activity,
                runs: state.runs.map { [CalendarDay(unchecked: $0.first), CalendarDay(unchecked: $0.last)] },
                longest: state.longest,
                reportedMilestones: self.settings.milestones.indices.filter { state.reported & (1 << UInt64($0)) != 0 }
                    .map { self.settings.milestones[$0] },
                makeUpMonth: state.makeUpMonth,
                makeUpsUsed: state.makeUpsUsed,
                forgottenThrough: state.forgottenThrough.map { CalendarDay(unchecked: $0) }
            )
        }
        try container.encode(streaks, forKey: .streaks)
    }

    /// Decodes a board and checks every invariant a board keeps.
    ///
    /// - Throws: `DecodingError.dataCorrupted` for too many activities, a capacity below 1, an activity a
    ///   streak names but the list lacks, a repeated streak, runs out of order, overlapping or
    ///   touching, a longest streak shorter than a run, reported milestones other than those up to
    ///   the longest streak, or make-ups over the monthly limit.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            offset: try container.decode(UTCOffset.self, forKey: .offset),
            settings: try container.decode(CheckInSettings.self, forKey: .settings)
        )
        let activities = try container.decode([CheckInActivityID].self, forKey: .activities)
        self.activities = Set(activities)
        guard self.activities.count == activities.count, activities.count <= Self.maximumActivities else {
            throw DecodingError.dataCorruptedError(
                forKey: .activities,
                in: container,
                debugDescription: "activities repeat or number more than \(Self.maximumActivities)"
            )
        }
        let capacity = try container.decodeIfPresent(Int.self, forKey: .capacity) ?? Self.maximumStreaks
        let streaks = try container.decode([EncodedStreak].self, forKey: .streaks)
        guard capacity >= 1 else {
            throw DecodingError.dataCorruptedError(
                forKey: .capacity,
                in: container,
                debugDescription: "a capacity of \(capacity); it must be 1 or more"
            )
        }
        self.capacity = capacity
        self.states.reserveCapacity(streaks.count)
        for streak in streaks {
            let key = Key(member: streak.member, activity: streak.activity)
            guard self.activities.contains(streak.activity), self.states[key] == nil else {
                throw DecodingError.dataCorruptedError(
                    forKey: .streaks,
                    in: container,
                    debugDescription:
                        "streak of \(streak.member) in \(streak.activity) repeats or names an unknown activity"
                )
            }
            guard let state = Self.validatedState(streak, settings: self.settings) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .streaks,
                    in: container,
                    debugDescription: "streak of \(streak.member) in \(streak.activity) is inconsistent"
                )
            }
            self.states[key] = state
        }
    }

    /// The state an encoded streak describes, or `nil` if it breaks an invariant.
    private static func validatedState(_ streak: EncodedStreak, settings: CheckInSettings) -> State? {
        var state = State()
        var previousLast: Int64? = streak.forgottenThrough?.daysSinceEpoch
        var longestRun = 0
        for run in streak.runs {
            guard run.count == 2, run[0] <= run[1] else { return nil }
            let first = run[0].daysSinceEpoch
            let last = run[1].daysSinceEpoch
            // Runs are ascending and apart by at least one missed day.
            if let previousLast, first <= previousLast + 1 { return nil }
            previousLast = last
            longestRun = max(longestRun, Int(last - first + 1))
            state.runs.append(Run(first: first, last: last))
        }
        if streak.forgottenThrough != nil && streak.runs.isEmpty { return nil }
        guard streak.longest >= longestRun, streak.longest <= Int(CalendarDay.first.days(until: CalendarDay.last)) + 1
        else {
            return nil
        }
        state.longest = streak.longest
        // Every milestone up to the longest streak was reported when it was reached, and no other.
        guard streak.reportedMilestones == settings.milestones.filter({ $0 <= streak.longest }) else { return nil }
        for index in settings.milestones.indices where settings.milestones[index] <= streak.longest {
            state.reported |= 1 << UInt64(index)
        }
        guard (0...settings.makeUpsPerMonth).contains(streak.makeUpsUsed), streak.makeUpMonth >= 0 else {
            return nil
        }
        state.makeUpMonth = streak.makeUpMonth
        state.makeUpsUsed = streak.makeUpsUsed
        state.forgottenThrough = streak.forgottenThrough?.daysSinceEpoch
        return state
    }
}
