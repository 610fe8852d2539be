import Fission
import Testing

/// Adds a "welcome" series (groups of 2, growing) with group "welcome-a", moderated.
func addGroups(_ engine: FissionEngine) async throws {
    let series = try GroupSeries(
        id: "welcome",
        name: "Welcome",
        purpose: .acquisition,
        capacity: 2,
        tags: [],
        entryRule: nil,
        offset: .chinaStandardTime,
        maximumGroups: 5
    )
    try await engine.submit(.addGroupSeries(series), key: "series-welcome", at: at(hours: 2))
    let group = try CommunityGroup(id: "welcome-a", name: "Welcome A", purpose: .acquisition, capacity: 2)
    try await engine.submit(.addGroup(group, series: "welcome"), key: "group-welcome-a", at: at(hours: 2))
    let rules = try spamRules.get()
    try await engine.submit(
        .setModeration("welcome-a", rules: rules, policy: .standard),
        key: "moderate-welcome-a",
        at: at(hours: 2)
    )
}

struct EngineCommandTests {
    @Test func registrationBindsAndRewardsTheInviter() async throws {
        let engine = try await seededEngine(.memory)
        let state = await engine.state
        #expect(try state.graph.inviter(of: "carol") == "bob")
        #expect(wallet(state, "alice").available == 500)
        #expect(wallet(state, "bob").available == 500)
        let outcome = try await engine.submit(
            .registerMember("dave", invitedBy: "carol", campaign: spring, channel: nil),
            key: "reg-dave",
            at: at(hours: 3)
        )
        #expect(outcome.effects.contains(.bound("dave", inviter: "carol")))
        #expect(
            outcome.effects.contains {
                if case .granted(spring, let grant) = $0 {
                    grant.beneficiary == "carol" && !grant.isHeld
                } else {
                    false
                }
            }
        )
        #expect(outcome.sequence == 8)
        #expect(await engine.lastSequence == 8)
    }

    @Test func aLaterTouchBindsAnUnboundMember() async throws {
        let engine = try await seededEngine(.memory)
        try await engine.submit(
            .registerMember("dave", invitedBy: nil, campaign: nil, channel: nil),
            key: "reg-dave",
            at: at(hours: 3)
        )
        let outcome = try await engine.submit(
            .bind("dave", to: "alice", campaign: spring),
            key: "bind-dave",
            at: at(hours: 4)
        )
        #expect(outcome.effects == [.bound("dave", inviter: "alice")])
        #expect(try await engine.state.graph.inviter(of: "dave") == "alice")
    }

    @Test func orderPaidAttributesInvitersFromTheGraphAndHoldsCommission() async throws {
        let engine = try await seededEngine(.memory)
        let outcome = try await engine.submit(
            .orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(100)]),
            key: "o1:paid",
            at: at(days: 1)
        )
        let grants = outcome.effects.compactMap { effect -> RewardGrant? in
            if case .granted(_, let grant) = effect { grant } else { nil }
        }
        #expect(grants.map(\.beneficiary) == ["bob", "alice"])
        #expect(grants.map(\.amount.quantity) == [1_000, 500])
        #expect(grants.allSatisfy { $0.isHeld })
        let state = await engine.state
        #expect(wallet(state, "bob").pending == 1_000)
        #expect(state.paidOrderCount(of: "carol") == 1)
    }

    @Test func advancePostsMaturedHoldsOnceAndIssuesCoupons() async throws {
        let engine = try await seededEngine(.memory, coupon: true)
        let paid = try await engine.submit(
            .orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(100)]),
            key: "o1:paid",
            at: at(days: 1)
        )
        #expect(
            paid.effects.contains { if case .issueCoupon(to: "carol", type: "c-10", 1, _) = $0 { true } else { false } }
        )
        let early = try await engine.advance(to: at(days: 7))
        #expect(early.effects.isEmpty)
        let matured = try await engine.advance(to: at(days: 8, hours: 1))
        #expect(matured.effects.count == 2)
        #expect(matured.effects.allSatisfy { if case .posted = $0 { true } else { false } })
        let again = try await engine.advance(to: at(days: 8, hours: 1))
        #expect(again.isDuplicate && again.effects == matured.effects && again.sequence == matured.sequence)
        let later = try await engine.advance(to: at(days: 9))
        #expect(later.effects.isEmpty)
        let state = await engine.state
        #expect(wallet(state, "bob").available == 1_500)
        #expect(wallet(state, "bob").pending == 0)
    }

    @Test func refundsVoidHeldCommissionInEveryCampaignThatSettledIt() async throws {
        let engine = try await seededEngine(.memory)
        try await engine.submit(
            .orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(100)]),
            key: "o1:paid",
            at: at(days: 1)
        )
        let refund = try await engine.submit(
            .orderRefunded(order: "o1", amount: yuan(50)),
            key: "o1:refund",
            at: at(days: 2)
        )
        #expect(refund.effects.filter { if case .reversed = $0 { true } else { false } }.count == 2)
        #expect(wallet(await engine.state, "bob").pending == 500)
    }

    @Test func anOrderThatPaidNothingIsRefundedInFullByZero() async throws {
        let engine = try await seededEngine(.memory, coupon: true)
        let coupon = LedgerUnit.coupon("c-10")
        let paid = try await engine.submit(
            .orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(0)]),
            key: "o1:paid",
            at: at(days: 1)
        )
        #expect(
            paid.effects.contains {
                if case .issueCoupon(to: "carol", type: "c-10", 1, _) = $0 { true } else { false }
            },
            "a fully discounted order still earns its fixed reward"
        )
        #expect(wallet(await engine.state, "carol", coupon).total == 1)
        let refund = try await engine.submit(
            .orderRefunded(order: "o1", amount: yuan(0)),
            key: "o1:refund",
            at: at(days: 2)
        )
        #expect(refund.effects.contains { if case .reversed = $0 { true } else { false } })
        await #expect(throws: FissionError(code: .refundExceedsPayment)) {
            try await engine.submit(.orderRefunded(order: "o1", amount: yuan(1)), key: "o1:refund-2", at: at(days: 2))
        }
        #expect(wallet(await engine.state, "carol", coupon).total == 0)
        // Again under a new key: nothing is left to undo.
        let again = try await engine.submit(
            .orderRefunded(order: "o1", amount: yuan(0)),
            key: "o1:refund-again",
            at: at(days: 2)
        )
        #expect(!again.effects.contains { if case .reversed = $0 { true } else { false } })
        #expect(wallet(await engine.state, "carol", coupon).total == 0)
        // A refund of zero of an order that paid something is refused.
        try await engine.submit(
            .orderPaid(order: "o2", buyer: "carol", kind: .regular, lines: [line(10)]),
            key: "o2:paid",
            at: at(days: 3)
        )
        await #expect(throws: FissionError(code: .invalidAmount)) {
            try await engine.submit(.orderRefunded(order: "o2", amount: yuan(0)), key: "o2:refund", at: at(days: 3))
        }
    }

    @Test func pausedCampaignsEarnNothingUntilResumed() async throws {
        let engine = try await seededEngine(.memory)
        try await engine.submit(.pauseCampaign(spring), key: "pause", at: at(hours: 2))
        #expect(await engine.state.pausedCampaigns == [spring])
        let paused = try await engine.submit(
            .registerMember("dave", invitedBy: "carol", campaign: spring, channel: nil),
            key: "reg-dave",
            at: at(hours: 3)
        )
        #expect(paused.effects == [.bound("dave", inviter: "carol")])
        try await engine.submit(.resumeCampaign(spring), key: "resume", at: at(hours: 4))
        let resumed = try await engine.submit(
            .registerMember("erin", invitedBy: "carol", campaign: spring, channel: nil),
            key: "reg-erin",
            at: at(hours: 5)
        )
        #expect(resumed.effects.count == 2)
        #expect(wallet(await engine.state, "carol").available == 500)
    }

    @Test func fundingReportsItsTransfer() async throws {
        let engine = try await seededEngine(.memory)
        let outcome = try await engine.submit(
            .fundCampaign(spring, amount: try .money(yuan(1))),
            key: "fund-2",
            at: at(hours: 2)
        )
        guard case .funded(spring, let transfer) = outcome.effects.first else {
            Issue.record("expected a funding effect, got \(outcome.effects)")
            return
        }
        #expect(await engine.state.settlement.ledger.transfer(transfer)?.amount == 100)
    }

    @Test func groupsRouteCheckInAndModerate() async throws {
        let engine = try await seededEngine(.memory)
        try await addGroups(engine)
        let joined = try await engine.submit(
            .joinGroup("alice", into: .series("welcome"), invitedBy: nil, channel: "qr"),
            key: "join-alice",
            at: at(hours: 3)
        )
        #expect(joined.effects == [.showGroup("welcome-a", to: "alice")])
        try await engine.submit(
            .joinGroup("bob", into: .series("welcome"), invitedBy: "alice", channel: nil),
            key: "join-bob",
            at: at(hours: 3)
        )
        let opened = try await engine.submit(
            .joinGroup("carol", into: .series("welcome"), invitedBy: nil, channel: nil),
            key: "join-carol",
            at: at(hours: 3)
        )
        #expect(opened.effects.count == 2)
        #expect(
            opened.effects.contains { if case .openGroup(let group) = $0 { group.id == "welcome-2" } else { false } }
        )
        #expect(opened.effects.contains(.showGroup("welcome-2", to: "carol")))

        let checkIn = try await engine.submit(
            .checkIn("alice", activity: "run", group: "welcome-a"),
            key: "check-alice-1",
            at: at(hours: 4)
        )
        guard case .checkedIn("alice", activity: "run", _, streak: 1, milestonesReached: []) = checkIn.effects.first
        else {
            Issue.record("expected a check-in effect, got \(checkIn.effects)")
            return
        }

        let clean = try await engine.submit(
            .messagePosted("bob", group: "welcome-a", text: "hello"),
            key: "m1",
            at: at(hours: 5)
        )
        #expect(clean.effects.isEmpty)
        let first = try await engine.submit(
            .messagePosted("bob", group: "welcome-a", text: "buy spam"),
            key: "m2",
            at: at(hours: 5)
        )
        #expect(first.effects == [.warnMember("bob", group: "welcome-a"), .flagForStaff("bob", group: "welcome-a")])
        let second = try await engine.submit(
            .messagePosted("bob", group: "welcome-a", text: "spam"),
            key: "m3",
            at: at(hours: 5)
        )
        #expect(second.effects.first == .muteMember("bob", group: "welcome-a", until: at(hours: 6)))
        let third = try await engine.submit(
            .messagePosted("bob", group: "welcome-a", text: "spam!"),
            key: "m4",
            at: at(hours: 5)
        )
        #expect(third.effects.first == .removeMember("bob", group: "welcome-a"))
        #expect(await !engine.state.groups.isMember("bob", of: "welcome-a"))

        try await engine.submit(.leaveGroup("alice", group: "welcome-a"), key: "leave-alice", at: at(hours: 6))
        #expect(await engine.state.groups.members(of: "welcome-a").isEmpty)
    }

    @Test func underFirstOrderBindingTheFirstOrderBindsAndEarnsTheCommission() async throws {
        let engine = try FissionEngine(
            store: InMemoryStore(),
            configuration: .init(bindingPolicy: BindingPolicy(moment: .firstOrder))
        )
        try await seed(engine)
        #expect(try await engine.state.graph.inviter(of: "carol") == nil)
        #expect(wallet(await engine.state, "bob").available == 0)
        let paid = try await engine.submit(
            .orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(100)]),
            key: "o1:paid",
            at: at(days: 1)
        )
        #expect(paid.effects.first == .bound("carol", inviter: "bob"))
        #expect(wallet(await engine.state, "bob").pending == 1_000)
        // Bob was never bound (his own first order has not come), so nobody earns level 2.
        #expect(wallet(await engine.state, "alice").pending == 0)
    }

    @Test func timeNeverGoesBackwards() async throws {
        let engine = try await seededEngine(.memory)
        try await engine.submit(
            .registerMember("dave", invitedBy: nil, campaign: nil, channel: nil),
            key: "reg-dave",
            at: at(days: 2)
        )
        try await engine.submit(
            .registerMember("erin", invitedBy: nil, campaign: nil, channel: nil),
            key: "reg-erin",
            at: at(days: 1)
        )
        let state = await engine.state
        #expect(state.clock == at(days: 2))
        #expect(state.member("erin")?.joinedAt == at(days: 2))
    }

    @Test func membersAndPaidOrderCountsAreFoundByIdAndSurviveACheckpoint() async throws {
        let store = InMemoryStore()
        let engine = try FissionEngine(store: store)
        try await seed(engine)
        for (index, buyer) in (["carol", "bob", "carol"] as [MemberID]).enumerated() {
            let order = OrderID(Int64(index))
            try await engine.submit(
                .orderPaid(order: order, buyer: buyer, kind: .regular, lines: [line(10)]),
                key: EventID(Int64(100 + index)),
                at: at(hours: 2)
            )
        }
        try await engine.checkpoint()
        let reopened = try FissionEngine(store: store)
        for state in [await engine.state, await reopened.state] {
            #expect(state.registeredMembers.map(\.id) == ["alice", "bob", "carol"])
            #expect(state.member("bob")?.source == (try JoinSource(channel: "poster", invitedBy: "alice")))
            #expect(state.member("nobody") == nil)
            #expect(state.members.count == 3 && state.members["carol"] == state.member("carol"))
            #expect(state.paidOrderCount(of: "carol") == 2)
            #expect(state.paidOrderCount(of: "bob") == 1)
            #expect(state.paidOrderCount(of: "alice") == 0)
            #expect(state.paidOrderCount(of: "nobody") == 0)
        }
    }
}

/// Each row: a command that must fail with a typed error and change nothing.
struct EngineBadInputTests {
    struct Row: Sendable, CustomStringConvertible {
        let name: String
        let command: EngineCommand
        let code: FissionError.Code
        var description: String { self.name }
    }

    static let rows: [Row] = {
        do {
            return [
                Row(
                    name: "duplicate member",
                    command: .registerMember("alice", invitedBy: nil, campaign: nil, channel: nil),
                    code: .memberAlreadyRegistered
                ),
                Row(
                    name: "unknown inviter",
                    command: .registerMember("zed", invitedBy: "nobody", campaign: nil, channel: nil),
                    code: .unknownMember
                ),
                Row(
                    name: "self invite",
                    command: .registerMember("zed", invitedBy: "zed", campaign: nil, channel: nil),
                    code: .selfInvite
                ),
                Row(name: "bind unknown", command: .bind("nobody", to: "alice", campaign: nil), code: .unknownMember),
                Row(
                    name: "bind bound member",
                    command: .bind("carol", to: "alice", campaign: nil),
                    code: .alreadyBound
                ),
                Row(
                    name: "order by unknown buyer",
                    command: .orderPaid(order: "o9", buyer: "nobody", kind: .regular, lines: [line(10)]),
                    code: .unknownMember
                ),
                Row(
                    name: "order without lines",
                    command: .orderPaid(order: "o9", buyer: "carol", kind: .regular, lines: []),
                    code: .invalidOrder
                ),
                Row(
                    name: "order paid twice",
                    command: .orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(10)]),
                    code: .duplicateOrder
                ),
                Row(
                    name: "refund of unknown order",
                    command: .orderRefunded(order: "o9", amount: yuan(1)),
                    code: .orderNotFound
                ),
                Row(
                    name: "refund over payment",
                    command: .orderRefunded(order: "o1", amount: yuan(101)),
                    code: .refundExceedsPayment
                ),
                Row(name: "zero refund", command: .orderRefunded(order: "o1", amount: yuan(0)), code: .invalidAmount),
                Row(
                    name: "refund in another currency",
                    command: .orderRefunded(order: "o1", amount: Money(minorUnits: 1, currency: .usd)),
                    code: .currencyMismatch
                ),
                Row(
                    name: "fund unknown campaign",
                    command: .fundCampaign("nope", amount: try .money(yuan(1))),
                    code: .campaignNotFound
                ),
                Row(name: "publish twice", command: .publishCampaign(try springCampaign()), code: .duplicateCampaign),
                Row(name: "pause unknown", command: .pauseCampaign("nope"), code: .campaignNotFound),
                Row(name: "resume running", command: .resumeCampaign(spring), code: .invalidCampaignState),
                Row(
                    name: "join as unknown",
                    command: .joinGroup("nobody", into: .group("welcome-a"), invitedBy: nil, channel: nil),
                    code: .unknownMember
                ),
                Row(
                    name: "join unknown group",
                    command: .joinGroup("alice", into: .group("nope"), invitedBy: nil, channel: nil),
                    code: .groupNotFound
                ),
                Row(
                    name: "leave a group one is not in",
                    command: .leaveGroup("carol", group: "welcome-a"),
                    code: .notInGroup
                ),
                Row(
                    name: "check in unknown",
                    command: .checkIn("nobody", activity: "run", group: nil),
                    code: .unknownMember
                ),
                Row(
                    name: "check in twice a day",
                    command: .checkIn("alice", activity: "run", group: nil),
                    code: .alreadyCheckedIn
                ),
                Row(
                    name: "check in outside the group",
                    command: .checkIn("carol", activity: "run", group: "welcome-a"),
                    code: .notInGroup
                ),
                Row(
                    name: "message outside the group",
                    command: .messagePosted("carol", group: "welcome-a", text: "hi"),
                    code: .notInGroup
                ),
                Row(
                    name: "moderate unknown group",
                    command: .setModeration(
                        "nope",
                        rules: try spamRules.get(),
                        policy: .standard
                    ),
                    code: .groupNotFound
                ),
                Row(
                    name: "unknown model",
                    command: .model(ModelCommand(model: "nope", payload: [])),
                    code: .unknownModel
                ),
                Row(
                    name: "help an unknown share",
                    command: .model(.help(share: "s9", helper: "bob"), of: MutualShareModel.self),
                    code: .invalidShare
                ),
            ]
        } catch {
            preconditionFailure("fixture: \(error)")
        }
    }()

    @Test(arguments: rows) func badInputThrowsAndChangesNothing(_ row: Row) async throws {
        let engine = try await seededEngine(.memory)
        try await addGroups(engine)
        try await engine.submit(
            .orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(100)]),
            key: "o1:paid",
            at: at(days: 1)
        )
        try await engine.submit(
            .joinGroup("alice", into: .group("welcome-a"), invitedBy: nil, channel: nil),
            key: "join-alice",
            at: at(days: 1)
        )
        try await engine.submit(.checkIn("alice", activity: "run", group: nil), key: "check-alice", at: at(days: 1))
        let before = await fingerprint(engine)
        let sequence = await engine.lastSequence
        let error = await #expect(throws: FissionError.self) {
            try await engine.submit(row.command, key: "bad", at: at(days: 1))
        }
        #expect(error?.code == row.code, "\(row.name): \(String(describing: error))")
        #expect(await fingerprint(engine) == before)
        #expect(await engine.lastSequence == sequence)
        // The key is not spent by a refused command.
        try await engine.submit(.advance, key: "bad", at: at(days: 1))
    }
}
