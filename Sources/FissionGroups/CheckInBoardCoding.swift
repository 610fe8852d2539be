@_spi(FissionCoding) package import FissionCore

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
        var runs: [Run] = []
        runs.reserveCapacity(streak.runs.count)
        for run in streak.runs {
            guard run.count == 2 else { return nil }
            runs.append(Run(first: run[0].daysSinceEpoch, last: run[1].daysSinceEpoch))
        }
        // Every milestone up to the longest streak was reported when it was reached, and no other.
        guard streak.reportedMilestones == settings.milestones.filter({ $0 <= streak.longest }) else { return nil }
        return Self.validatedState(
            runs: runs,
            longest: streak.longest,
            makeUpMonth: streak.makeUpMonth,
            makeUpsUsed: streak.makeUpsUsed,
            forgottenThrough: streak.forgottenThrough?.daysSinceEpoch,
            settings: settings
        )
    }

    /// The state these parts describe, or `nil` if they break an invariant: both encodings read
    /// through it. The reported milestones are those up to `longest`, as a board reports them.
    private static func validatedState(
        runs: [Run],
        longest: Int,
        makeUpMonth: Int,
        makeUpsUsed: Int,
        forgottenThrough: Int64?,
        settings: CheckInSettings
    ) -> State? {
        let days = CalendarDay.first.daysSinceEpoch...CalendarDay.last.daysSinceEpoch
        var previousLast = forgottenThrough
        var longestRun = 0
        if let forgottenThrough {
            guard days.contains(forgottenThrough), !runs.isEmpty else { return nil }
        }
        for run in runs {
            guard days.contains(run.first), days.contains(run.last), run.first <= run.last else { return nil }
            // Runs are ascending and apart by at least one missed day.
            if let previousLast, run.first <= previousLast + 1 { return nil }
            previousLast = run.last
            longestRun = max(longestRun, Int(run.last - run.first + 1))
        }
        guard longest >= longestRun, longest <= Int(CalendarDay.first.days(until: CalendarDay.last)) + 1 else {
            return nil
        }
        guard (0...settings.makeUpsPerMonth).contains(makeUpsUsed), makeUpMonth >= 0 else { return nil }
        var state = State()
        state.runs = runs
        state.longest = longest
        for index in settings.milestones.indices where settings.milestones[index] <= longest {
            state.reported |= 1 << UInt64(index)
        }
        state.makeUpMonth = makeUpMonth
        state.makeUpsUsed = makeUpsUsed
        state.forgottenThrough = forgottenThrough
        return state
    }
}

// The binary form, for the engine's snapshot (Decision 0029): the JSON above took about 9 seconds
// each way for a board of a million pairs.
//
// offset (Int32 seconds) · milestone count (UInt8) and each milestone (UInt16, ascending) ·
// make-ups per month (UInt8) · capacity (Int64) · activity count (UInt8) and each activity
// (identifier, ascending) · pair count (UInt32) and each pair, ascending by member then activity:
// member (identifier), activity (UInt8, its position in the list), run count (UInt32) and each
// run's first and last day (Int32 days since 1970), longest streak (UInt32), make-up month
// (Int64), make-ups used (UInt8), forgotten-through day (UInt8 flag, then Int32 when 1).
// Reported milestones are not written: a board reports exactly those up to the longest streak.
extension CheckInBoard {
    /// Appends the board's binary form.
    ///
    /// - Throws: ``FissionError/Code/capacityExceeded`` for a board of 2^32 pairs or more, which
    ///   the form's 32-bit count cannot hold.
    package func encode(into writer: inout ByteWriter) throws(FissionError) {
        guard self.states.count <= Int(UInt32.max) else {
            throw FissionError(
                code: FissionError.Code("capacityExceeded"),  // FissionGraph's code; this module does not import it
                reason: "a check-in board of \(self.states.count) pairs; its binary form holds fewer than 2^32"
            )
        }
        writer.append(self.offset.seconds)
        writer.append(UInt8(self.settings.milestones.count))
        for milestone in self.settings.milestones { writer.append(UInt16(milestone)) }
        writer.append(UInt8(self.settings.makeUpsPerMonth))
        writer.append(Int64(self.capacity))
        let activities = self.activities.sorted()
        writer.append(UInt8(activities.count))
        var positions: [CheckInActivityID: UInt8] = [:]
        for (position, activity) in activities.enumerated() {
            writer.append(identifier: activity)
            positions[activity] = UInt8(position)
        }
        writer.append(UInt32(self.states.count))
        // Ascending by member, then activity: equal boards give equal bytes.
        let pairs = self.states.sorted { ($0.key.member, $0.key.activity) < ($1.key.member, $1.key.activity) }
        for (key, state) in pairs {
            writer.append(identifier: key.member)
            writer.append(positions[key.activity]!)
            writer.append(UInt32(state.runs.count))
            // Days of years 1 to 9999 (checked when recorded and when read), so they fit.
            for run in state.runs {
                writer.append(Int32(run.first))
                writer.append(Int32(run.last))
            }
            writer.append(UInt32(state.longest))
            writer.append(Int64(state.makeUpMonth))
            writer.append(UInt8(state.makeUpsUsed))
            if let forgotten = state.forgottenThrough {
                writer.append(UInt8(1))
                writer.append(Int32(forgotten))
            } else {
                writer.append(UInt8(0))
            }
        }
    }

    /// Reads a board written by ``encode(into:)``, checking every invariant the JSON decoding
    /// checks.
    ///
    /// - Throws: ``FissionCore/FissionError/Code/corruptSnapshot`` for truncated bytes or a board
    ///   that breaks an invariant (settings out of range, activities repeated, out of order or
    ///   more than ``maximumActivities``, pairs repeated or out of order, a streak whose runs,
    ///   longest streak or make-ups could not have been recorded).
    package init(binary reader: inout ByteReader) throws(FissionError) {
        let offset: UTCOffset
        let settings: CheckInSettings
        do throws(FissionError) {
            offset = try UTCOffset(seconds: Int(reader.read() as Int32))
            let milestoneCount: UInt8 = try reader.read()
            var milestones: [Int] = []
            for _ in 0..<milestoneCount { milestones.append(Int(try reader.read() as UInt16)) }
            settings = try CheckInSettings(milestones: milestones, makeUpsPerMonth: Int(reader.read() as UInt8))
            // Written ascending, as settings keep them: other bytes are not an encoded board's.
            guard settings.milestones == milestones else { throw Self.corrupt("milestones out of order") }
        } catch {
            throw error.code == .corruptSnapshot ? error : Self.corrupt(error.reason)
        }
        self.init(offset: offset, settings: settings)
        let capacity: Int64 = try reader.read()
        guard capacity >= 1 else { throw Self.corrupt("a capacity of \(capacity)") }
        self.capacity = Int(capacity)
        let activityCount: UInt8 = try reader.read()
        guard activityCount <= Self.maximumActivities else {
            throw Self.corrupt("\(activityCount) activities, more than \(Self.maximumActivities)")
        }
        var activities: [CheckInActivityID] = []
        for _ in 0..<activityCount {
            let activity: CheckInActivityID = try reader.readIdentifier()
            guard activities.last.map({ $0 < activity }) ?? true else {
                throw Self.corrupt("activity \(activity) repeated or out of order")
            }
            activities.append(activity)
        }
        self.activities = Set(activities)
        let pairCount: UInt32 = try reader.read()
        // A pair takes at least 23 bytes (a one-letter member id, no runs): a corrupt count fails
        // before anything is reserved.
        guard Int(pairCount) <= reader.remaining / 23 else { throw Self.corrupt("\(pairCount) pairs in fewer bytes") }
        self.states.reserveCapacity(Int(pairCount))
        var previous: Key?
        for _ in 0..<pairCount {
            let member: MemberID = try reader.readIdentifier()
            let position: UInt8 = try reader.read()
            guard Int(position) < activities.count else { throw Self.corrupt("activity number \(position)") }
            let key = Key(member: member, activity: activities[Int(position)])
            guard previous.map({ ($0.member, $0.activity) < (key.member, key.activity) }) ?? true else {
                throw Self.corrupt("the streak of \(member) in \(key.activity) repeated or out of order")
            }
            previous = key
            let runCount: UInt32 = try reader.read()
            guard Int(runCount) <= reader.remaining / 8 else { throw Self.corrupt("\(runCount) runs in fewer bytes") }
            var runs: [Run] = []
            runs.reserveCapacity(Int(runCount))
            for _ in 0..<runCount {
                let first: Int32 = try reader.read()
                let last: Int32 = try reader.read()
                runs.append(Run(first: Int64(first), last: Int64(last)))
            }
            let longest: UInt32 = try reader.read()
            let makeUpMonth: Int64 = try reader.read()
            let makeUpsUsed: UInt8 = try reader.read()
            let forgotten: Int64?
            switch try reader.read() as UInt8 {
            case 0: forgotten = nil
            case 1: forgotten = Int64(try reader.read() as Int32)
            case let flag: throw Self.corrupt("a flag byte \(flag)")
            }
            guard
                let state = Self.validatedState(
                    runs: runs,
                    longest: Int(longest),
                    makeUpMonth: Int(makeUpMonth),
                    makeUpsUsed: Int(makeUpsUsed),
                    forgottenThrough: forgotten,
                    settings: settings
                )
            else {
                throw Self.corrupt("the streak of \(member) in \(key.activity) is inconsistent")
            }
            self.states[key] = state
        }
    }

    private static func corrupt(_ reason: String) -> FissionError {
        FissionError(code: .corruptSnapshot, reason: "a check-in board's bytes: \(reason)")
    }
}
