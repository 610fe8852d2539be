import FissionCore
import FissionGroups
import FissionMembers
import Foundation
import Testing

/// Directories, boards and moderators survive an encode and decode: equal, the same bytes again,
/// and the same behaviour afterwards. Decoding refuses values that break an invariant.
struct PersistenceTests {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    static func roundTrip<Value: Codable & Equatable>(_ value: Value) throws -> Value {
        let data = try Self.encoder().encode(value)
        let decoded = try JSONDecoder().decode(Value.self, from: data)
        #expect(decoded == value)
        #expect(try Self.encoder().encode(decoded) == data, "encoding is not stable")
        return decoded
    }

    /// Runs the same random operations on a directory; returns what each did.
    static func drive(_ directory: inout GroupDirectory, seed: UInt64, steps: Int, from start: Int64) -> [String] {
        var generator = SeededGenerator(seed: seed)
        var outcomes: [String] = []
        var clock = start
        for _ in 0..<steps {
            clock += generator.next(in: 0...3)
            let who = MemberID(generator.next(in: 0...11))
            let inviter = MemberID(generator.next(in: 0...11))
            let group: GroupID = generator.next(below: 2) == 0 ? "acq-1" : "acq-2"
            do {
                let now = try hour(clock)
                switch generator.next(below: 5) {
                case 0, 1:
                    let outcome = try directory.join(
                        member(who),
                        into: .series("acq"),
                        invitedBy: inviter == who ? nil : inviter,
                        channel: "qr",
                        at: now
                    )
                    outcomes.append("joined \(outcome.group) opened \(outcome.openedGroup?.id.description ?? "-")")
                case 2: try directory.leave(who, from: group, at: now)
                case 3: try directory.remove(who, from: group, reason: .moderation, at: now)
                default:
                    let outcome = try directory.move(member(who), from: group, to: .series("acq"), at: now)
                    outcomes.append("moved to \(outcome.group)")
                }
                outcomes.append("ok")
            } catch {
                outcomes.append("\((error as? FissionError)?.code.description ?? "\(error)")")
            }
        }
        return outcomes
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func directoriesRoundTripAndBehaveTheSameAfterwards(seed: UInt64) throws {
        var directory = GroupDirectory(policy: try makePolicy())
        try directory.addSeries(
            GroupSeries(id: "acq", name: "Acq", purpose: .acquisition, capacity: 3, maximumGroups: 6)
        )
        try directory.openGroup(in: "acq")
        try directory.addSeries(GroupSeries(id: "core", name: "Core", purpose: .core, maximumGroups: 1))
        try directory.addGroup(
            CommunityGroup(id: "core-1", name: "Core", purpose: .core, capacity: 4, entryRule: .layer(atLeast: .core)),
            to: "core"
        )
        try directory.join(member("k", layer: .core), into: .group("core-1"), at: hour(0))
        _ = Self.drive(&directory, seed: seed, steps: 150, from: 1)
        try directory.archive("core-1")
        var decoded = try Self.roundTrip(directory)
        #expect(decoded.lastEventSequence == directory.lastEventSequence)
        let groups = directory.series("acq")!.groups + ["core-1"]
        #expect(
            DirectorySnapshot(decoded, groups: groups, series: ["acq", "core"])
                == DirectorySnapshot(directory, groups: groups, series: ["acq", "core"])
        )
        let original = Self.drive(&directory, seed: seed + 100, steps: 150, from: 1_000)
        let restored = Self.drive(&decoded, seed: seed + 100, steps: 150, from: 1_000)
        #expect(original == restored, "seed \(seed)")
        #expect(decoded == directory, "seed \(seed)")
    }

    @Test func corruptDirectoriesAreRefused() throws {
        var directory = GroupDirectory(policy: try makePolicy())
        try directory.addSeries(
            GroupSeries(id: "acq", name: "Acq", purpose: .acquisition, capacity: 3, maximumGroups: 3)
        )
        try directory.join(member("a"), into: .series("acq"), at: hour(1))
        try directory.join(member("b"), into: .series("acq"), invitedBy: "a", at: hour(2))
        let data = try Self.encoder().encode(directory)
        let tampers: [(String, (inout [String: Any]) -> Void)] = [
            (
                "member count",
                { json in Self.editGroup(&json) { $0["group"] = Self.edit($0["group"]) { $0["memberCount"] = 1 } } }
            ),
            (
                "event twice",
                { json in Self.editGroup(&json) { $0["log"] = ($0["log"] as! [Any]) + [($0["log"] as! [Any])[1]] } }
            ),
            (
                "events out of order",
                { json in Self.editGroup(&json) { $0["log"] = Array(($0["log"] as! [Any]).reversed()) } }
            ),
            ("sequence past the latest", { json in json["lastSequence"] = 1 }),
            (
                "group missing from its series",
                { json in
                    json["series"] = (json["series"] as! [Any]).map { Self.edit($0) { $0["groups"] = [String]() } }
                }
            ),
            ("unknown series", { json in Self.editGroup(&json) { $0["series"] = "nowhere" } }),
            // Joins and moves `join` and `move` refuse (b's join is the log's second event).
            ("self-invite", { json in Self.editSecondEvent(&json) { $0["kind"] = ["joined": ["invitedBy": "b"]] } }),
            ("empty channel", { json in Self.editSecondEvent(&json) { $0["kind"] = ["joined": ["channel": ""]] } }),
            (
                "channel of 65 bytes",
                { json in
                    Self.editSecondEvent(&json) {
                        $0["kind"] = ["joined": ["channel": String(repeating: "x", count: 65)]]
                    }
                }
            ),
            (
                "channel with a control character",
                { json in Self.editSecondEvent(&json) { $0["kind"] = ["joined": ["channel": "qr\u{7}"]] } }
            ),
            (
                "move from the group itself",
                { json in
                    let group = ((json["groups"] as! [Any])[0] as! [String: Any])["group"] as! [String: Any]
                    Self.editSecondEvent(&json) { $0["kind"] = ["movedIn": ["from": group["id"]!]] }
                }
            ),
        ]
        for (name, tamper) in tampers {
            var json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            tamper(&json)
            let tampered = try JSONSerialization.data(withJSONObject: json)
            #expect(throws: DecodingError.self, "\(name)") {
                try JSONDecoder().decode(GroupDirectory.self, from: tampered)
            }
        }
        #expect(try JSONDecoder().decode(GroupDirectory.self, from: data) == directory)
    }

    static func edit(_ value: Any?, _ change: (inout [String: Any]) -> Void) -> [String: Any] {
        var object = value as! [String: Any]
        change(&object)
        return object
    }

    static func editSecondEvent(_ json: inout [String: Any], _ change: (inout [String: Any]) -> Void) {
        Self.editGroup(&json) { group in
            var log = group["log"] as! [Any]
            log[1] = Self.edit(log[1], change)
            group["log"] = log
        }
    }

    static func editGroup(_ json: inout [String: Any], _ change: (inout [String: Any]) -> Void) {
        var groups = json["groups"] as! [Any]
        groups[0] = Self.edit(groups[0], change)
        json["groups"] = groups
    }

    /// Random check-ins and make-ups of several members; returns what each did.
    static func drive(_ board: inout CheckInBoard, seed: UInt64, steps: Int, fromDay start: Int64) -> [String] {
        var generator = SeededGenerator(seed: seed)
        var outcomes: [String] = []
        for step in 0..<steps {
            let who = MemberID(generator.next(in: 0...4))
            let activity: CheckInActivityID = generator.next(below: 3) == 0 ? "post" : "run"
            do {
                let someone = Member(id: who, joinedAt: try hour(0))
                let now = try hour((start + Int64(step / 3)) * 24 + generator.next(in: 0...23))
                if generator.next(below: 4) == 0 {
                    let day = try now.calendarDay(in: beijing).adding(days: -generator.next(in: 1...5))
                    let receipt = try board.makeUp(someone, activity: activity, day: day, at: now)
                    outcomes.append("\(receipt)")
                } else {
                    outcomes.append("\(try board.checkIn(someone, activity: activity, at: now))")
                }
            } catch {
                outcomes.append("\((error as? FissionError)?.code.description ?? "\(error)")")
            }
        }
        return outcomes
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func checkInBoardsRoundTripAndBehaveTheSameAfterwards(seed: UInt64) throws {
        let settings = try CheckInSettings(milestones: [2, 3, 5, 30], makeUpsPerMonth: 2)
        var board = CheckInBoard(offset: beijing, settings: settings)
        _ = Self.drive(&board, seed: seed, steps: 400, fromDay: 0)
        var decoded = try Self.roundTrip(board)
        let original = Self.drive(&board, seed: seed + 100, steps: 200, fromDay: 140)
        let restored = Self.drive(&decoded, seed: seed + 100, steps: 200, fromDay: 140)
        #expect(original == restored, "seed \(seed)")
        #expect(decoded == board)
    }

    @Test func equalBoardsEncodeToTheSameBytesWhateverTheOrderOfTheirHistory() throws {
        var first = CheckInBoard(offset: beijing)
        var second = CheckInBoard(offset: beijing)
        let people: [MemberID] = (0..<40).map { MemberID($0) }
        for who in people { _ = try first.checkIn(Member(id: who, joinedAt: hour(0)), activity: "run", at: hour(1)) }
        for who in people.reversed() {
            _ = try second.checkIn(Member(id: who, joinedAt: hour(0)), activity: "run", at: hour(1))
        }
        #expect(first == second)
        #expect(try Self.encoder().encode(first) == Self.encoder().encode(second))
    }

    @Test func corruptBoardsAreRefused() throws {
        var board = CheckInBoard(offset: beijing, settings: try CheckInSettings(milestones: [2], makeUpsPerMonth: 1))
        let someone = Member(id: "m", joinedAt: try hour(0))
        _ = try board.checkIn(someone, activity: "run", at: hour(1))
        _ = try board.checkIn(someone, activity: "run", at: hour(25))
        _ = try board.checkIn(someone, activity: "run", at: hour(24 * 5))
        let data = try Self.encoder().encode(board)
        let text = String(decoding: data, as: UTF8.self)
        let tampered = [
            text.replacingOccurrences(of: "\"reportedMilestones\":[2]", with: "\"reportedMilestones\":[]"),
            text.replacingOccurrences(of: "\"longest\":2", with: "\"longest\":1"),
            text.replacingOccurrences(of: "\"activities\":[\"run\"]", with: "\"activities\":[\"post\"]"),
            text.replacingOccurrences(of: "2026-11-06\",\"2026-11-06", with: "2026-11-02\",\"2026-11-06"),
            text.replacingOccurrences(of: "\"makeUpsUsed\":0", with: "\"makeUpsUsed\":2"),
        ]
        for text in tampered {
            #expect(text.utf8.count != data.count || Data(text.utf8) != data, "\(text)")
            #expect(throws: DecodingError.self, "\(text)") {
                try JSONDecoder().decode(CheckInBoard.self, from: Data(text.utf8))
            }
        }
    }

    @Test func moderatorsRoundTripAndBehaveTheSameAfterwards() throws {
        let rules = try ModerationRules(sensitiveWords: ["赌博", "fuck"], ads: AdRules())
        var moderator = GroupModerator(rules: rules, policy: .standard)
        let messages = ["赌博", "hello", "f.u.c.k", "加我微信", "13800138000", "fine", "赌 博"]
        for (index, text) in messages.enumerated() {
            _ = try moderator.review(text, from: MemberID(Int64(index % 3)), at: hour(Int64(index)))
        }
        var decoded = try Self.roundTrip(moderator)
        #expect(decoded.trackedMemberCount == moderator.trackedMemberCount)
        for (index, text) in messages.reversed().enumerated() {
            let who = MemberID(Int64(index % 4))
            let instant = try hour(Int64(10 + index))
            #expect(try decoded.review(text, from: who, at: instant) == moderator.review(text, from: who, at: instant))
        }
        #expect(decoded == moderator)

        let data = try Self.encoder().encode(moderator)
        let text = String(decoding: data, as: UTF8.self)
        var json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        var strikes = json["strikes"] as! [[String: Any]]
        strikes[0]["strikes"] = [0, 0, 0, 0]
        json["strikes"] = strikes
        let tooMany = try JSONSerialization.data(withJSONObject: json)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(GroupModerator.self, from: tooMany) }
        let badWord = text.replacingOccurrences(of: "\"赌博\"", with: "\"  \"")
        #expect(badWord != text)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(GroupModerator.self, from: Data(badWord.utf8)) }
    }
}
