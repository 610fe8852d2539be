import FissionCore
import FissionMembers

extension GroupDirectory {
    /// One group as encoded: its settings, its series, and its log.
    private struct EncodedGroup: Codable {
        let group: CommunityGroup
        let series: GroupSeriesID
        let log: [MembershipEvent]
    }

    private enum CodingKeys: String, CodingKey {
        case policy
        case series
        case groups
        case lastSequence
    }

    /// Encodes the policy, the series, the groups with their logs in the order they were added,
    /// and the latest sequence number.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.policy, forKey: .policy)
        try container.encode(self.seriesList, forKey: .series)
        let groups = self.records.map {
            EncodedGroup(group: $0.group, series: self.seriesList[$0.seriesIndex].id, log: $0.log)
        }
        try container.encode(groups, forKey: .groups)
        try container.encode(self.lastSequence, forKey: .lastSequence)
    }

    /// Decodes a directory and replays each group's log to rebuild its members and attribution.
    ///
    /// - Throws: `DecodingError.dataCorrupted` when a limit is passed, an id repeats, a series'
    ///   group list does not match the groups that name it, or a log is not one the directory
    ///   could have written: an event of another group, out of time order, a sequence number that
    ///   repeats or passes the latest, a member entering twice or leaving a group they are not in,
    ///   a member count that differs from the replay, or a member in two groups of one series.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(policy: try container.decode(LayeringPolicy.self, forKey: .policy))
        do {
            try self.restore(
                series: container.decode([GroupSeries].self, forKey: .series),
                groups: container.decode([EncodedGroup].self, forKey: .groups),
                lastSequence: container.decode(Int64.self, forKey: .lastSequence)
            )
        } catch let error as FissionError {
            throw DecodingError.dataCorruptedError(forKey: .groups, in: container, debugDescription: error.reason)
        }
    }

    private mutating func restore(
        series: [GroupSeries],
        groups: [EncodedGroup],
        lastSequence: Int64
    ) throws(FissionError) {
        guard series.count <= Self.maximumSeries, groups.count <= Self.maximumGroups, lastSequence >= 0 else {
            throw Self.corrupt("too many series or groups, or a negative sequence number")
        }
        for (index, item) in series.enumerated() {
            guard self.seriesIndices.updateValue(index, forKey: item.id) == nil else {
                throw Self.corrupt("series \(item.id) repeats")
            }
        }
        self.seriesList = series
        self.seriesGroupIndices = Array(repeating: [], count: series.count)
        var sequences: [Int64] = []
        for (index, encoded) in groups.enumerated() {
            guard let seriesIndex = self.seriesIndices[encoded.series] else {
                throw Self.corrupt("group \(encoded.group.id) names an unknown series \(encoded.series)")
            }
            guard self.recordIndices.updateValue(index, forKey: encoded.group.id) == nil else {
                throw Self.corrupt("group \(encoded.group.id) repeats")
            }
            let record = try Self.replay(encoded, seriesIndex: seriesIndex)
            for member in record.members.keys {
                let placement = Placement(member: member, seriesIndex: seriesIndex)
                guard self.placements.updateValue(index, forKey: placement) == nil else {
                    throw Self.corrupt("member \(member) is in two groups of series \(encoded.series)")
                }
            }
            sequences.append(contentsOf: encoded.log.lazy.map(\.sequence))
            self.records.append(record)
        }
        for (seriesIndex, item) in series.enumerated() {
            for group in item.groups {
                guard let index = self.recordIndices[group], self.records[index].seriesIndex == seriesIndex else {
                    throw Self.corrupt("series \(item.id) lists group \(group), which is not one of its groups")
                }
                self.seriesGroupIndices[seriesIndex].append(index)
            }
        }
        guard self.seriesGroupIndices.reduce(0, { $0 + $1.count }) == groups.count else {
            throw Self.corrupt("a group is missing from its series' list")
        }
        sequences.sort()
        guard zip(sequences, sequences.dropFirst()).allSatisfy({ $0 < $1 }),
            sequences.first.map({ $0 >= 1 }) ?? true, sequences.last.map({ $0 <= lastSequence }) ?? true
        else {
            throw Self.corrupt("event sequence numbers repeat or fall outside 1...\(lastSequence)")
        }
        self.lastSequence = lastSequence
    }

    /// Rebuilds a group's members and attribution from its log, checking the log on the way.
    private static func replay(_ encoded: EncodedGroup, seriesIndex: Int) throws(FissionError) -> GroupRecord {
        let group = encoded.group
        guard encoded.log.count <= CommunityGroup.maximumLogEntries else {
            throw Self.corrupt("group \(group.id)'s log is longer than \(CommunityGroup.maximumLogEntries)")
        }
        var record = GroupRecord(group: group, seriesIndex: seriesIndex, members: [:], log: [], attribution: .init())
        var previous: MembershipEvent?
        for event in encoded.log {
            guard event.group == group.id else {
                throw Self.corrupt("group \(group.id)'s log holds an event of group \(event.group)")
            }
            if let previous, event.at < previous.at || event.sequence <= previous.sequence {
                throw Self.corrupt("group \(group.id)'s log is out of order at sequence \(event.sequence)")
            }
            previous = event
            let isMember = record.members[event.member] != nil
            switch event.kind {
            case .joined(let inviter, let channel):
                guard !isMember else { throw Self.corrupt("member \(event.member) joins \(group.id) twice") }
                record.members[event.member] = Membership(
                    member: event.member,
                    since: event.at,
                    invitedBy: inviter,
                    channel: channel
                )
                record.attribution.recordEntry(of: event.member, invitedBy: inviter, at: event.at)
            case .movedIn:
                guard !isMember else { throw Self.corrupt("member \(event.member) enters \(group.id) twice") }
                record.members[event.member] = Membership(
                    member: event.member,
                    since: event.at,
                    invitedBy: nil,
                    channel: nil
                )
                record.attribution.recordEntry(of: event.member, invitedBy: nil, at: event.at)
            case .left, .removed, .movedOut:
                guard isMember else {
                    throw Self.corrupt("member \(event.member) leaves \(group.id) without being in it")
                }
                record.members[event.member] = nil
                record.attribution.recordExit(of: event.member, at: event.at)
            }
        }
        guard record.members.count == group.memberCount else {
            throw Self.corrupt(
                "group \(group.id) says \(group.memberCount) members; its log gives \(record.members.count)"
            )
        }
        record.log = encoded.log
        return record
    }

    private static func corrupt(_ reason: String) -> FissionError {
        FissionError(code: .invalidGroupSettings, reason: reason)
    }
}
