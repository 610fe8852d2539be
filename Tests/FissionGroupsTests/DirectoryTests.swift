import FissionCore
import FissionGroups
import FissionMembers
import Foundation
import Testing

struct DirectoryTests {
    /// An acquisition series of up to 3 groups of 2, a core series of one group for core members,
    /// and a fee group for members who paid.
    func makeDirectory() throws -> GroupDirectory {
        var directory = GroupDirectory(policy: try makePolicy())
        try directory.addSeries(
            GroupSeries(id: "acq", name: "Acquisition group", purpose: .acquisition, capacity: 2, maximumGroups: 3)
        )
        try directory.openGroup(in: "acq")
        try directory.addSeries(GroupSeries(id: "core", name: "Core", purpose: .core, maximumGroups: 1))
        try directory.addGroup(
            CommunityGroup(id: "core-1", name: "Core", purpose: .core, capacity: 3, entryRule: .layer(atLeast: .core)),
            to: "core"
        )
        try directory.addSeries(GroupSeries(id: "paid", name: "Paid", purpose: .fanBenefit, maximumGroups: 1))
        try directory.addGroup(
            CommunityGroup(id: "paid-1", name: "Paid", purpose: .fanBenefit, capacity: 2, entryRule: .hasPaidEntryFee),
            to: "paid"
        )
        return directory
    }

    @Test func aSeriesOpensItsNextGroupPastIdsOtherGroupsHave() throws {
        var directory = try makeDirectory()
        // "acq-2" is taken by a group of another series; "acq" has one group, so it would open
        // "acq-2" next, and opens "acq-3" instead.
        try directory.addSeries(GroupSeries(id: "other", name: "Other", purpose: .acquisition, maximumGroups: 2))
        try directory.addGroup(
            CommunityGroup(id: "acq-2", name: "Not acquisition", purpose: .acquisition, capacity: 2),
            to: "other"
        )
        let opened = try directory.openGroup(in: "acq")
        #expect(opened.id == "acq-3")
        #expect(opened.name == "Acquisition group 3")
        #expect(directory.series("acq")?.groups == ["acq-1", "acq-3"])
        #expect(try directory.openGroup(in: "acq").id == "acq-4")
        #expect(throws: FissionError(code: .seriesFull)) { try directory.openGroup(in: "acq") }
    }

    let allGroups: [GroupID] = ["acq-1", "acq-2", "acq-3", "core-1", "paid-1"]
    let allSeries: [GroupSeriesID] = ["acq", "core", "paid"]

    @Test func routingFillsInOrderOpensTheNextGroupAndReportsWhenNoneHasRoom() throws {
        var directory = try makeDirectory()
        var placed: [GroupID] = []
        var opened: [GroupID] = []
        for index in 0..<6 {
            let outcome = try directory.join(
                member(MemberID(Int64(index))),
                into: .series("acq"),
                at: hour(Int64(index))
            )
            placed.append(outcome.group)
            if let group = outcome.openedGroup { opened.append(group.id) }
        }
        #expect(placed == ["acq-1", "acq-1", "acq-2", "acq-2", "acq-3", "acq-3"])
        #expect(opened == ["acq-2", "acq-3"])
        #expect(directory.group("acq-3")?.lifecycle == .full)
        #expect(throws: FissionError(code: .seriesFull)) {
            try directory.join(member(99), into: .series("acq"), at: hour(7))
        }
        // A leave makes room in the first group again.
        try directory.leave(1, from: "acq-1", at: hour(8))
        #expect(try directory.join(member(99), into: .series("acq"), at: hour(9)).group == "acq-1")
    }

    @Test func badInputThrowsATypedErrorAndChangesNothing() throws {
        var directory = try makeDirectory()
        try directory.join(member("a"), into: .group("acq-1"), at: hour(1))
        try directory.join(member("b"), into: .group("acq-1"), invitedBy: "a", channel: "poster", at: hour(2))
        try directory.join(member("k", layer: .core), into: .group("core-1"), at: hour(2))
        try directory.join(member("k2", layer: .kol), into: .group("core-1"), at: hour(2))
        try directory.join(member("k3", layer: .core), into: .group("core-1"), at: hour(2))
        try directory.setCapacity(4, of: "core-1")
        try directory.archive("paid-1")
        let before = DirectorySnapshot(directory, groups: allGroups, series: allSeries)

        let attempts: [(FissionError.Code, () throws -> Void)] = [
            (.groupFull, { try directory.join(member("c"), into: .group("acq-1"), at: hour(3)) }),
            (
                .groupArchived,
                {
                    try directory.join(
                        member("c"),
                        facts: MemberFacts(hasPaidEntryFee: true),
                        into: .group("paid-1"),
                        at: hour(3)
                    )
                }
            ),
            (.alreadyInGroup, { try directory.join(member("a"), into: .group("acq-1"), at: hour(3)) }),
            (.alreadyInGroup, { try directory.join(member("a"), into: .series("acq"), at: hour(3)) }),
            (.notInGroup, { try directory.leave("c", from: "acq-1", at: hour(3)) }),
            (.notInGroup, { try directory.remove("k", from: "acq-1", reason: .moderation, at: hour(3)) }),
            (.groupNotFound, { try directory.leave("a", from: "nowhere", at: hour(3)) }),
            (.groupNotFound, { try directory.join(member("c"), into: .series("nowhere"), at: hour(3)) }),
            (.capacityBelowMemberCount, { try directory.setCapacity(2, of: "core-1") }),
            (.invalidGroupSettings, { try directory.setCapacity(1, of: "acq-1") }),
            (.entryRuleNotMet, { try directory.join(member("c"), into: .group("core-1"), at: hour(3)) }),
            (.entryRuleNotMet, { try directory.join(member("c"), into: .series("core"), at: hour(3)) }),
            (.eventOutOfOrder, { try directory.leave("a", from: "acq-1", at: hour(1)) }),
            (.inviterIsInvitee, { try directory.join(member("c"), into: .series("acq"), invitedBy: "c", at: hour(3)) }),
            (.invalidName, { try directory.join(member("c"), into: .series("acq"), channel: "", at: hour(3)) }),
            (.alreadyInGroup, { try directory.move(member("a"), from: "acq-1", to: .group("acq-1"), at: hour(3)) }),
            (.entryRuleNotMet, { try directory.move(member("a"), from: "acq-1", to: .group("core-1"), at: hour(3)) }),
            (
                .notInGroup,
                { try directory.move(member("c", layer: .core), from: "acq-1", to: .group("core-1"), at: hour(3)) }
            ),
            (
                .duplicateGroup,
                { try directory.addSeries(GroupSeries(id: "acq", name: "Again", purpose: .core, maximumGroups: 1)) }
            ),
            (
                .invalidGroupSettings,
                { try directory.addGroup(CommunityGroup(id: "x", name: "X", purpose: .core), to: "core") }
            ),
        ]
        for (code, attempt) in attempts {
            #expect(throws: FissionError(code: code)) { try attempt() }
        }
        #expect(DirectorySnapshot(directory, groups: allGroups, series: allSeries) == before)
    }

    @Test func groupAndSeriesSettingsAreValidated() throws {
        #expect(throws: FissionError(code: .invalidGroupSettings)) {
            try CommunityGroup(id: "g", name: "G", purpose: .core, capacity: 1)
        }
        #expect(throws: FissionError(code: .invalidGroupSettings)) {
            try CommunityGroup(id: "g", name: "", purpose: .core)
        }
        #expect(throws: FissionError(code: .invalidGroupSettings)) {
            try GroupSeries(id: "s", name: "S", purpose: .core, maximumGroups: 0)
        }
        #expect(throws: FissionError(code: .invalidGroupSettings)) { try GroupPurpose("") }
        #expect(try CommunityGroup(id: "g", name: "G", purpose: GroupPurpose("night-running")).capacity == 500)
    }

    @Test func promotionMovesAMemberAtomically() throws {
        var directory = try makeDirectory()
        try directory.join(member("a"), into: .series("acq"), invitedBy: "z", at: hour(1))
        // Still ordinary: the move is refused and the member stays put.
        #expect(throws: FissionError(code: .entryRuleNotMet)) {
            try directory.move(member("a"), from: "acq-1", to: .series("core"), at: hour(2))
        }
        #expect(directory.group(of: "a", in: "acq") == "acq-1")
        // Promoted to core: moved in one step.
        let outcome = try directory.move(member("a", layer: .core), from: "acq-1", to: .series("core"), at: hour(3))
        #expect(outcome.group == "core-1")
        #expect(directory.group(of: "a", in: "acq") == nil)
        #expect(directory.group(of: "a", in: "core") == "core-1")
        #expect(directory.log(of: "acq-1").last?.kind == .movedOut(to: "core-1"))
        #expect(directory.log(of: "core-1").last?.kind == .movedIn(from: "acq-1"))
        // Within a series, a move skips the source group and never leaves the member in two.
        try directory.join(member("b"), into: .series("acq"), at: hour(4))
        try directory.join(member("c"), into: .series("acq"), at: hour(4))
        let within = try directory.move(member("b"), from: "acq-1", to: .series("acq"), at: hour(5))
        #expect(within.group == "acq-2")
        #expect(within.openedGroup?.id == "acq-2")
        #expect(directory.group(of: "b", in: "acq") == "acq-2")
        #expect(!directory.isMember("b", of: "acq-1"))
    }

    @Test func inviterOfTheJoinAnswersInvitedByMemberOf() throws {
        var directory = try makeDirectory()
        try directory.addSeries(
            GroupSeries(
                id: "friends",
                name: "Friends of core",
                purpose: .wordOfMouth,
                entryRule: .invitedByMember(of: "core-1"),
                maximumGroups: 2
            )
        )
        try directory.join(member("k", layer: .core), into: .group("core-1"), at: hour(1))
        #expect(throws: FissionError(code: .entryRuleNotMet)) {
            try directory.join(member("f"), into: .series("friends"), invitedBy: "x", at: hour(2))
        }
        let outcome = try directory.join(member("f"), into: .series("friends"), invitedBy: "k", at: hour(2))
        #expect(outcome.openedGroup?.id == "friends-1")
        #expect(
            directory.explainEntry(of: try member("g"), facts: .none, into: "friends-1", invitedBy: nil)?.isSatisfied
                == false
        )
    }

    @Test func attributionCountsFirstJoinsAndRetainedStays() throws {
        var directory = try makeDirectory()
        try directory.setCapacity(10, of: "acq-1")
        try directory.join(member("a"), into: .group("acq-1"), at: hour(0))
        try directory.join(member("b"), into: .group("acq-1"), invitedBy: "a", at: hour(1))
        try directory.join(member("c"), into: .group("acq-1"), invitedBy: "a", at: hour(2))
        try directory.join(member("d"), into: .group("acq-1"), invitedBy: "a", at: hour(3))
        try directory.leave("c", from: "acq-1", at: hour(30))
        // c comes back through b: nobody is credited again.
        try directory.join(member("c"), into: .group("acq-1"), invitedBy: "b", at: hour(40))
        try directory.remove("d", from: "acq-1", reason: .moderation, at: hour(24 * 8))
        #expect(directory.invitationCount(by: "a", into: "acq-1") == 3)
        #expect(directory.invitationCount(by: "b", into: "acq-1") == 0)
        #expect(directory.invitees(of: "a", into: "acq-1") == ["b", "c", "d"])
        // After 7 days: b stayed; c left on day 2 (and came back uncredited); d was removed on day 8.
        #expect(try directory.retainedInvitationCount(by: "a", into: "acq-1", stayedDays: 7, asOf: hour(24 * 9)) == 1)
        // Just before d's removal, d counted: the count goes down when an invitee leaves.
        #expect(
            try directory.retainedInvitationCount(by: "a", into: "acq-1", stayedDays: 7, asOf: hour(24 * 8 - 1)) == 2
        )
        #expect(try directory.retainedInvitationCount(by: "a", into: "acq-1", stayedDays: 7, asOf: hour(24 * 8)) == 1)
        // Before the 7 days are up nobody counts yet.
        #expect(try directory.retainedInvitationCount(by: "a", into: "acq-1", stayedDays: 7, asOf: hour(24 * 7)) == 0)
        #expect(try directory.retainedInvitationCount(by: "a", into: "acq-1", stayedDays: 10, asOf: hour(24 * 20)) == 1)
        #expect(try directory.retainedInvitationCount(by: "a", into: "nowhere", stayedDays: 0, asOf: hour(1)) == 0)
        for days in [-1, GroupDirectory.maximumStayedDays + 1, Int.min, Int.max] {
            #expect(throws: FissionError(code: .invalidStayedDays), "\(days)") {
                try directory.retainedInvitationCount(by: "a", into: "acq-1", stayedDays: days, asOf: hour(1))
            }
        }
    }

    @Test func routingSkipsGroupsThatRefuseTheMemberAndOpensTheNextWhenNoneThatAdmitsHasRoom() throws {
        var directory = GroupDirectory(policy: try makePolicy())
        try directory.addSeries(
            GroupSeries(id: "mix", name: "Mix", purpose: .acquisition, capacity: 2, maximumGroups: 3)
        )
        // The first group takes core members only and has room; the series' template admits all.
        try directory.addGroup(
            CommunityGroup(id: "vip", name: "VIP", purpose: .core, capacity: 2, entryRule: .layer(atLeast: .core)),
            to: "mix"
        )
        try directory.openGroup(in: "mix")
        // A core member goes to the first group; ordinary members skip it.
        #expect(try directory.join(member("k", layer: .core), into: .series("mix"), at: hour(1)).group == "vip")
        #expect(try directory.join(member("a"), into: .series("mix"), at: hour(1)).group == "mix-2")
        #expect(try directory.join(member("b"), into: .series("mix"), at: hour(1)).group == "mix-2")
        // mix-2 is full and vip, which refuses ordinary members, still has room: a new group opens.
        let opened = try directory.join(member("c"), into: .series("mix"), at: hour(2))
        #expect(opened.group == "mix-3" && opened.openedGroup?.id == "mix-3")
        #expect(directory.group("vip")?.memberCount == 1)
        try directory.join(member("d"), into: .series("mix"), at: hour(2))
        // Nothing that admits an ordinary member has room and the series may not grow: the refusal
        // of the group with room is the error, not seriesFull.
        #expect(throws: FissionError(code: .entryRuleNotMet)) {
            try directory.join(member("e"), into: .series("mix"), at: hour(3))
        }
        // A core member still gets the room in vip.
        #expect(try directory.join(member("k2", layer: .core), into: .series("mix"), at: hour(3)).group == "vip")
        #expect(throws: FissionError(code: .seriesFull)) {
            try directory.join(member("k3", layer: .core), into: .series("mix"), at: hour(3))
        }
    }

    @Test func seriesAndFactsAreValidatedWhenDecoded() throws {
        let series = try GroupSeries(id: "s", name: "S", purpose: .core, capacity: 3, maximumGroups: 2)
        let json = String(decoding: try JSONEncoder().encode(series), as: UTF8.self)
        #expect(try JSONDecoder().decode(GroupSeries.self, from: Data(json.utf8)) == series)
        let bad = [
            json.replacingOccurrences(of: "\"capacity\":3", with: "\"capacity\":1"),
            json.replacingOccurrences(of: "\"maximumGroups\":2", with: "\"maximumGroups\":0"),
            json.replacingOccurrences(of: "\"name\":\"S\"", with: "\"name\":\"\""),
            json.replacingOccurrences(of: "\"groups\":[]", with: "\"groups\":[\"g\",\"g\"]"),
            json.replacingOccurrences(of: "\"groups\":[]", with: "\"groups\":[\"g\",\"h\",\"i\"]"),
        ]
        for text in bad {
            #expect(text != json)
            #expect(throws: DecodingError.self, "\(text)") {
                try JSONDecoder().decode(GroupSeries.self, from: Data(text.utf8))
            }
        }
        // A series that lists a group is refused by addSeries (add it empty, then its groups).
        let listed = json.replacingOccurrences(of: "\"groups\":[]", with: "\"groups\":[\"g\"]")
        var directory = GroupDirectory(policy: try makePolicy())
        #expect(throws: FissionError(code: .invalidGroupSettings)) {
            try directory.addSeries(JSONDecoder().decode(GroupSeries.self, from: Data(listed.utf8)))
        }
        let facts = MemberFacts(hasPaidOrder: true, inviterGroups: ["g"])
        #expect(try JSONDecoder().decode(MemberFacts.self, from: JSONEncoder().encode(facts)) == facts)
        let tooMany =
            #"{"hasPaidOrder":false,"hasPaidEntryFee":false,"inviterGroups":["#
            + Array(repeating: "1", count: MemberFacts.maximumInviterGroups + 1).joined(separator: ",") + "]}"
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(MemberFacts.self, from: Data(tooMany.utf8)) }
    }
}
