@_spi(FissionCoding) public import FissionCore

extension InviteGraph {
    /// The snapshot format's version; ``init(snapshot:)`` reads this version only.
    public static var snapshotVersion: UInt32 { 1 }

    /// The whole graph as compact binary: members, bindings, pending invitations and history.
    ///
    /// Only the source of truth is written (ids, inviters, child lists, binding times and
    /// campaigns: about 32 bytes per member with integer ids); the counts and the id map are
    /// rebuilt on restore. Integers are little-endian. ``init(snapshot:)`` gives back a graph equal
    /// to this one.
    ///
    /// - Complexity: O(count + history).
    public func snapshot() -> [UInt8] {
        var writer = ByteWriter(capacity: 64 + self.count * 34 + self.table.strings.count * 24)
        writer.append(literal: "FSNG")
        writer.append(Self.snapshotVersion)
        writer.append(self.policy.moment.rawValue)
        writer.append(self.policy.scope.rawValue)
        switch self.policy.duration {
        case .permanent:
            writer.append(UInt8(0))
            writer.append(UInt32(0))
        case .protectionWindow(let days):
            writer.append(UInt8(1))
            writer.append(UInt32(days))
        case .lastTouch:
            writer.append(UInt8(2))
            writer.append(UInt32(0))
        }
        writer.append(UInt64(self.maximumMemberCount))
        writer.append(UInt32(self.maximumIdentifierUTF8Length))
        writer.append(self.table.seed)
        writer.append(self.latestChange)
        writer.append(UInt64(self.count))
        self.table.write(to: &writer)
        writer.append(UInt64(self.table.strings.count))
        for string in self.table.strings {
            writer.append(string: string)
        }
        writer.append(array: self.parent)
        // Format version 1 stores invitees as linked lists, newest first, as the graph kept them
        // before Decision 0006; restore rebuilds the blocks from them, so the format is unchanged.
        let lists = self.inviteeLists()
        writer.append(array: lists.first)
        writer.append(array: lists.next)
        writer.append(array: self.boundAt)
        writer.append(array: self.bindingCampaign)
        writer.append(array: self.hasOrdered.words)
        writer.append(UInt32(self.campaignIDs.count))
        for campaign in self.campaignIDs {
            switch campaign.value {
            case .integer(let integer):
                writer.append(UInt8(0))
                writer.append(integer)
            case .string(let string):
                writer.append(UInt8(1))
                writer.append(string: string)
            }
        }
        writer.append(UInt64(self.pendingTouches.count))
        for member in self.pendingTouches.keys.sorted() {
            let touch = self.pendingTouches[member]!
            writer.append(member)
            writer.append(touch.inviter)
            writer.append(touch.campaign)
            writer.append(touch.time)
        }
        writer.append(UInt64(self.closedEdges.count))
        for edge in self.closedEdges {
            writer.append(edge.member)
            writer.append(edge.inviter)
            writer.append(edge.campaign)
            writer.append(edge.previous)
            writer.append(edge.validFrom)
            writer.append(edge.validTo)
        }
        return writer.finish()
    }

    /// Restores a graph from ``snapshot()`` output, checking it thoroughly.
    ///
    /// - Throws: ``FissionError/Code/corruptSnapshot`` if the bytes are truncated, of another version,
    ///   or describe an impossible graph (a cycle, an inviter who joined later, a duplicate id, a
    ///   broken child list, an invalid id, a pending invitation dated outside years 1 to 9999, or a
    ///   binding history that rebinding under the policy cannot write: closed bindings under a
    ///   policy that never rebinds, one closed inside its protection window, or a member's
    ///   bindings that overlap or leave a gap, since each closed binding ends where the next one,
    ///   or the current binding, begins).
    /// - Complexity: O(size of the snapshot).
    public init(snapshot bytes: [UInt8]) throws(FissionError) {
        var reader = ByteReader(bytes: bytes)
        guard try reader.readBytes(4) == Array("FSNG".utf8) else { throw corrupt("not a FissionGraph snapshot") }
        let version: UInt32 = try reader.read()
        guard version == Self.snapshotVersion else { throw corrupt("snapshot version \(version) is not 1") }
        let policy = try Self.readPolicy(&reader)
        let maximumMemberCount: UInt64 = try reader.read()
        let maximumLength: UInt32 = try reader.read()
        let seed: UInt64 = try reader.read()
        do {
            try self.init(
                policy: policy,
                maximumMemberCount: Int(clamping: maximumMemberCount),
                maximumIdentifierUTF8Length: Int(maximumLength),
                hashSeed: seed
            )
        } catch {
            throw corrupt(error.reason)
        }
        self.latestChange = try reader.read()
        guard self.latestChange >= Timestamp.earliest.millisecondsSinceEpoch,
            self.latestChange <= Timestamp.latest.millisecondsSinceEpoch
        else { throw corrupt("last change \(self.latestChange) is outside years 1 to 9999") }
        let rawCount: UInt64 = try reader.read()
        guard rawCount <= UInt64(self.maximumMemberCount), rawCount <= UInt64(bytes.count) else {
            throw corrupt("member count \(rawCount) is over the graph's limit or the snapshot's size")
        }
        let count = Int(rawCount)
        try self.readMembers(&reader, count: count)
        self.parent = try reader.readArray(count: count)
        let firstInvitee: [Int32] = try reader.readArray(count: count)
        let nextInvitee: [Int32] = try reader.readArray(count: count)
        self.boundAt = try reader.readArray(count: count)
        self.bindingCampaign = try reader.readArray(count: count)
        self.hasOrdered = try Self.readBitset(&reader, count: count)
        try self.readCampaigns(&reader)
        try self.readPending(&reader)
        try self.readClosedEdges(&reader)
        guard reader.isAtEnd else { throw corrupt("\(bytes.count - reader.offset) bytes after the end") }
        try self.validateBindings(nextInvitee: nextInvitee)
        try self.validateHistory()
        try self.validateInviteeLists(first: firstInvitee, next: nextInvitee)
        self.rebuildCounts()
        self.rebuildInviteeBlocks(first: firstInvitee, next: nextInvitee)
    }

    private static func readPolicy(_ reader: inout ByteReader) throws(FissionError) -> BindingPolicy {
        guard let moment = BindingPolicy.Moment(rawValue: try reader.read()),
            let scope = BindingPolicy.Scope(rawValue: try reader.read())
        else { throw corrupt("unknown binding moment or scope") }
        let durationKind: UInt8 = try reader.read()
        let days: UInt32 = try reader.read()
        let duration: BindingPolicy.Duration
        switch durationKind {
        case 0: duration = .permanent
        case 1: duration = .protectionWindow(days: Int(days))
        case 2: duration = .lastTouch
        default: throw corrupt("unknown binding duration \(durationKind)")
        }
        return BindingPolicy(moment: moment, scope: scope, duration: duration)
    }

    private static func readBitset(_ reader: inout ByteReader, count: Int) throws(FissionError) -> Bitset {
        let words: [UInt64] = try reader.readArray(count: (count + 63) / 64)
        if count & 63 != 0, let last = words.last, last >> UInt64(count & 63) != 0 {
            throw corrupt("bits set past the last member")
        }
        return Bitset(words: words, count: count)
    }

    private mutating func readMembers(_ reader: inout ByteReader, count: Int) throws(FissionError) {
        let keys: [Int64] = try reader.readArray(count: count)
        let isString = try Self.readBitset(&reader, count: count)
        let stringCount: UInt64 = try reader.read()
        guard stringCount <= UInt64(count) else { throw corrupt("\(stringCount) string ids for \(count) members") }
        var strings: [String] = []
        strings.reserveCapacity(Int(stringCount))
        for _ in 0..<Int(stringCount) {
            strings.append(try reader.readString())
        }
        // The slots grow as needed: a run of sequential ids takes none.
        self.table.reserveCapacity(count, slots: false)
        var nextString: Int64 = 0
        for position in 0..<count {
            let id: MemberID
            if isString[position] {
                guard keys[position] == nextString, nextString < Int64(strings.count) else {
                    throw corrupt("member \(position)'s string id is out of order")
                }
                nextString += 1
                do {
                    id = try MemberID(strings[Int(keys[position])])
                } catch {
                    throw corrupt("member \(position): \(error.reason)")
                }
                guard strings[Int(keys[position])].utf8.count <= self.maximumIdentifierUTF8Length else {
                    throw corrupt("member \(position)'s id is longer than the graph's limit")
                }
            } else {
                id = MemberID(keys[position])
            }
            guard self.table.appendIfAbsent(id) == nil else { throw corrupt("member id \(id) appears twice") }
        }
        guard nextString == Int64(strings.count) else { throw corrupt("string ids left over") }
    }

    private mutating func readCampaigns(_ reader: inout ByteReader) throws(FissionError) {
        let campaignCount: UInt32 = try reader.read()
        guard Int(campaignCount) <= Self.maximumCampaignCount else { throw corrupt("too many campaigns") }
        for _ in 0..<Int(campaignCount) {
            let tag: UInt8 = try reader.read()
            let campaign: CampaignID
            switch tag {
            case 0:
                campaign = CampaignID(try reader.read() as Int64)
            case 1:
                do {
                    campaign = try CampaignID(try reader.readString())
                } catch {
                    throw corrupt("campaign id: \(error.reason)")
                }
            default:
                throw corrupt("unknown campaign id tag \(tag)")
            }
            guard self.campaignSlots[campaign] == nil else { throw corrupt("campaign \(campaign) appears twice") }
            self.campaignSlots[campaign] = Int32(self.campaignIDs.count)
            self.campaignIDs.append(campaign)
        }
    }

    private mutating func readPending(_ reader: inout ByteReader) throws(FissionError) {
        let pendingCount: UInt64 = try reader.read()
        guard pendingCount <= UInt64(self.count) else { throw corrupt("more pending invitations than members") }
        for _ in 0..<Int(pendingCount) {
            let member: Int32 = try reader.read()
            let touch = PendingTouch(inviter: try reader.read(), campaign: try reader.read(), time: try reader.read())
            guard self.policy.moment == .firstOrder, member >= 0, Int(member) < self.count,
                touch.inviter >= 0, touch.inviter < member, self.validCampaign(touch.campaign),
                touch.time >= Timestamp.earliest.millisecondsSinceEpoch, touch.time <= self.latestChange,
                self.parent[Int(member)] < 0, !self.hasOrdered[Int(member)],
                self.pendingTouches[member] == nil
            else { throw corrupt("pending invitation of member \(member) is impossible") }
            self.pendingTouches[member] = touch
        }
    }

    private mutating func readClosedEdges(_ reader: inout ByteReader) throws(FissionError) {
        let edgeCount: UInt64 = try reader.read()
        guard edgeCount < UInt64(Int32.max), edgeCount <= UInt64(reader.remaining / 32) else {
            throw corrupt("closed binding count \(edgeCount) is impossible")
        }
        // Only a rebinding closes a binding, and only a policy of any member with a duration that
        // gives way rebinds (see `bind`); a protection window gives way once it has passed.
        let rebinds = self.policy.scope == .allMembers && self.policy.duration != .permanent
        guard edgeCount == 0 || rebinds else {
            throw corrupt("\(edgeCount) closed bindings under a policy that never rebinds")
        }
        let shortest = self.policy.protectionMilliseconds ?? 0
        self.closedEdges.reserveCapacity(Int(edgeCount))
        for position in 0..<Int(edgeCount) {
            let edge = ClosedEdge(
                member: try reader.read(),
                inviter: try reader.read(),
                campaign: try reader.read(),
                previous: try reader.read(),
                validFrom: try reader.read(),
                validTo: try reader.read()
            )
            guard edge.member >= 0, Int(edge.member) < self.count, edge.inviter >= 0, edge.inviter < edge.member,
                self.validCampaign(edge.campaign), edge.validFrom >= Timestamp.earliest.millisecondsSinceEpoch,
                edge.validFrom <= edge.validTo, edge.validTo <= self.latestChange,
                edge.validTo - edge.validFrom >= shortest,
                edge.previous == self.latestClosedEdge[edge.member] ?? -1,
                edge.previous < 0 || self.closedEdges[Int(edge.previous)].validTo == edge.validFrom
            else { throw corrupt("closed binding \(position) is impossible") }
            self.closedEdges.append(edge)
            self.latestClosedEdge[edge.member] = Int32(position)
        }
    }

    private func validCampaign(_ slot: Int32) -> Bool {
        slot >= -1 && Int(slot) < self.campaignIDs.count
    }

    private func validateBindings(nextInvitee: [Int32]) throws(FissionError) {
        for position in 0..<self.count {
            let inviter = self.parent[position]
            guard inviter >= -1, Int(inviter) < position else {
                throw corrupt("member \(position)'s inviter \(inviter) did not join before them")
            }
            if inviter >= 0 {
                let time = self.boundAt[position]
                guard time >= Timestamp.earliest.millisecondsSinceEpoch, time <= self.latestChange,
                    self.validCampaign(self.bindingCampaign[position])
                else { throw corrupt("member \(position)'s binding time or campaign is impossible") }
            } else {
                guard self.boundAt[position] == Int64.min, self.bindingCampaign[position] == -1,
                    nextInvitee[position] == -1
                else { throw corrupt("unbound member \(position) has binding data") }
            }
        }
    }

    /// A rebinding closes a member's binding and opens the next at the same instant, so a member
    /// with closed bindings is bound, since the end of the latest one.
    private func validateHistory() throws(FissionError) {
        for (index, edge) in self.closedEdges.enumerated() where self.latestClosedEdge[edge.member] == Int32(index) {
            let position = Int(edge.member)
            guard self.parent[position] >= 0, self.boundAt[position] == edge.validTo else {
                throw corrupt("member \(position)'s current binding does not begin where their last closed one ends")
            }
        }
    }

    /// Every bound member must sit exactly once in its inviter's list. Each visited member's
    /// inviter is checked, and the walk is cut at the number of bound members, so a looping or
    /// crossing list cannot run forever.
    private func validateInviteeLists(first: [Int32], next: [Int32]) throws(FissionError) {
        let bound = self.parent.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
        var visited = 0
        for position in 0..<self.count {
            var child = first[position]
            while child != -1 {
                guard child >= 0, Int(child) < self.count, self.parent[Int(child)] == Int32(position),
                    visited < bound
                else { throw corrupt("the invitee list of member \(position) is broken") }
                visited += 1
                child = next[Int(child)]
            }
        }
        guard visited == bound else { throw corrupt("\(bound - visited) bound members are missing from invitee lists") }
    }

    private mutating func rebuildCounts() {
        let count = self.count
        self.counters = Array(repeating: Counters(), count: count)
        self.boundCount = 0
        // An inviter always joined earlier, so one pass from the newest member adds each finished team upwards.
        var position = count - 1
        while position >= 0 {
            let inviter = Int(self.parent[position])
            if inviter >= 0 {
                self.boundCount += 1
                self.counters[inviter].direct += 1
                self.counters[inviter].team += self.counters[position].team + 1
                let grandparent = Int(self.parent[inviter])
                if grandparent >= 0 { self.counters[grandparent].secondLevel += 1 }
                let campaign = self.bindingCampaign[position]
                if campaign >= 0 {
                    self.campaignInviteCounts[campaignKey(campaign, Int32(inviter)), default: 0] += 1
                }
            }
            position -= 1
        }
    }
}

private func corrupt(_ reason: String) -> FissionError {
    FissionError(code: .corruptSnapshot, reason: reason)
}
