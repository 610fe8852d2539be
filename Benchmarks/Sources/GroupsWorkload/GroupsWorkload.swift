public import FissionCore
public import FissionGroups
import FissionMembers
import GraphWorkload

/// Seeded chat text and a word list for the sensitive-word matcher (issue 3).
///
/// Words: half Chinese (2 to 4 characters from the 2,500 code points U+4E00..., the range the
/// text draws from), half Latin (4 to 8 lowercase letters). Text: messages of 64 to 512 UTF-8
/// bytes mixing runs of Chinese characters, Latin words, digits and punctuation, one message in 8
/// carrying a word from the list.
public struct MatcherWorkload: Sendable {
    /// The word list, distinct words.
    public let words: [String]
    /// The messages.
    public let messages: [String]
    /// Their total UTF-8 length.
    public let totalBytes: Int

    /// About `totalBytes` of messages and `wordCount` words.
    public init(totalBytes: Int, wordCount: Int = 10_000) {
        var random = SplitMix64(seed: 23)
        func chinese(_ random: inout SplitMix64) -> Character {
            Character(Unicode.Scalar(UInt32(0x4E00) + UInt32(random.next() % 2_500))!)
        }
        func letter(_ random: inout SplitMix64) -> Character {
            Character(Unicode.Scalar(UInt8(97 + random.next() % 26)))
        }
        var seen = Set<String>()
        var words: [String] = []
        words.reserveCapacity(wordCount)
        while words.count < wordCount {
            var word = ""
            if words.count % 2 == 0 {
                for _ in 0..<(2 + Int(random.next() % 3)) { word.append(chinese(&random)) }
            } else {
                for _ in 0..<(4 + Int(random.next() % 5)) { word.append(letter(&random)) }
            }
            if seen.insert(word).inserted { words.append(word) }
        }
        self.words = words

        let punctuation: [String] = ["，", "。", "！", "？", ", ", ". ", "! ", "~", "、"]
        var messages: [String] = []
        var total = 0
        while total < totalBytes {
            let target = 64 + Int(random.next() % 449)
            var message = ""
            let carrier = random.next() % 8 == 0
            let carrierAt = target / 2
            var carried = false
            while message.utf8.count < target {
                if carrier && !carried && message.utf8.count >= carrierAt {
                    message += " " + words[Int(random.next() % UInt64(words.count))] + " "
                    carried = true
                    continue
                }
                switch random.next() % 10 {
                case 0..<6:
                    for _ in 0..<(2 + Int(random.next() % 11)) { message.append(chinese(&random)) }
                case 6..<9:
                    message.append(" ")
                    for _ in 0..<(2 + Int(random.next() % 9)) { message.append(letter(&random)) }
                    message.append(" ")
                default:
                    if random.next() % 2 == 0 {
                        message += String(random.next() % 100_000)
                    } else {
                        message += punctuation[Int(random.next() % UInt64(punctuation.count))]
                    }
                }
            }
            total += message.utf8.count
            messages.append(message)
        }
        self.messages = messages
        self.totalBytes = total
    }

    /// The matcher over the word list.
    public func matcher() -> SensitiveWordMatcher {
        do {
            return try SensitiveWordMatcher(words: self.words)
        } catch {
            fatalError("the word list is valid: \(error)")
        }
    }

    /// Scans every message with ``SensitiveWordMatcher/matches(in:limit:)``; returns the match count.
    @inline(never)
    public static func scan(_ messages: [String], with matcher: SensitiveWordMatcher) -> Int {
        var found = 0
        for message in messages { found &+= matcher.matches(in: message).count }
        return found
    }

    /// The byte-loop floor: for each word, every position of `text` where its exact UTF-8 bytes
    /// start (first byte compared, then the rest), with no folding, no filler skipping and no word
    /// boundaries. Returns the occurrences. Time is `words × bytes`: run it on a sample.
    @inline(never)
    public static func byteLoop(_ text: [UInt8], words: [[UInt8]]) -> Int {
        var found = 0
        text.withUnsafeBufferPointer { text in
            for word in words {
                word.withUnsafeBufferPointer { word in
                    let first = word[0]
                    let length = word.count
                    guard text.count >= length else { return }
                    var position = 0
                    let last = text.count - length
                    while position <= last {
                        if text[position] == first {
                            var index = 1
                            while index < length && text[position + index] == word[index] { index += 1 }
                            if index == length { found &+= 1 }
                        }
                        position += 1
                    }
                }
            }
        }
        return found
    }

    /// The standard-library peer: `String.contains(_:)` for each word in each message. Returns how
    /// many (message, word) pairs contain the word. Time is `words × bytes`: run it on a sample.
    @inline(never)
    public static func stringContains(_ messages: [String], words: [String]) -> Int {
        var found = 0
        for message in messages {
            for word in words where message.contains(word) { found &+= 1 }
        }
        return found
    }
}

/// A group series at steady state for routing joins (issue 3): 10 groups of 500, about 96% full;
/// each step removes a random member (leave) and routes a new one into the series (join), which
/// lands in the first group with room.
public struct RoutingWorkload: Sendable {
    /// The series.
    public static let series: GroupSeriesID = "acquisition"
    /// The directory.
    public private(set) var directory: GroupDirectory
    /// The members in the series, by slot.
    var slots: [Int64] = []
    var nextMember: Int64 = 0
    var clock: Int64 = 1_750_000_000_000
    var random = SplitMix64(seed: 29)

    /// `groups` groups of `capacity`, filled with `members` members by routing.
    public init(groups: Int = 10, capacity: Int = 500, members: Int = 4_800) {
        do {
            let policy = try LayeringPolicy(
                tiers: [
                    .init(layer: .kol, requirement: nil),
                    .init(layer: .core, requirement: ActivityRequirement(minimumUses: 6, maximumDaysSinceLastUse: 21)),
                ],
                fallback: .ordinary,
                windowDays: 21,
                graceDays: 7,
                currency: .cny
            )
            var directory = GroupDirectory(policy: policy)
            try directory.addSeries(
                GroupSeries(
                    id: Self.series,
                    name: "Acquisition group",
                    purpose: .acquisition,
                    capacity: capacity,
                    maximumGroups: groups
                )
            )
            self.directory = directory
        } catch {
            fatalError("the series is valid: \(error)")
        }
        self.slots.reserveCapacity(members)
        for _ in 0..<members {
            let member = self.nextMember
            self.nextMember += 1
            self.join(member)
            self.slots.append(member)
        }
    }

    @inline(__always)
    mutating func join(_ member: Int64) {
        self.clock += 1
        let instant = try! Timestamp(millisecondsSinceEpoch: self.clock)
        do {
            try self.directory.join(
                Member(id: MemberID(member), joinedAt: instant),
                into: .series(Self.series),
                at: instant
            )
        } catch {
            fatalError("the series has room: \(error)")
        }
    }

    /// `steps` times: a random member leaves, a new member joins through the series' routing.
    /// Returns a checksum of the groups joined.
    @inline(never)
    public mutating func churn(_ steps: Int) -> Int {
        var checksum = 0
        for _ in 0..<steps {
            let slot = Int(self.random.next() % UInt64(self.slots.count))
            let leaving = MemberID(self.slots[slot])
            self.clock += 1
            do {
                guard let group = self.directory.group(of: leaving, in: Self.series) else {
                    fatalError("member \(leaving) is in the series")
                }
                try self.directory.leave(leaving, from: group, at: try! Timestamp(millisecondsSinceEpoch: self.clock))
            } catch {
                fatalError("the member is in the group: \(error)")
            }
            let member = self.nextMember
            self.nextMember += 1
            self.join(member)
            self.slots[slot] = member
            checksum &+= Int(member)
        }
        return checksum
    }
}
