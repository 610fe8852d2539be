@_spi(FissionCoding) import FissionCore
import FissionGroups
import FissionMembers
import Foundation
import Testing

/// The binary forms the engine's snapshot writes check-in boards and membership logs in
/// (Decision 0029): they restore exactly what was written, equal to the JSON decoding, and refuse
/// bytes no board or directory writes with `corruptSnapshot`.
struct BinaryCodingTests {
    static let seeds = propertySeeds(from: 300, ciCount: 6)

    static func bytes(of board: CheckInBoard) throws -> [UInt8] {
        var writer = ByteWriter(capacity: 256)
        try board.encode(into: &writer)
        return writer.finish()
    }

    static func board(from bytes: [UInt8]) throws(FissionError) -> CheckInBoard {
        var reader = ByteReader(bytes: bytes)
        let board = try CheckInBoard(binary: &reader)
        guard reader.isAtEnd else { throw FissionError(code: .corruptSnapshot, reason: "bytes after the board") }
        return board
    }

    static func logs(of directory: GroupDirectory) -> [UInt8] {
        var writer = ByteWriter(capacity: 256)
        directory.encodeLogs(into: &writer)
        return writer.finish()
    }

    static func directory(settings: GroupDirectory.Settings, logs: [UInt8]) throws(FissionError) -> GroupDirectory {
        var reader = ByteReader(bytes: logs)
        let directory = try GroupDirectory(settings: settings, logs: &reader)
        guard reader.isAtEnd else { throw FissionError(code: .corruptSnapshot, reason: "bytes after the logs") }
        return directory
    }

    /// A board of several members (numbers and names) in three activities, over 90 days of
    /// check-ins with gaps, make-ups and forgotten members.
    static func randomBoard(seed: UInt64) throws -> CheckInBoard {
        var generator = SeededGenerator(seed: seed)
        let settings = try CheckInSettings(milestones: [2, 3, 7, 30], makeUpsPerMonth: 2)
        var board = try CheckInBoard(offset: beijing, settings: settings, capacity: 1_000)
        let members: [MemberID] = [1, 2, 77, "ana", "bo", "沈"]
        let activities: [CheckInActivityID] = ["run", "read", "swim"]
        let origin = try hour(0)
        for day in Int64(0)..<90 {
            for id in members where generator.next(below: 3) != 0 {
                let member = Member(id: id, joinedAt: origin)
                let activity = activities[Int(generator.next(below: UInt64(activities.count)))]
                let instant = try origin.adding(
                    milliseconds: day * Timestamp.millisecondsPerDay + generator.next(in: 0...86_399_999)
                )
                if generator.next(below: 5) == 0 {
                    _ = try? board.makeUp(
                        member,
                        activity: activity,
                        day: try instant.calendarDay(in: beijing).adding(days: -generator.next(in: 1...4)),
                        at: instant
                    )
                }
                _ = try? board.checkIn(member, activity: activity, at: instant)
            }
            if generator.next(below: 40) == 0 { board.forget(members[Int(generator.next(below: 6))]) }
        }
        return board
    }

    @Test(
        "a random board comes back equal from its bytes and from its JSON, and equal boards write equal bytes",
        arguments: seeds
    )
    func boardsRoundTrip(seed: UInt64) throws {
        let board = try Self.randomBoard(seed: seed)
        #expect(board.streakCount > 6, "seed \(seed)")
        let bytes = try Self.bytes(of: board)
        let restored = try Self.board(from: bytes)
        #expect(restored == board, "seed \(seed)")
        #expect(try JSONDecoder().decode(CheckInBoard.self, from: JSONEncoder().encode(board)) == board)
        #expect(try Self.bytes(of: restored) == bytes, "seed \(seed)")
        // A restored board goes on as the original: the same receipts for the same check-ins.
        var original = board
        var copy = restored
        let later = try hour(24 * 91)
        for id: MemberID in [1, "ana", "new"] {
            let member = Member(id: id, joinedAt: try hour(0))
            #expect(
                (try? original.checkIn(member, activity: "run", at: later))
                    == (try? copy.checkIn(member, activity: "run", at: later)),
                "seed \(seed)"
            )
        }
        #expect(original == copy)
    }

    @Test("every cut of a board's bytes is a corrupt snapshot; every changed byte is refused or reads back canonically")
    func damagedBoardBytes() throws {
        let bytes = try Self.bytes(of: try Self.randomBoard(seed: 7))
        for length in 0..<bytes.count {
            #expect(throws: FissionError.self) { try Self.board(from: Array(bytes.prefix(length))) }
        }
        for offset in bytes.indices {
            for change: UInt8 in [1, 0x40, 0x80] {
                var damaged = bytes
                damaged[offset] ^= change
                switch Result(catching: { () throws(FissionError) in try Self.board(from: damaged) }) {
                case .success(let board):
                    #expect(try Self.board(from: try Self.bytes(of: board)) == board, "at \(offset)")
                case .failure(let error):
                    #expect(error.code == .corruptSnapshot, "at \(offset): \(error)")
                }
            }
        }
    }

    /// A board's bytes, written field by field, with one streak of `member` in `run`.
    static func handWritten(
        milestones: [UInt16] = [3, 7, 30],
        capacity: Int64 = 10,
        activities: [CheckInActivityID] = ["read", "run"],
        pairs: [(member: MemberID, activity: UInt8)] = [(1, 1)],
        runs: [(Int32, Int32)] = [(20_000, 20_002)],
        longest: UInt32 = 3,
        makeUpsUsed: UInt8 = 0,
        forgotten: Int32? = nil
    ) -> [UInt8] {
        var writer = ByteWriter(capacity: 128)
        writer.append(Int32(8 * 3_600))
        writer.append(UInt8(milestones.count))
        for milestone in milestones { writer.append(milestone) }
        writer.append(UInt8(2))
        writer.append(capacity)
        writer.append(UInt8(activities.count))
        for activity in activities { writer.append(identifier: activity) }
        writer.append(UInt32(pairs.count))
        for pair in pairs {
            writer.append(identifier: pair.member)
            writer.append(pair.activity)
            writer.append(UInt32(runs.count))
            for (first, last) in runs {
                writer.append(first)
                writer.append(last)
            }
            writer.append(longest)
            writer.append(Int64(24_000))
            writer.append(makeUpsUsed)
            if let forgotten {
                writer.append(UInt8(1))
                writer.append(forgotten)
            } else {
                writer.append(UInt8(0))
            }
        }
        return writer.finish()
    }

    @Test("bytes no board writes are a corrupt snapshot, naming what is wrong")
    func boardsNoBoardWrites() throws {
        // The hand-written board itself reads.
        let valid = try Self.board(from: Self.handWritten())
        #expect(valid.streakCount == 1)
        #expect(try Self.bytes(of: valid) == Self.handWritten())
        let cases: [(String, [UInt8])] = [
            ("milestones out of order", Self.handWritten(milestones: [7, 3])),
            ("a capacity of 0", Self.handWritten(capacity: 0)),
            ("activities out of order", Self.handWritten(activities: ["run", "read"])),
            ("activities repeated", Self.handWritten(activities: ["run", "run"])),
            ("a pair repeated", Self.handWritten(pairs: [(1, 1), (1, 1)])),
            ("pairs out of order", Self.handWritten(pairs: [(2, 1), (1, 1)])),
            ("an activity past the list", Self.handWritten(pairs: [(1, 2)])),
            ("runs that touch", Self.handWritten(runs: [(20_000, 20_001), (20_002, 20_003)], longest: 2)),
            ("a run backwards", Self.handWritten(runs: [(20_002, 20_000)])),
            ("a day past year 9999", Self.handWritten(runs: [(2_932_897, 2_932_897)], longest: 1)),
            ("a longest streak shorter than a run", Self.handWritten(longest: 2)),
            ("more make-ups than a month allows", Self.handWritten(makeUpsUsed: 3)),
            ("a forgotten day after the runs start", Self.handWritten(forgotten: 20_000)),
        ]
        for (what, bytes) in cases {
            let error = #expect(throws: FissionError.self, "\(what)") { try Self.board(from: bytes) }
            #expect(error?.code == .corruptSnapshot, "\(what)")
            #expect(error?.reason.hasPrefix("a check-in board's bytes: ") == true, "\(what): \(error?.reason ?? "")")
        }
        // A pair count larger than the bytes could hold fails before reserving room for it.
        var huge = Self.handWritten(pairs: [])
        huge.replaceSubrange((huge.count - 4)..<huge.count, with: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: FissionError.self) { try Self.board(from: huge) }
    }

    /// A directory with two series, joins with and without inviters and channels, leaves,
    /// removals and moves between its groups.
    static func randomDirectory(seed: UInt64, steps: Int = 300) throws -> GroupDirectory {
        var generator = SeededGenerator(seed: seed)
        var directory = GroupDirectory(policy: try makePolicy())
        try directory.addSeries(
            GroupSeries(id: "acq", name: "Acq", purpose: .acquisition, capacity: 4, maximumGroups: 6)
        )
        try directory.addSeries(
            GroupSeries(id: "fans", name: "Fans", purpose: .fanBenefit, capacity: 10, maximumGroups: 2)
        )
        for _ in 0..<2 { try directory.openGroup(in: "acq") }
        try directory.openGroup(in: "fans")
        let people: [MemberID] = (0..<12).map { MemberID(Int64($0)) } + ["ana", "bo"]
        var clock: Int64 = 0
        for _ in 0..<steps {
            clock += generator.next(in: 0...2)
            let now = try hour(clock)
            let who = people[Int(generator.next(below: UInt64(people.count)))]
            let series: GroupSeriesID = generator.next(below: 3) == 0 ? "fans" : "acq"
            switch generator.next(below: 4) {
            case 0, 1:
                let inviter =
                    generator.next(below: 2) == 0 ? people[Int(generator.next(below: UInt64(people.count)))] : nil
                _ = try? directory.join(
                    try member(who),
                    into: .series(series),
                    invitedBy: inviter == who ? nil : inviter,
                    channel: generator.next(below: 2) == 0 ? "poster-\(generator.next(below: 3))" : nil,
                    at: now
                )
            case 2:
                guard let group = directory.group(of: who, in: series) else { continue }
                if generator.next(below: 2) == 0 {
                    try directory.leave(who, from: group, at: now)
                } else {
                    try directory.remove(
                        who,
                        from: group,
                        reason: try RemovalReason("spam \(generator.next(below: 3))"),
                        at: now
                    )
                }
            default:
                guard let group = directory.group(of: who, in: "acq") else { continue }
                _ = try? directory.move(try member(who), from: group, to: .series("acq"), at: now)
            }
        }
        return directory
    }

    @Test("a random directory comes back equal from its settings' JSON and its logs' bytes", arguments: seeds)
    func directoriesRoundTrip(seed: UInt64) throws {
        let directory = try Self.randomDirectory(seed: seed)
        #expect(directory.lastEventSequence > 50, "seed \(seed)")
        let settings = try JSONDecoder().decode(
            GroupDirectory.Settings.self,
            from: JSONEncoder().encode(directory.settings)
        )
        let logs = Self.logs(of: directory)
        let restored = try Self.directory(settings: settings, logs: logs)
        #expect(restored == directory, "seed \(seed)")
        #expect(Self.logs(of: restored) == logs, "seed \(seed)")
        #expect(try JSONDecoder().decode(GroupDirectory.self, from: JSONEncoder().encode(directory)) == directory)
    }

    @Test("every cut of the logs' bytes is a corrupt snapshot; every changed byte is refused or reads back canonically")
    func damagedLogBytes() throws {
        // Fewer steps than the round trips: each damaged copy replays every log.
        let directory = try Self.randomDirectory(seed: 3, steps: 80)
        #expect(directory.lastEventSequence > 20)
        let settings = directory.settings
        let logs = Self.logs(of: directory)
        for length in 0..<logs.count {
            let error = #expect(throws: FissionError.self) {
                try Self.directory(settings: settings, logs: Array(logs.prefix(length)))
            }
            #expect(error?.code == .corruptSnapshot)
        }
        for offset in logs.indices {
            for change: UInt8 in [1, 0x80] {
                var damaged = logs
                damaged[offset] ^= change
                switch Result(catching: { () throws(FissionError) in
                    try Self.directory(settings: settings, logs: damaged)
                }) {
                case .success(let restored):
                    #expect(
                        try Self.directory(settings: restored.settings, logs: Self.logs(of: restored)) == restored,
                        "at \(offset)"
                    )
                case .failure(let error):
                    #expect(error.code == .corruptSnapshot, "at \(offset): \(error)")
                }
            }
        }
    }
}
