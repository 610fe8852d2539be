@_spi(FissionCoding) package import FissionCore
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
    ///   a join that ``join(_:facts:into:invitedBy:channel:at:)`` refuses (a member inviting
    ///   themselves, a channel that is empty, longer than
    ///   ``FissionMembers/JoinSource/maximumChannelUTF8Length`` or holds a control character), a move
    ///   from a group into itself, a member count that differs from the replay, or a member in two
    ///   groups of one series.
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
        // Each event is one entry of one group's log, and logs never shrink: a directory can never
        // number more events than its groups' logs hold (a larger number would overflow later).
        guard series.count <= Self.maximumSeries, groups.count <= Self.maximumGroups, lastSequence >= 0,
            lastSequence <= Int64(groups.count) * Int64(CommunityGroup.maximumLogEntries)
        else {
            throw Self.corrupt(
                "too many series or groups, or a sequence number (\(lastSequence)) outside what the logs can hold"
            )
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
                // What `join` refuses, a log cannot hold either.
                guard inviter != event.member else {
                    throw Self.corrupt("member \(event.member) invites themselves into \(group.id)")
                }
                if let channel {
                    do {
                        try validateName(
                            channel,
                            what: "channel",
                            maximumUTF8Length: JoinSource.maximumChannelUTF8Length,
                            code: .invalidGroupSettings
                        )
                    } catch {
                        throw Self.corrupt("member \(event.member)'s join of \(group.id): \(error.reason)")
                    }
                }
                record.members[event.member] = Membership(
                    member: event.member,
                    since: event.at,
                    invitedBy: inviter,
                    channel: channel
                )
                record.attribution.recordEntry(of: event.member, invitedBy: inviter, at: event.at)
            case .movedIn(let source):
                guard !isMember else { throw Self.corrupt("member \(event.member) enters \(group.id) twice") }
                guard source != group.id else {
                    throw Self.corrupt("member \(event.member) moves into \(group.id) from itself")
                }
                record.members[event.member] = Membership(
                    member: event.member,
                    since: event.at,
                    invitedBy: nil,
                    channel: nil
                )
                record.attribution.recordEntry(of: event.member, invitedBy: nil, at: event.at)
            case .left, .removed, .movedOut:
                if case .movedOut(let destination) = event.kind, destination == group.id {
                    throw Self.corrupt("member \(event.member) moves out of \(group.id) into itself")
                }
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

// The engine's snapshot writes a directory in two parts (Decision 0029): its settings (the policy,
// the series, each group's settings and series, the latest sequence number) as JSON, which keeps
// one definition of those values, then every group's membership log in binary, in the settings'
// group order: a count (UInt32), then each event's sequence number (Int64), member (identifier),
// time (Int64 milliseconds) and kind (UInt8: 0 joined, then an optional inviter and an optional
// channel, each a flag byte first, the channel a UInt32 length and UTF-8; 1 left; 2 removed, then
// the reason as a string; 3 moved in, then the group it came from; 4 moved out, then the group it
// went to). The event's group is the log's. As JSON, the logs of half a million memberships took
// about three seconds each way.
extension GroupDirectory {
    /// A directory without its membership logs: what ``encodeLogs(into:)`` leaves out.
    package struct Settings: Codable, Sendable {
        fileprivate let policy: LayeringPolicy
        fileprivate let series: [GroupSeries]
        fileprivate let groups: [SettingsGroup]
        fileprivate let lastSequence: Int64
    }

    fileprivate struct SettingsGroup: Codable, Sendable {
        let group: CommunityGroup
        let series: GroupSeriesID
    }

    /// The directory's settings, for ``init(settings:logs:)``.
    package var settings: Settings {
        Settings(
            policy: self.policy,
            series: self.seriesList,
            groups: self.records.map { SettingsGroup(group: $0.group, series: self.seriesList[$0.seriesIndex].id) },
            lastSequence: self.lastSequence
        )
    }

    /// Appends every group's membership log, in the order of ``settings``' groups.
    package func encodeLogs(into writer: inout ByteWriter) {
        for record in self.records {
            // A group's log holds at most `CommunityGroup.maximumLogEntries` events.
            writer.append(UInt32(record.log.count))
            for event in record.log {
                writer.append(event.sequence)
                writer.append(identifier: event.member)
                writer.append(event.at.millisecondsSinceEpoch)
                switch event.kind {
                case .joined(let inviter, let channel):
                    writer.append(UInt8(0))
                    if let inviter {
                        writer.append(UInt8(1))
                        writer.append(identifier: inviter)
                    } else {
                        writer.append(UInt8(0))
                    }
                    if let channel {
                        writer.append(UInt8(1))
                        // A 32-bit length: `join` limits channels, but the JSON form reads any length.
                        writer.append(UInt32(channel.utf8.count))
                        var contiguous = channel
                        contiguous.withUTF8 { writer.append(contentsOf: UnsafeRawBufferPointer($0)) }
                    } else {
                        writer.append(UInt8(0))
                    }
                case .left:
                    writer.append(UInt8(1))
                case .removed(let reason):
                    writer.append(UInt8(2))
                    // At most `RemovalReason.maximumUTF8Length` bytes.
                    writer.append(string: reason.text)
                case .movedIn(let group):
                    writer.append(UInt8(3))
                    writer.append(identifier: group)
                case .movedOut(let group):
                    writer.append(UInt8(4))
                    writer.append(identifier: group)
                }
            }
        }
    }

    /// Restores a directory from its ``settings`` and the logs ``encodeLogs(into:)`` wrote,
    /// checking everything the JSON decoding checks.
    ///
    /// - Throws: ``FissionCore/FissionError/Code/corruptSnapshot`` for truncated or invalid bytes
    ///   or a directory that breaks an invariant (see ``init(from:)``).
    package init(settings: Settings, logs reader: inout ByteReader) throws(FissionError) {
        self.init(policy: settings.policy)
        guard settings.groups.count <= Self.maximumGroups else {
            throw Self.corruptBytes("\(settings.groups.count) groups, more than \(Self.maximumGroups)")
        }
        var groups: [EncodedGroup] = []
        groups.reserveCapacity(settings.groups.count)
        for item in settings.groups {
            let count: UInt32 = try reader.read()
            // An event takes at least 21 bytes: a corrupt count fails before anything is reserved.
            guard Int(count) <= CommunityGroup.maximumLogEntries, Int(count) <= reader.remaining / 21 else {
                throw Self.corruptBytes("group \(item.group.id)'s log of \(count) events")
            }
            var log: [MembershipEvent] = []
            log.reserveCapacity(Int(count))
            for _ in 0..<count { log.append(try Self.readEvent(of: item.group.id, from: &reader)) }
            groups.append(EncodedGroup(group: item.group, series: item.series, log: log))
        }
        do {
            try self.restore(series: settings.series, groups: groups, lastSequence: settings.lastSequence)
        } catch {
            throw Self.corruptBytes(error.reason)
        }
    }

    private static func readEvent(
        of group: GroupID,
        from reader: inout ByteReader
    ) throws(FissionError)
        -> MembershipEvent
    {
        let sequence: Int64 = try reader.read()
        let member: MemberID = try reader.readIdentifier()
        let at: Timestamp
        do {
            at = try Timestamp(millisecondsSinceEpoch: reader.read())
        } catch {
            throw error.code == .corruptSnapshot ? error : Self.corruptBytes("a time out of range")
        }
        let kind: MembershipEvent.Kind
        switch try reader.read() as UInt8 {
        case 0:
            let inviter: MemberID? = try Self.readFlag(&reader) ? try reader.readIdentifier() : nil
            var channel: String?
            if try Self.readFlag(&reader) {
                let length: UInt32 = try reader.read()
                guard let text = String(validating: try reader.readBytes(Int(length)), as: UTF8.self) else {
                    throw Self.corruptBytes("a channel that is not UTF-8")
                }
                channel = text
            }
            kind = .joined(invitedBy: inviter, channel: channel)
        case 1:
            kind = .left
        case 2:
            do {
                kind = .removed(reason: try RemovalReason(reader.readString()))
            } catch {
                throw error.code == .corruptSnapshot ? error : Self.corruptBytes(error.reason)
            }
        case 3:
            kind = .movedIn(from: try reader.readIdentifier())
        case 4:
            kind = .movedOut(to: try reader.readIdentifier())
        case let tag:
            throw Self.corruptBytes("membership event kind \(tag)")
        }
        return MembershipEvent(sequence: sequence, group: group, member: member, at: at, kind: kind)
    }

    private static func readFlag(_ reader: inout ByteReader) throws(FissionError) -> Bool {
        let flag: UInt8 = try reader.read()
        guard flag <= 1 else { throw Self.corruptBytes("a flag byte \(flag)") }
        return flag == 1
    }

    private static func corruptBytes(_ reason: String) -> FissionError {
        FissionError(code: .corruptSnapshot, reason: "a group directory's bytes: \(reason)")
    }
}
