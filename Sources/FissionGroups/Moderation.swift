public import FissionCore

extension FissionError.Code {
    /// A message was longer than ``ModerationRules/maximumTextUTF8Length``.
    public static let messageTooLong = Self("messageTooLong")
}

/// One thing in a message that breaks a moderation rule.
public struct ModerationHit: Hashable, Sendable {
    /// Which rule it breaks.
    public enum Kind: Hashable, Sendable {
        /// A word from the sensitive-word list (as the list spells it).
        case sensitiveWord(String)
        /// A phrase asking people to get in touch elsewhere.
        case contactPhrase(String)
        /// A link.
        case link
        /// A phone number.
        case phoneNumber
    }

    /// Which rule it breaks.
    public let kind: Kind
    /// Where it is in the message, in UTF-8 code units.
    public let utf8Range: Range<Int>

    /// Creates a hit.
    public init(kind: Kind, utf8Range: Range<Int>) {
        self.kind = kind
        self.utf8Range = utf8Range
    }
}

/// A sensitive-word list and ad rules, built once and shared by any number of groups.
///
/// In `Codable` form the rules are their word lists and settings; decoding rebuilds the matchers.
public struct ModerationRules: Hashable, Sendable, Codable {
    /// The longest message the rules read, in UTF-8 bytes.
    public static var maximumTextUTF8Length: Int { 1 << 20 }
    /// The most hits one scan reports.
    public static var maximumHits: Int { 64 }

    /// The sensitive words, or `nil` for none.
    public let sensitiveWords: SensitiveWordMatcher?
    /// The ad rules.
    public let ads: AdRules

    /// Creates rules.
    ///
    /// - Parameters:
    ///   - sensitiveWords: Words to flag; may be empty.
    ///   - ads: Links, phone numbers and contact phrases.
    /// - Throws: ``FissionError/Code/invalidWordList`` for an empty or over-long word.
    /// - Complexity: O(*total characters* + 65,536), once.
    public init(sensitiveWords: [String], ads: AdRules) throws(FissionError) {
        self.sensitiveWords = sensitiveWords.isEmpty ? nil : try SensitiveWordMatcher(words: sensitiveWords)
        self.ads = ads
    }

    /// Everything in `text` that breaks a rule: sensitive words, then contact phrases, links and
    /// phone numbers, each in text order; at most ``maximumHits``.
    ///
    /// - Throws: ``FissionError/Code/messageTooLong`` past ``maximumTextUTF8Length`` bytes.
    /// - Complexity: O(*n*) in the text's UTF-8 length.
    public func scan(_ text: String) throws(FissionError) -> [ModerationHit] {
        guard text.utf8.count <= Self.maximumTextUTF8Length else {
            throw FissionError(
                code: .messageTooLong,
                reason: "a message of \(text.utf8.count) bytes; at most \(Self.maximumTextUTF8Length) are read"
            )
        }
        var hits: [ModerationHit] = []
        var text = text
        text.withUTF8 { bytes in
            if let words = self.sensitiveWords {
                words.forEachMatch(in: bytes) { match in
                    hits.append(
                        ModerationHit(kind: .sensitiveWord(words.words[match.wordIndex]), utf8Range: match.utf8Range)
                    )
                    return hits.count < Self.maximumHits
                }
            }
            if let phrases = self.ads.contactPhrases, hits.count < Self.maximumHits {
                phrases.forEachMatch(in: bytes) { match in
                    hits.append(
                        ModerationHit(kind: .contactPhrase(phrases.words[match.wordIndex]), utf8Range: match.utf8Range)
                    )
                    return hits.count < Self.maximumHits
                }
            }
            if self.ads.detectsLinks, hits.count < Self.maximumHits {
                self.ads.forEachLink(in: bytes) { range in
                    hits.append(ModerationHit(kind: .link, utf8Range: range))
                    return hits.count < Self.maximumHits
                }
            }
            if self.ads.detectsPhoneNumbers, hits.count < Self.maximumHits {
                self.ads.forEachPhoneNumber(in: bytes) { range in
                    hits.append(ModerationHit(kind: .phoneNumber, utf8Range: range))
                    return hits.count < Self.maximumHits
                }
            }
        }
        return hits
    }
}

/// What a group does to members who break the rules: warn, then mute, then remove, counting
/// strikes in a trailing window.
///
/// Each message with at least one hit is one strike. With *n* strikes in the window (this one
/// included), the member is removed when *n* ≥ ``removeAfterStrikes``, muted when *n* ≥
/// ``muteAfterStrikes``, and warned otherwise.
public struct StrikePolicy: Hashable, Sendable, Codable {
    /// Warn on the first strike, mute for an hour on the second, remove on the third within 7 days.
    public static let standard = StrikePolicy(
        validatedWindowDays: 7,
        muteAfterStrikes: 2,
        muteMinutes: 60,
        removeAfterStrikes: 3,
        flagsForStaff: true
    )

    /// The trailing window strikes are counted in, in days of 24 hours.
    public let windowDays: Int
    /// The strike count at which a member is muted.
    public let muteAfterStrikes: Int
    /// How long a mute lasts.
    public let muteMinutes: Int
    /// The strike count at which a member is removed.
    public let removeAfterStrikes: Int
    /// Whether every hit is also flagged for staff to review.
    public let flagsForStaff: Bool

    /// Creates a policy.
    ///
    /// - Parameters:
    ///   - windowDays: 1 to 365.
    ///   - muteAfterStrikes: 1 to `removeAfterStrikes`; equal to it to never mute.
    ///   - muteMinutes: 1 to 43,200 (30 days).
    ///   - removeAfterStrikes: 1 to 100.
    ///   - flagsForStaff: Whether hits are flagged for staff.
    /// - Throws: ``FissionError/Code/invalidStrikePolicy`` when a value is out of range.
    public init(
        windowDays: Int,
        muteAfterStrikes: Int,
        muteMinutes: Int,
        removeAfterStrikes: Int,
        flagsForStaff: Bool = true
    ) throws(FissionError) {
        guard (1...365).contains(windowDays), (1...100).contains(removeAfterStrikes),
            (1...removeAfterStrikes).contains(muteAfterStrikes), (1...43_200).contains(muteMinutes)
        else {
            throw FissionError(
                code: .invalidStrikePolicy,
                reason: "window \(windowDays) d, mute after \(muteAfterStrikes) for \(muteMinutes) min, remove after "
                    + "\(removeAfterStrikes): need 1...365 d, 1 <= mute <= remove <= 100, 1...43200 min"
            )
        }
        self.init(
            validatedWindowDays: windowDays,
            muteAfterStrikes: muteAfterStrikes,
            muteMinutes: muteMinutes,
            removeAfterStrikes: removeAfterStrikes,
            flagsForStaff: flagsForStaff
        )
    }

    private init(
        validatedWindowDays windowDays: Int,
        muteAfterStrikes: Int,
        muteMinutes: Int,
        removeAfterStrikes: Int,
        flagsForStaff: Bool
    ) {
        self.windowDays = windowDays
        self.muteAfterStrikes = muteAfterStrikes
        self.muteMinutes = muteMinutes
        self.removeAfterStrikes = removeAfterStrikes
        self.flagsForStaff = flagsForStaff
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        do {
            try self.init(
                windowDays: container.decode(Int.self, forKey: .windowDays),
                muteAfterStrikes: container.decode(Int.self, forKey: .muteAfterStrikes),
                muteMinutes: container.decode(Int.self, forKey: .muteMinutes),
                removeAfterStrikes: container.decode(Int.self, forKey: .removeAfterStrikes),
                flagsForStaff: container.decode(Bool.self, forKey: .flagsForStaff)
            )
        } catch let error as FissionError {
            throw DecodingError.dataCorruptedError(forKey: .windowDays, in: container, debugDescription: error.reason)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case windowDays
        case muteAfterStrikes
        case muteMinutes
        case removeAfterStrikes
        case flagsForStaff
    }
}

/// What the host should do about a message. The library only decides; it sends nothing.
public enum ModerationAction: Hashable, Sendable {
    /// Nothing: the message broke no rule.
    case none
    /// Warn the member.
    case warn
    /// Mute the member until the given instant.
    case mute(until: Timestamp)
    /// Remove the member from the group (then record it with
    /// ``GroupDirectory/remove(_:from:reason:at:)`` and ``RemovalReason/moderation``).
    case remove
}

/// The outcome of reviewing one message.
public struct ModerationDecision: Hashable, Sendable {
    /// What broke a rule; empty when nothing did.
    public let hits: [ModerationHit]
    /// What to do.
    public let action: ModerationAction
    /// The member's strikes in the window, this message's included.
    public let strikesInWindow: Int
    /// Whether staff should look at the message.
    public let flagForStaff: Bool
}

/// Moderation for one group: shared rules, the group's strike policy, and its members' strikes.
///
/// The moderator keeps each member's latest strikes (at most ``StrikePolicy/removeAfterStrikes``)
/// for at most ``maximumTrackedMembers`` members. When a new member would pass that limit, the
/// members whose strikes have all left the window are forgotten first; only if none has does
/// ``review(_:from:at:)`` throw ``FissionError/Code/moderatorFull``.
///
/// In `Codable` form a moderator is its rules, its policy and its strikes sorted by member, so
/// equal moderators encode to equal bytes; decoding checks the strikes. The encoding holds the
/// word lists: a host that keeps many groups may prefer to persist one ``ModerationRules`` and
/// rebuild each moderator with ``init(rules:policy:)``, but then strikes are lost.
public struct GroupModerator: Hashable, Sendable, Codable {
    /// The most members whose strikes one moderator tracks.
    public static var maximumTrackedMembers: Int { 1 << 20 }

    /// The rules messages are checked against.
    public let rules: ModerationRules
    /// The group's strike policy.
    public let policy: StrikePolicy
    /// Each member's recent strikes, oldest first, at most ``StrikePolicy/removeAfterStrikes``.
    var strikes: [MemberID: [Timestamp]] = [:]

    /// Creates a moderator with no strikes recorded.
    public init(rules: ModerationRules, policy: StrikePolicy = .standard) {
        self.rules = rules
        self.policy = policy
    }

    /// Checks a message, records a strike if it broke a rule, and decides what to do.
    ///
    /// - Parameters:
    ///   - text: The message.
    ///   - member: Who posted it.
    ///   - instant: When.
    /// - Throws: ``FissionError/Code/messageTooLong``; ``FissionError/Code/moderatorFull`` when
    ///   the message broke a rule and the moderator tracks ``maximumTrackedMembers`` other members
    ///   who all have a strike in the window. Nothing is recorded then.
    /// - Complexity: O(*n*) in the message's UTF-8 length; O(*m*) in the tracked members, once,
    ///   when the limit is reached.
    public mutating func review(
        _ text: String,
        from member: MemberID,
        at instant: Timestamp
    ) throws(FissionError) -> ModerationDecision {
        let hits = try self.rules.scan(text)
        guard !hits.isEmpty else {
            return ModerationDecision(
                hits: [],
                action: .none,
                strikesInWindow: self.strikeCount(of: member, asOf: instant),
                flagForStaff: false
            )
        }
        if self.strikes[member] == nil && self.strikes.count >= Self.maximumTrackedMembers {
            try self.makeRoom(at: instant)
        }
        var recent = self.strikes[member] ?? []
        recent.append(instant)
        recent.sort()
        // Counted before the oldest are dropped: a message reviewed after later ones (an instant
        // before their strikes) counts its own strike and those before it.
        let count = Self.count(recent, inWindowEndingAt: instant, windowDays: self.policy.windowDays)
        if recent.count > self.policy.removeAfterStrikes {
            recent.removeFirst(recent.count - self.policy.removeAfterStrikes)
        }
        self.strikes[member] = recent
        let action: ModerationAction
        if count >= self.policy.removeAfterStrikes {
            action = .remove
        } else if count >= self.policy.muteAfterStrikes {
            let until = Timestamp(
                unchecked: min(
                    instant.millisecondsSinceEpoch + Int64(self.policy.muteMinutes) * 60_000,
                    Timestamp.latest.millisecondsSinceEpoch
                )
            )
            action = .mute(until: until)
        } else {
            action = .warn
        }
        return ModerationDecision(
            hits: hits,
            action: action,
            strikesInWindow: count,
            flagForStaff: self.policy.flagsForStaff
        )
    }

    /// The member's strikes in the window that ends at `now` (inclusive).
    public func strikeCount(of member: MemberID, asOf now: Timestamp) -> Int {
        Self.count(self.strikes[member] ?? [], inWindowEndingAt: now, windowDays: self.policy.windowDays)
    }

    private static func count(_ strikes: [Timestamp], inWindowEndingAt now: Timestamp, windowDays: Int) -> Int {
        let windowStart = now.millisecondsSinceEpoch - Int64(windowDays) * Timestamp.millisecondsPerDay
        return strikes.count { $0.millisecondsSinceEpoch > windowStart && $0 <= now }
    }

    /// Forgets a member's strikes, for example after staff overturned a decision.
    public mutating func pardon(_ member: MemberID) {
        self.strikes[member] = nil
    }

    /// How many members the moderator holds strikes of, at most ``maximumTrackedMembers``.
    public var trackedMemberCount: Int { self.strikes.count }

    /// Forgets the members whose strikes all left the window that ends at `instant`.
    ///
    /// - Throws: ``FissionError/Code/moderatorFull`` if none has; nothing changes then.
    private mutating func makeRoom(at instant: Timestamp) throws(FissionError) {
        let windowStart = instant.millisecondsSinceEpoch - Int64(self.policy.windowDays) * Timestamp.millisecondsPerDay
        let expired = self.strikes.filter { $0.value.allSatisfy { $0.millisecondsSinceEpoch <= windowStart } }
        guard !expired.isEmpty else {
            throw FissionError(
                code: .moderatorFull,
                reason: "the moderator tracks \(Self.maximumTrackedMembers) members with strikes in the window"
            )
        }
        for member in expired.keys { self.strikes[member] = nil }
    }
}
