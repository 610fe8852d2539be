@_spi(FissionCoding) import FissionCore
import FissionGraph
import FissionGroups
import FissionMembers
@_spi(FissionCoding) import FissionRewards

// The engine's snapshot: the concatenation of each value's own snapshot, in a fixed order.
// Hot, large values (the graph, the settlement, the members) are binary; the groups' values are
// Codable and stored as sorted-key JSON; the engine's own tables are binary, sorted so equal
// states give equal bytes.
//
// Version 2 writes the registered members in binary. Version 1 wrote them as sorted-key JSON,
// which took most of a checkpoint's and a reopening's time with many members (Decision 0020);
// it is still read. Version 3 is version 2 followed by a 64-bit checksum of everything before
// it: the structure alone let a damaged byte that still decodes (a campaign's digest scheme, an
// amount) restore another state. Versions 1 and 2 are read without one. Version 4 adds, before
// the checksum, the series whose groups count check-ins on the community board and each group's
// own check-in board; in a snapshot of version 3 or earlier every series is one of the former,
// since groups had no boards of their own then. Version 5 writes the check-in boards and the
// groups' membership logs in binary, the groups' settings still as JSON (Decision 0029): as JSON,
// a board of a million member and activity pairs took about nine seconds to write and as long to
// read, and the logs of half a million memberships about three each way. Version 6 is version 5
// followed, before the checksum, by the members' activity and layer states (Decision 0032); it is
// written only by an engine that tracks activity, so any other state gives version 5's bytes,
// which an earlier Fission reads. Version 7 is version 6 followed, before the checksum, by each
// order's paid day (`OrderRecord.paidDay`, in the orders' order above), which a refund lowers the
// spend of (Decision 0033); it is written only while refunds count, so tracking begun before
// that keeps writing version 6.

extension EngineState {
    /// The snapshot format's version: 7 with members' activity and the orders' paid days, 6 with
    /// members' activity while refunds do not count, 5 without.
    var snapshotVersion: UInt32 {
        guard let layering = self.layering else { return 5 }
        return layering.countsRefunds ? 7 : 6
    }

    /// The state's bytes.
    ///
    /// - Throws: ``FissionError/Code/capacityExceeded`` if a part (the graph's or the settlement's
    ///   snapshot, the groups' settings' JSON, a model's snapshot) is 4 GiB or more: the format
    ///   gives each a 32-bit length.
    func snapshot() throws(FissionError) -> [UInt8] {
        var writer = ByteWriter(capacity: 1 << 12)
        writer.append(self.snapshotVersion)
        writer.append(timestamp: self.clock)
        try writer.append(part: self.graph.snapshot(), "the invite graph's snapshot")
        try writer.append(part: self.settlement.snapshot(), "the settlement's snapshot")
        let members = self.registeredMembers.sorted { $0.id < $1.id }
        writer.append(UInt32(members.count))
        for member in members { writer.append(member: member) }
        try writer.append(part: JSONCoding.encode(self.groups.settings), "the groups' settings' JSON")
        self.groups.encodeLogs(into: &writer)
        try self.checkIns.encode(into: &writer)
        let moderators = self.moderators.sorted { $0.key < $1.key }.map {
            ModeratorEntry(group: $0.key, moderator: $0.value)
        }
        try writer.append(part: JSONCoding.encode(moderators), "the moderators' JSON")
        writer.append(UInt32(self.campaignOrder.count))
        for campaign in self.campaignOrder { writer.append(identifier: campaign) }
        writer.append(UInt32(self.pausedCampaigns.count))
        for campaign in self.pausedCampaigns.sorted() { writer.append(identifier: campaign) }
        writer.append(UInt32(self.orders.count))
        let orders = self.orders.records.sorted { $0.order < $1.order }
        for record in orders {
            writer.append(identifier: record.order)
            writer.append(identifier: record.buyer)
            writer.append(money: record.paid)
            writer.append(record.refundedMinorUnits)
            writer.append(UInt32(record.campaigns.count))
            for campaign in record.campaigns { writer.append(identifier: campaign) }
        }
        // Only members with paid orders, as when the counts were a dictionary: the same bytes.
        let counted = self.paidOrderCounts.indices.filter { self.paidOrderCounts[$0] != 0 }.map {
            (self.registeredMembers[$0].id, self.paidOrderCounts[$0])
        }
        writer.append(UInt32(counted.count))
        for (member, count) in counted.sorted(by: { $0.0 < $1.0 }) {
            writer.append(identifier: member)
            writer.append(count)
        }
        writer.append(UInt32(self.models.count))
        // By their UTF-8 bytes: `String`'s `<` does not order every pair of distinct names
        // (neither "\u{915}" nor "\u{958}" is below the other), and a snapshot written in an
        // order its reader refused could not be opened.
        for (name, slot) in self.models.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            writer.append(string: name)
            try writer.append(part: slot.state.snapshot(), "campaign model \(name)'s snapshot")
        }
        writer.append(UInt32(self.seriesOnTheCommunityBoard.count))
        for series in self.seriesOnTheCommunityBoard.sorted() { writer.append(identifier: series) }
        writer.append(UInt32(self.groupCheckIns.count))
        for (group, board) in self.groupCheckIns.sorted(by: { $0.key < $1.key }) {
            writer.append(identifier: group)
            try board.encode(into: &writer)
        }
        if let layering = self.layering {
            writer.append(layering: layering)
            if layering.countsRefunds {
                for record in orders { writer.append(record.paidDay) }
            }
        }
        let checksum = writer.withUnsafeBytes { snapshotChecksum($0) }
        writer.append(checksum)
        return writer.finish()
    }

    /// Bytes followed by their checksum, as a snapshot of version 3 or later ends: for tests that damage a
    /// snapshot's structure behind a valid checksum.
    package static func sealedSnapshot(_ unsealed: [UInt8]) -> [UInt8] {
        var sealed = unsealed
        let checksum = unsealed.withUnsafeBytes { snapshotChecksum($0) }
        withUnsafeBytes(of: checksum.littleEndian) { sealed.append(contentsOf: $0) }
        return sealed
    }

    /// Restores a state from ``snapshot()``.
    ///
    /// - Throws: ``FissionError/Code/corruptSnapshot`` for bytes no state encodes to;
    ///   ``FissionError/Code/configurationMismatch`` for a snapshot taken under another binding
    ///   policy, layering policy, check-in calendar or set of models than `configuration`'s.
    init(snapshot bytes: [UInt8], configuration: FissionEngine.Configuration) throws(FissionError) {
        do {
            try self.init(restoring: bytes, configuration: configuration)
        } catch {
            // The clock, the groups and the check-ins decode with the journal's readers: a fault
            // there is still the snapshot's.
            throw error.decodingFault(as: .corruptSnapshot, in: "engine snapshot")
        }
    }

    private init(restoring bytes: [UInt8], configuration: FissionEngine.Configuration) throws(FissionError) {
        self.init(configuration: configuration)
        var reader = ByteReader(bytes: bytes)
        let version: UInt32 = try reader.read()
        /// Version 1 wrote the members as JSON (Decision 0020).
        let membersInJSON: Bool
        /// Where the state ends: before version 3's checksum.
        var end = bytes.count
        switch version {
        case 1: membersInJSON = true
        case 2: membersInJSON = false
        case 3, 4, 5, 6, 7:
            membersInJSON = false
            end -= 8
            let matches = bytes.withUnsafeBytes { all in
                end >= 4
                    && snapshotChecksum(UnsafeRawBufferPointer(rebasing: all[..<end]))
                        == UInt64(littleEndian: all.loadUnaligned(fromByteOffset: end, as: UInt64.self))
            }
            guard matches else {
                throw FissionError(
                    code: .corruptSnapshot,
                    reason: "its checksum does not match: the bytes were damaged"
                )
            }
        default:
            throw Self.corrupt("version \(version) is unknown")
        }
        self.clock = try reader.readTimestamp()
        self.graph = try InviteGraph(snapshot: reader.readBlob())
        try Self.expect(self.graph.policy, configuration.bindingPolicy, "binding policy")
        self.settlement = try Settlement(snapshot: reader.readBlob())
        if membersInJSON {
            try self.restoreMembers(try reader.readJSON([Member].self))
        } else {
            // Exactly the graph's members: a corrupt count fails before anything is reserved.
            let count: UInt32 = try reader.read()
            guard count == self.graph.count else {
                throw FissionError(
                    code: .corruptSnapshot,
                    reason: "the snapshot holds \(count) members; its graph holds \(self.graph.count)"
                )
            }
            var members: [Member] = []
            members.reserveCapacity(Int(count))
            for _ in 0..<count { members.append(try reader.readMember()) }
            try self.restoreMembers(members)
        }
        if version >= 5 {
            let settings = try reader.readJSON(GroupDirectory.Settings.self)
            self.groups = try GroupDirectory(settings: settings, logs: &reader)
        } else {
            self.groups = try reader.readJSON(GroupDirectory.self)
        }
        try Self.expect(self.groups.policy, configuration.layeringPolicy, "layering policy")
        self.checkIns = version >= 5 ? try CheckInBoard(binary: &reader) : try reader.readJSON(CheckInBoard.self)
        try Self.expect(self.checkIns.offset, configuration.checkInOffset, "check-in offset")
        try Self.expect(self.checkIns.settings, configuration.checkInSettings, "check-in settings")
        try Self.adopt(configuration.checkInCapacity, on: &self.checkIns, "the community's check-in board")
        for entry in try reader.readJSON([ModeratorEntry].self) { self.moderators[entry.group] = entry.moderator }
        // The engine's own tables hold only what its commands can put there: each checked here, as
        // the settlement, the graph and the boards check theirs. Unchecked, a campaign listed twice
        // reported every grant twice, and a paid-order count of Int64.max stopped the process at
        // the member's next order.
        let campaignCount: UInt32 = try reader.read()
        var published: Set<CampaignID> = []
        for _ in 0..<campaignCount {
            let campaign: CampaignID = try reader.readIdentifier()
            guard self.settlement.campaign(campaign) != nil, published.insert(campaign).inserted else {
                throw Self.corrupt("campaign \(campaign) is published twice or unknown to the settlement")
            }
            self.campaignOrder.append(campaign)
        }
        let pausedCount: UInt32 = try reader.read()
        var previousPaused: CampaignID?
        for _ in 0..<pausedCount {
            let campaign: CampaignID = try reader.readIdentifier()
            guard published.contains(campaign), previousPaused.map({ $0 < campaign }) ?? true else {
                throw Self.corrupt("paused campaign \(campaign) is unpublished, repeated or out of order")
            }
            self.pausedCampaigns.insert(campaign)
            previousPaused = campaign
        }
        let orderCount: UInt32 = try reader.read()
        /// Each buyer's orders, to bound their paid-order counts below.
        var ordersByBuyer: [MemberID: Int64] = [:]
        for _ in 0..<orderCount {
            let order: OrderID = try reader.readIdentifier()
            let buyer: MemberID = try reader.readIdentifier()
            let paid = try reader.readMoney()
            let refunded: Int64 = try reader.read()
            guard self.graph.index(of: buyer) != nil, paid.minorUnits >= 0, (0...paid.minorUnits).contains(refunded)
            else {
                throw Self.corrupt("order \(order): an unknown buyer, or a paid or refunded amount no order has")
            }
            let count: UInt32 = try reader.read()
            var campaigns: [CampaignID] = []
            for _ in 0..<count {
                let campaign: CampaignID = try reader.readIdentifier()
                guard self.settlement.campaign(campaign) != nil, !campaigns.contains(campaign) else {
                    throw Self.corrupt("order \(order) names campaign \(campaign) twice or one the settlement lacks")
                }
                campaigns.append(campaign)
            }
            ordersByBuyer[buyer, default: 0] += 1
            let record = OrderRecord(
                order: order,
                buyer: buyer,
                paid: paid,
                refundedMinorUnits: refunded,
                campaigns: campaigns
            )
            guard self.orders.insert(record) else {
                throw Self.corrupt("order \(order) appears twice in the snapshot")
            }
        }
        let countCount: UInt32 = try reader.read()
        var previousCounted: MemberID?
        for _ in 0..<countCount {
            let member: MemberID = try reader.readIdentifier()
            guard let index = self.graph.index(of: member), previousCounted.map({ $0 < member }) ?? true else {
                throw Self.corrupt("paid orders of \(member), who is not in the graph, repeated or out of order")
            }
            previousCounted = member
            // Every paid order counts one and records one order (`orderPaid` does both, and
            // nothing else does either): a count is the buyer's number of orders.
            let count: Int64 = try reader.read()
            guard count == ordersByBuyer[member] else {
                throw Self.corrupt(
                    "\(count) paid orders of \(member), who has \(ordersByBuyer[member, default: 0]) orders"
                )
            }
            self.paidOrderCounts[Int(index.rawValue)] = count
        }
        guard Int(countCount) == ordersByBuyer.count else {
            throw Self.corrupt("paid-order counts of \(countCount) members; \(ordersByBuyer.count) members have orders")
        }
        // Every configured model starts empty (`init(configuration:)` above); those the snapshot
        // holds are restored. A model configured since the snapshot was taken stays empty, which is
        // exact: no entry before the snapshot can have used a model that was not configured (it was
        // refused as unknownModel, and refused commands are not journaled).
        let modelCount: UInt32 = try reader.read()
        var previousModel: String?
        var modelNames: Set<String> = []
        for _ in 0..<modelCount {
            let name = try reader.readString()
            // Ascending by bytes, as written since 2026-12-06 (session 13), or not descending by
            // `String`'s `<`, as written before (which put a pair it does not order either way);
            // never a name twice.
            let ascending = previousModel.map { $0.utf8.lexicographicallyPrecedes(name.utf8) || !(name < $0) } ?? true
            guard ascending, modelNames.insert(name).inserted else {
                throw Self.corrupt("campaign model \(name) is repeated or out of order")
            }
            guard let model = configuration.models.first(where: { $0.name == name }) else {
                throw FissionError(
                    code: .configurationMismatch,
                    reason: "the snapshot holds campaign model \(name), which is not configured: "
                        + "open the store with the configuration it was written with"
                )
            }
            self.models[name] = ModelSlot(state: try model.init(snapshot: reader.readBlob()))
            previousModel = name
        }
        if version >= 4 {
            let seriesCount: UInt32 = try reader.read()
            // Both lists are written in ascending order: anything else is not a snapshot's.
            var previousSeries: GroupSeriesID?
            for _ in 0..<seriesCount {
                let series: GroupSeriesID = try reader.readIdentifier()
                guard self.groups.series(series) != nil, previousSeries.map({ $0 < series }) ?? true else {
                    throw Self.corrupt("series \(series) is unknown or out of order")
                }
                self.seriesOnTheCommunityBoard.insert(series)
                previousSeries = series
            }
            var previousGroup: GroupID?
            for (groupID, board) in try Self.readGroupBoards(&reader, binary: version >= 5) {
                guard let group = self.groups.group(groupID), previousGroup.map({ $0 < groupID }) ?? true,
                    board.offset == group.offset,
                    !(self.groups.series(of: groupID).map { self.seriesOnTheCommunityBoard.contains($0) } ?? true)
                else {
                    throw FissionError(
                        code: .corruptSnapshot,
                        reason: "the check-in board of group \(groupID): unknown, out of order, in another "
                            + "offset, or of a series that counts on the community board"
                    )
                }
                previousGroup = groupID
                try Self.expect(board.settings, configuration.checkInSettings, "check-in settings")
                var board = board
                try Self.adopt(configuration.checkInCapacity, on: &board, "group \(groupID)'s check-in board")
                self.groupCheckIns[groupID] = board
            }
        } else {
            // Written before groups had boards of their own: every series counts on the community's.
            self.seriesOnTheCommunityBoard = Set(self.groups.seriesIDs)
        }
        if version >= 6 {
            self.layering = try reader.readLayering(
                members: self.registeredMembers,
                policy: self.groups.policy,
                today: self.communityDay(at: self.clock)
            )
        }
        if version >= 7 {
            self.layering!.countsRefunds = true
            try self.readPaidDays(&reader)
        }
        guard reader.offset == end else {
            throw Self.corrupt("bytes after the engine state")
        }
    }
}

extension EngineState {
    /// Reads version 7's paid day of each order, in the order the orders were read: the day the
    /// order's amount was counted on, so a day of years 1 to 9999 not after the clock, for an
    /// order in the layering policy's currency; or ``OrderRecord/notCounted``.
    fileprivate mutating func readPaidDays(_ reader: inout ByteReader) throws(FissionError) {
        guard self.orders.count <= reader.remaining / 4 else {
            throw Self.corrupt("paid days of \(self.orders.count) orders in \(reader.remaining) bytes")
        }
        let today = self.communityDay(at: self.clock)
        for position in 0..<self.orders.count {
            let paidDay: Int32 = try reader.read()
            var record = self.orders.records[position]
            if paidDay != OrderRecord.notCounted {
                guard let day = CalendarDay(daysSinceEpoch: Int64(paidDay)), day <= today,
                    record.paid.currency == self.groups.policy.currency
                else {
                    throw Self.corrupt(
                        "order \(record.order) was counted on day \(paidDay) from 1970: outside years 1 to 9999, "
                            + "after the clock (\(today)), or in another currency than the layering policy's"
                    )
                }
            }
            record.paidDay = paidDay
            self.orders.replace(at: position, with: record)
        }
        try self.checkPaidDaysAgainstActivity()
    }

    /// Checks that no order is counted on a day after its buyer's last active day: recording an
    /// order's amount makes its day an active day, and nothing takes one back. (What is left of
    /// the orders counted on a day is not checked against that day's spend: the host's
    /// `recordRefund` may take any spend of the day, an order's included.)
    private func checkPaidDaysAgainstActivity() throws(FissionError) {
        guard let layering = self.layering else { return }
        for record in self.orders.records where record.paidDay != OrderRecord.notCounted {
            // Registered: the orders section checked each buyer is a member.
            let member = Int(self.graph.index(of: record.buyer)!.rawValue)
            guard let lastActive = layering.stats[member].lastActiveDay,
                Int64(record.paidDay) <= lastActive.daysSinceEpoch
            else {
                throw Self.corrupt("order \(record.order) counted on a day after its buyer's last activity")
            }
        }
    }

    /// Puts each member at their graph index: every member the graph holds, once.
    fileprivate mutating func restoreMembers(_ members: [Member]) throws(FissionError) {
        guard members.count == self.graph.count else {
            throw FissionError(
                code: .corruptSnapshot,
                reason: "the snapshot holds \(members.count) members; its graph holds \(self.graph.count)"
            )
        }
        var placed: [Member?] = Array(repeating: nil, count: members.count)
        for member in members {
            guard let index = self.graph.index(of: member.id), placed[Int(index.rawValue)] == nil else {
                throw FissionError(
                    code: .corruptSnapshot,
                    reason: "member \(member.id) is not in the snapshot's graph or appears twice"
                )
            }
            placed[Int(index.rawValue)] = member
        }
        // Every slot is filled: as many members as slots, none placed twice.
        self.registeredMembers = placed.map { $0! }
        self.paidOrderCounts = Array(repeating: 0, count: members.count)
    }

    /// The groups' check-in boards: version 5's binary list (a count, then each group and its
    /// board), or version 4's JSON.
    fileprivate static func readGroupBoards(
        _ reader: inout ByteReader,
        binary: Bool
    ) throws(FissionError) -> [(GroupID, CheckInBoard)] {
        guard binary else { return try reader.readJSON([GroupBoardEntry].self).map { ($0.group, $0.board) } }
        let count: UInt32 = try reader.read()
        // A board takes at least 23 bytes with a one-letter group id: a corrupt count fails before
        // anything is reserved.
        guard Int(count) <= reader.remaining / 23 else {
            throw Self.corrupt("\(count) group check-in boards in fewer bytes")
        }
        var boards: [(GroupID, CheckInBoard)] = []
        boards.reserveCapacity(Int(count))
        for _ in 0..<count {
            let group: GroupID = try reader.readIdentifier()
            boards.append((group, try CheckInBoard(binary: &reader)))
        }
        return boards
    }

    fileprivate static func corrupt(_ reason: String) -> FissionError {
        FissionError(code: .corruptSnapshot, reason: reason)
    }

    /// Gives a restored board the configured capacity, which may differ from the one it was saved
    /// with (it limits new check-ins only). `validate()` accepted the capacity, so this does not
    /// fail for an engine that opened; the error is for a caller that skipped it.
    fileprivate static func adopt(
        _ capacity: Int,
        on board: inout CheckInBoard,
        _ what: String
    ) throws(FissionError) {
        do {
            try board.setCapacity(capacity)
        } catch {
            throw FissionError(code: .invalidConfiguration, reason: "\(what): \(error.reason)")
        }
    }

    /// Throws ``FissionError/Code/configurationMismatch`` unless the snapshot's `stored` part of
    /// the configuration is the engine's `configured` one.
    fileprivate static func expect<Part: Equatable>(
        _ stored: Part,
        _ configured: Part,
        _ what: String
    ) throws(FissionError) {
        guard stored == configured else {
            throw FissionError(
                code: .configurationMismatch,
                reason: "the snapshot was taken under another \(what) (\(stored)) than the engine is configured "
                    + "with (\(configured)): open the store with the configuration it was written with"
            )
        }
    }
}

/// One group's moderator in the snapshot's JSON.
private struct ModeratorEntry: Codable {
    let group: GroupID
    let moderator: GroupModerator
}

private struct GroupBoardEntry: Codable {
    let group: GroupID
    let board: CheckInBoard
}

// A member in binary: the id, the time they joined, their source, then a byte saying whether
// tags, layer and risk signals follow (a member registered through the engine has the defaults).
extension ByteWriter {
    fileprivate mutating func append(member: Member) {
        self.append(identifier: member.id)
        self.append(timestamp: member.joinedAt)
        self.append(optional: member.source.channel)
        self.append(optional: member.source.invitedBy)
        self.append(optional: member.source.group)
        let hasDefaults = member.tags.isEmpty && member.layer == .ordinary && member.riskSignals == .none
        self.append(bool: !hasDefaults)
        guard !hasDefaults else { return }
        self.append(UInt32(member.tags.count))
        for tag in member.tags {
            self.append(string: tag.category)
            self.append(string: tag.value)
        }
        self.append(string: member.layer.name)
        for hashes in [member.riskSignals.phoneHashes, member.riskSignals.deviceHashes] {
            self.append(UInt32(hashes.count))
            for hash in hashes { self.append(string: hash.hex) }
        }
    }
}

extension ByteReader {
    fileprivate mutating func readMember() throws(FissionError) -> Member {
        let id: MemberID = try self.readIdentifier()
        do {
            let joinedAt = try self.readTimestamp()
            let source = try JoinSource(
                channel: try self.readOptionalString(),
                invitedBy: try self.readOptionalIdentifier(),
                group: try self.readOptionalIdentifier()
            )
            guard try self.readBool() else { return Member(id: id, joinedAt: joinedAt, source: source) }
            let tagCount = try self.readCount(limit: TagSet.maximumCount, "tags of a member")
            var tags: [MemberTag] = []
            for _ in 0..<tagCount { tags.append(try MemberTag(category: self.readString(), value: self.readString())) }
            let layer = try Layer(self.readString())
            var fingerprints: [[Fingerprint]] = []
            for _ in 0..<2 {
                let count = try self.readCount(limit: RiskSignals.maximumPerKind, "fingerprints of a member")
                var hashes: [Fingerprint] = []
                for _ in 0..<count { hashes.append(try Fingerprint(hex: self.readString())) }
                fingerprints.append(hashes)
            }
            return Member(
                id: id,
                joinedAt: joinedAt,
                source: source,
                tags: try TagSet(tags),
                layer: layer,
                riskSignals: try RiskSignals(phoneHashes: fingerprints[0], deviceHashes: fingerprints[1])
            )
        } catch {
            // Whatever the read or the member types refused (a truncation, a flag byte, a count
            // over a limit, a bad name or fingerprint), it is a corrupt snapshot at this member.
            throw FissionError(code: .corruptSnapshot, reason: "member \(id) in the snapshot: \(error.reason)")
        }
    }
}
