import FissionCore
import FissionGroups
import FissionMembers
import Testing

/// Seeded random workloads checked against simple models. Every message names its seed.
struct PropertyTests {
    static let seeds = propertySeeds(from: 1, ciCount: 8)

    /// Two series (3 groups of capacity 2...4 that may grow to 5; one core group with a rule) and
    /// random joins, leaves, removals, moves, capacity changes and archiving.
    @Test(arguments: PropertyTests.seeds)
    func routingNeverExceedsCapacityOrPutsAMemberInTwoGroupsOfASeries(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        var directory = GroupDirectory(policy: try makePolicy())
        try directory.addSeries(
            GroupSeries(id: "acq", name: "Acq", purpose: .acquisition, capacity: 3, maximumGroups: 5)
        )
        for _ in 0..<3 { try directory.openGroup(in: "acq") }
        try directory.addSeries(GroupSeries(id: "core", name: "Core", purpose: .core, maximumGroups: 1))
        try directory.addGroup(
            CommunityGroup(id: "core-1", name: "Core", purpose: .core, capacity: 4, entryRule: .layer(atLeast: .core)),
            to: "core"
        )
        let series: [GroupSeriesID] = ["acq", "core"]
        var clock: Int64 = 0
        var successes = 0
        for step in 0..<400 {
            clock += generator.next(in: 0...2)
            let now = try hour(clock)
            let who = MemberID(generator.next(in: 0...14))
            let candidate = try member(who, layer: generator.next(below: 3) == 0 ? .core : .ordinary)
            let groups = series.flatMap { directory.series($0)?.groups ?? [] }
            let someGroup = groups[Int(generator.next(below: UInt64(groups.count)))]
            let before = DirectorySnapshot(directory, groups: groups, series: series)
            let roomBefore = groups.map { directory.group($0)!.hasRoom }
            do {
                switch generator.next(below: 8) {
                case 0, 1:
                    let target = series[Int(generator.next(below: 2))]
                    let outcome = try directory.join(candidate, into: .series(target), at: now)
                    // The first group of the series, in order, with room (the core rule aside).
                    if target == "acq" {
                        let order = directory.series("acq")!.groups
                        let expected = order.first { index in
                            groups.firstIndex(of: index).map { roomBefore[$0] } ?? true
                        }
                        #expect(outcome.group == expected, "seed \(seed) step \(step)")
                    }
                case 2: try directory.join(candidate, into: .group(someGroup), invitedBy: "x", at: now)
                case 3: try directory.leave(who, from: someGroup, at: now)
                case 4: try directory.remove(who, from: someGroup, reason: .moderation, at: now)
                case 5:
                    let from = series.compactMap { directory.group(of: who, in: $0) }.first ?? someGroup
                    let target: JoinTarget =
                        generator.next(below: 2) == 0
                        ? .group(someGroup) : .series(series[Int(generator.next(below: 2))])
                    try directory.move(candidate, from: from, to: target, at: now)
                case 6: try directory.setCapacity(Int(generator.next(in: 1...5)), of: someGroup)
                default:
                    if generator.next(below: 2) == 0 {
                        try directory.archive(someGroup)
                    } else {
                        try directory.reactivate(someGroup)
                    }
                }
                successes += 1
            } catch {
                #expect(
                    DirectorySnapshot(directory, groups: groups, series: series) == before,
                    "seed \(seed) step \(step): \(error) changed the directory"
                )
            }
            for seriesID in series {
                var seen: Set<MemberID> = []
                for groupID in directory.series(seriesID)!.groups {
                    let group = directory.group(groupID)!
                    let members = directory.members(of: groupID)
                    #expect(group.memberCount <= group.capacity, "seed \(seed) step \(step): \(groupID) over capacity")
                    #expect(group.memberCount == members.count, "seed \(seed) step \(step)")
                    for membership in members {
                        #expect(
                            seen.insert(membership.member).inserted,
                            "seed \(seed) step \(step): \(membership.member) twice in \(seriesID)"
                        )
                        #expect(
                            directory.group(of: membership.member, in: seriesID) == groupID,
                            "seed \(seed) step \(step)"
                        )
                    }
                }
            }
        }
        #expect(successes > 100, "seed \(seed): only \(successes) operations succeeded")
        #expect(directory.series("acq")!.groups.count > 3, "seed \(seed): the series never grew")
    }

    /// Random logs in one group; the directory's counts against a recount of the log.
    @Test(arguments: PropertyTests.seeds)
    func attributionEqualsABruteForceRecountOfTheLog(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        var directory = GroupDirectory(policy: try makePolicy())
        try directory.addSeries(GroupSeries(id: "s", name: "S", purpose: .acquisition, capacity: 100, maximumGroups: 2))
        try directory.openGroup(in: "s")
        try directory.openGroup(in: "s")
        var clock: Int64 = 0
        for _ in 0..<600 {
            clock += generator.next(in: 0...20)
            let now = try hour(clock)
            let who = MemberID(generator.next(in: 0...29))
            let inviter: MemberID? = generator.next(below: 4) == 0 ? nil : MemberID(generator.next(in: 0...5))
            let group: GroupID = generator.next(below: 4) == 0 ? "s-2" : "s-1"
            switch generator.next(below: 5) {
            case 0, 1:
                _ = try? directory.join(
                    member(who),
                    into: .group(group),
                    invitedBy: inviter == who ? nil : inviter,
                    at: now
                )
            case 2: try? directory.leave(who, from: group, at: now)
            case 3: try? directory.remove(who, from: group, reason: .inactivity, at: now)
            default: _ = try? directory.move(member(who), from: group, to: .series("s"), at: now)
            }
        }
        let log = directory.log(of: "s-1", limit: 10_000)
        #expect(log.count == directory.logCount(of: "s-1"))
        for inviterNumber in Int64(0)...5 {
            let inviter = MemberID(inviterNumber)
            // Brute force: each member's first entry into the group credits its inviter; the
            // credited stay ends at the first exit after it.
            var credited: [(joined: Timestamp, ended: Timestamp?)] = []
            var firstEntries: Set<MemberID> = []
            for (index, event) in log.enumerated() where event.isEntry && firstEntries.insert(event.member).inserted {
                guard case .joined(let by, _) = event.kind, by == inviter else { continue }
                let exit = log[(index + 1)...].first { $0.member == event.member && !$0.isEntry }
                credited.append((event.at, exit?.at))
            }
            #expect(
                directory.invitationCount(by: inviter, into: "s-1") == credited.count,
                "seed \(seed) inviter \(inviter)"
            )
            for _ in 0..<5 {
                let days = Int(generator.next(in: 0...10))
                let asOf = try hour(generator.next(in: 0...(clock + 48)))
                // Still in the credited stay at asOf, and in it for at least `days` days.
                let expected = credited.filter { credit in
                    let mark = credit.joined.millisecondsSinceEpoch + Int64(days) * Timestamp.millisecondsPerDay
                    return mark <= asOf.millisecondsSinceEpoch && (credit.ended.map { $0 > asOf } ?? true)
                }.count
                #expect(
                    try directory.retainedInvitationCount(by: inviter, into: "s-1", stayedDays: days, asOf: asOf)
                        == expected,
                    "seed \(seed) inviter \(inviter) days \(days) as of \(asOf)"
                )
            }
        }
    }

    /// The automaton against a naive search, on text with no filler and no letters (so the
    /// boundary rules do not apply): every occurrence of every word, overlapping ones included.
    @Test(arguments: PropertyTests.seeds)
    func matcherFindsExactlyTheOccurrencesANaiveSearchFinds(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let alphabet = Array("中国人民大会堂赌博")
        var words: [String] = []
        for _ in 0..<40 {
            let length = Int(generator.next(in: 1...4))
            let word = String((0..<length).map { _ in alphabet[Int(generator.next(below: UInt64(alphabet.count)))] })
            if !words.contains(word) { words.append(word) }
        }
        let matcher = try SensitiveWordMatcher(words: words)
        for round in 0..<50 {
            let text = Array(
                (0..<Int(generator.next(in: 0...40))).map { _ in
                    alphabet[Int(generator.next(below: UInt64(alphabet.count)))]
                }
            )
            var expected: Set<[Int]> = []
            for (wordIndex, word) in words.enumerated() {
                let characters = Array(word)
                guard characters.count <= text.count else { continue }
                for start in 0...(text.count - characters.count)
                where Array(text[start..<(start + characters.count)]) == characters {
                    // Each of these characters is 3 UTF-8 bytes.
                    expected.insert([wordIndex, start * 3, (start + characters.count) * 3])
                }
            }
            let found = matcher.matches(in: String(text), limit: 10_000).map {
                [$0.wordIndex, $0.utf8Range.lowerBound, $0.utf8Range.upperBound]
            }
            #expect(Set(found) == expected, "seed \(seed) round \(round): \(String(text))")
            #expect(found.count == expected.count, "seed \(seed) round \(round)")
        }
    }

    /// The automaton against a slow reference over the filler-stripped view of the text, with
    /// filler of both kinds, Latin letters (some upper-case or full-width) and Chinese characters
    /// mixed. Words hold no filler, so which characters are filler is never in doubt.
    @Test(arguments: PropertyTests.seeds)
    func matcherAgreesWithAReferenceOnTextWithFillerAndWordBoundaries(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let wordAlphabet: [Character] = ["赌", "博", "加", "我", "a", "s", "e", "b"]
        var words: [String] = []
        for _ in 0..<24 {
            let length = Int(generator.next(in: 1...4))
            let word = String(
                (0..<length).map { _ in wordAlphabet[Int(generator.next(below: UInt64(wordAlphabet.count)))] }
            )
            if !words.contains(word) { words.append(word) }
        }
        let matcher = try SensitiveWordMatcher(words: words)
        // Text pieces: word characters in several spellings, letters no word uses, and filler.
        let pieces: [String] = [
            "赌", "博", "加", "我", "中", "a", "A", "ａ", "s", "S", "e", "b", "x", "7",
            " ", ".", "*", "-", "'", "\u{200B}", "，", ",", "。", "!", "\n",
        ]
        for round in 0..<60 {
            let text = (0..<Int(generator.next(in: 0...30))).map { _ in
                pieces[Int(generator.next(below: UInt64(pieces.count)))]
            }.joined()
            let expected = Set(ReferenceMatcher(words: words).matches(in: text))
            let found = matcher.matches(in: text, limit: 10_000).map {
                [$0.wordIndex, $0.utf8Range.lowerBound, $0.utf8Range.upperBound]
            }
            #expect(Set(found) == expected, "seed \(seed) round \(round): \(text.debugDescription) words \(words)")
            #expect(found.count == expected.count, "seed \(seed) round \(round)")
        }
    }

    /// Random check-ins and make-ups at random hours in a random offset; streaks against a
    /// recount of the set of days checked in.
    @Test(arguments: PropertyTests.seeds)
    func streaksEqualARecountOfTheDays(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let offsets = [-12 * 60, -210, 0, 345, 480, 14 * 60]
        let offset = try UTCOffset(seconds: offsets[Int(generator.next(below: UInt64(offsets.count)))] * 60)
        let settings = try CheckInSettings(milestones: [2, 3, 5, 8, 13, 30], makeUpsPerMonth: 3)
        var board = CheckInBoard(offset: offset, settings: settings)
        // Start two days before a leap day, so runs cross 2028-02-29 and month ends.
        let start = try CalendarDay(year: 2028, month: 2, day: 27).start(in: offset)
        let someone = Member(id: "m", joinedAt: start)
        var days: Set<Int64> = []
        var reported: [Int] = []
        var day: Int64 = 0
        for step in 0..<120 {
            day += generator.next(below: 5) == 0 ? 2 : 1
            let instant = try start.adding(
                milliseconds: day * Timestamp.millisecondsPerDay + generator.next(in: 0...86_399_999)
            )
            let today = instant.calendarDay(in: offset)
            if generator.next(below: 6) == 0 {
                let back = try today.adding(days: -generator.next(in: 1...6))
                if let receipt = try? board.makeUp(someone, activity: "run", day: back, at: instant) {
                    days.insert(back.daysSinceEpoch)
                    reported += receipt.milestonesReached
                }
            }
            let receipt = try board.checkIn(someone, activity: "run", at: instant)
            #expect(receipt.day == today, "seed \(seed) step \(step)")
            days.insert(today.daysSinceEpoch)
            reported += receipt.milestonesReached
            var current = 0
            while days.contains(today.daysSinceEpoch - Int64(current)) { current += 1 }
            let longest =
                days.map { first -> Int in
                    guard !days.contains(first - 1) else { return 0 }
                    var length = 0
                    while days.contains(first + Int64(length)) { length += 1 }
                    return length
                }.max() ?? 0
            #expect(receipt.streak.current == current, "seed \(seed) step \(step) offset \(offset)")
            #expect(receipt.streak.longest == longest, "seed \(seed) step \(step) offset \(offset)")
            #expect(reported.sorted() == settings.milestones.filter { $0 <= longest }, "seed \(seed) step \(step)")
            #expect(Set(reported).count == reported.count, "seed \(seed) step \(step): a milestone reported twice")
        }
    }
}

/// The matcher's rules restated over a plain array of characters, searched naively.
struct ReferenceMatcher {
    let words: [[Character]]

    init(words: [String]) {
        self.words = words.map { Array($0).map(Self.fold) }
    }

    static func fold(_ character: Character) -> Character {
        switch character {
        case "ａ", "A": "a"
        case "S": "s"
        default: character
        }
    }

    static let softFiller: Set<Character> = [" ", ".", "*", "-", "'", "\u{200B}"]
    static let clauseFiller: Set<Character> = ["，", ",", "。", "!", "\n"]

    static func isFiller(_ character: Character) -> Bool {
        Self.softFiller.contains(character) || Self.clauseFiller.contains(character)
    }

    static func isLetter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber) || character == "ａ"
    }

    /// Each match as [word index, UTF-8 start, UTF-8 end].
    func matches(in text: String) -> [[Int]] {
        let characters = Array(text)
        var offsets: [Int] = [0]
        for character in characters { offsets.append(offsets.last! + String(character).utf8.count) }
        // Positions of the characters that are not filler: the stripped view.
        let kept = characters.indices.filter { !Self.isFiller(characters[$0]) }
        var result: [[Int]] = []
        for (wordIndex, word) in self.words.enumerated() where word.count <= kept.count {
            for start in 0...(kept.count - word.count) {
                let positions = Array(kept[start..<(start + word.count)])
                guard positions.map({ Self.fold(characters[$0]) }) == word else { continue }
                if self.accepts(word: word, positions: positions, in: characters) {
                    result.append([wordIndex, offsets[positions.first!], offsets[positions.last! + 1]])
                }
            }
        }
        return result
    }

    private func accepts(word: [Character], positions: [Int], in characters: [Character]) -> Bool {
        let first = positions.first!
        let last = positions.last!
        let inside = characters[first...last]
        // Letters: in each run of letters, filler between no pair or between every pair.
        var runPairs = 0
        var runGaps = 0
        for pair in 0..<word.count {
            let isLetterPair = pair + 1 < word.count && Self.isLetter(word[pair]) && Self.isLetter(word[pair + 1])
            if isLetterPair {
                runPairs += 1
                if positions[pair + 1] - positions[pair] > 1 { runGaps += 1 }
            } else if runPairs > 0 {
                guard runGaps == 0 || runGaps == runPairs else { return false }
                runPairs = 0
                runGaps = 0
            }
        }
        let before = first > 0 ? characters[first - 1] : nil
        let after = last + 1 < characters.count ? characters[last + 1] : nil
        if inside.contains(where: { Self.clauseFiller.contains($0) }) {
            if let before, !Self.isFiller(before) { return false }
            if let after, !Self.isFiller(after) { return false }
        }
        if Self.isLetter(word.first!), let before, Self.isLetter(before) { return false }
        if Self.isLetter(word.last!), let after, Self.isLetter(after) { return false }
        return true
    }
}
