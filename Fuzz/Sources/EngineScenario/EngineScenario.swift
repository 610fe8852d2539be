import Dispatch
import Fission

/// A small engine history: a published, funded campaign paying for invites and a held two-level
/// commission, members alice ← bob ← carol, and a paid order. The engine target replays it
/// before the fuzzed entry, so a mutated command meets a state with members, orders and holds.
public enum EngineScenario {
    /// When the scenario happens.
    public static let start = instant(0)

    /// The scenario's commands, in order.
    public static func prefix() throws -> [(key: EventID, command: EngineCommand)] {
        let yuan = { (value: Int64) in Money(minorUnits: value * 100, currency: .cny) }
        let campaign = try RewardCampaign(
            id: "spring",
            startsAt: start,
            endsAt: instant(60 * Timestamp.millisecondsPerDay),
            offset: .chinaStandardTime,
            currency: .cny,
            rules: [
                try RewardRule(id: "invite", shape: .inviteFixed(.money(yuan(5)))),
                try RewardRule(
                    id: "commission",
                    shape: .commission(levelRates: [.percent(10), .percent(5)], skuOverrides: []),
                    holdDays: 7
                ),
            ]
        )
        return [
            ("publish", .publishCampaign(campaign)),
            ("fund", .fundCampaign("spring", amount: try .money(yuan(10_000)))),
            ("reg-alice", .registerMember("alice", invitedBy: nil, campaign: nil, channel: nil)),
            ("reg-bob", .registerMember("bob", invitedBy: "alice", campaign: "spring", channel: "poster")),
            ("reg-carol", .registerMember("carol", invitedBy: "bob", campaign: "spring", channel: nil)),
            (
                "order-1",
                .orderPaid(
                    order: "order-1",
                    buyer: "carol",
                    kind: .regular,
                    lines: [.init(sku: "tea", quantity: 2, netPaid: yuan(300))]
                )
            ),
        ]
    }

    /// More commands of every kind that needs no group setup, applied after the prefix by the
    /// seeds generator: their journal bytes are the engine target's seeds.
    public static func followUps() throws -> [(key: EventID, command: EngineCommand)] {
        let yuan = { (value: Int64) in Money(minorUnits: value * 100, currency: .cny) }
        return [
            ("reg-dave", .registerMember("dave", invitedBy: nil, campaign: nil, channel: nil)),
            ("bind-dave", .bind("dave", to: "carol", campaign: "spring")),
            (
                "order-2",
                .orderPaid(
                    order: "order-2",
                    buyer: "bob",
                    kind: .regular,
                    lines: [.init(sku: "cup", quantity: 1, netPaid: yuan(80))]
                )
            ),
            ("refund-1", .orderRefunded(order: "order-1", amount: yuan(100))),
            ("pause", .pauseCampaign("spring")),
            ("resume", .resumeCampaign("spring")),
            ("release", .releaseHeldReward(TransferID(rawValue: 2))),
            ("reject", .rejectHeldReward(TransferID(rawValue: 3))),
            ("fund-points", .fundCampaign("spring", amount: try RewardAmount(500, .points))),
            ("advance", .advance),
            ("withdraw-alice", .withdraw("alice", amount: try .money(yuan(2)))),
            // Layers from activity: the snapshot after these is version 7 (refunds counted, each
            // order's paid day); the host's refund of reported spend is command tag 40.
            ("track", .trackActivity),
            ("use-carol", .recordActivity("carol", kind: .use)),
            ("spend-bob", .recordActivity("bob", kind: .spend(yuan(3)))),
            (
                "spend-bob:refund",
                .recordRefund("bob", amount: yuan(1), paidOn: start.calendarDay(in: .chinaStandardTime))
            ),
            ("layer-dave", .setMemberLayer("dave", layer: .ordinary)),
            ("evaluate", .evaluateLayers(on: start.calendarDay(in: .chinaStandardTime))),
            ("unpin-dave", .unpinMemberLayer("dave")),
        ]
    }

    /// Groups and check-ins after the prefix, for a snapshot with boards and membership logs: a
    /// series whose groups keep their own boards, joins (one with facts), a move out by leaving,
    /// check-ins on the community board and in a group, tags and a layer, a member forgotten; an
    /// operator's capacity change, archive and reactivation, a move, a pardon and a removal.
    public static func groupCommands() throws -> [(key: EventID, command: EngineCommand)] {
        let series = try GroupSeries(
            id: "fans",
            name: "Fans",
            purpose: .fanBenefit,
            capacity: 2,
            offset: .chinaStandardTime,
            maximumGroups: 3
        )
        return [
            ("series", .addGroupSeries(series)),
            ("join-alice", .joinGroup("alice", into: .series("fans"), invitedBy: nil, channel: "poster")),
            (
                "join-bob",
                .joinGroup(
                    "bob",
                    into: .series("fans"),
                    invitedBy: "alice",
                    channel: nil,
                    facts: .init(hasPaidOrder: true)
                )
            ),
            ("join-carol", .joinGroup("carol", into: .series("fans"), invitedBy: nil, channel: nil)),
            ("leave-bob", .leaveGroup("bob", group: "fans-1")),
            ("check-alice", .checkIn("alice", activity: "run", group: nil)),
            ("check-bob", .checkIn("bob", activity: "read", group: nil)),
            ("check-carol", .checkIn("carol", activity: "run", group: "fans-2")),
            ("tags-carol", .setMemberTags("carol", tags: [try MemberTag(category: "city", value: "上海")])),
            ("forget-bob", .forgetCheckIns("bob")),
            ("capacity", .setGroupCapacity("fans-2", capacity: 3)),
            ("archive", .archiveGroup("fans-1")),
            ("reactivate", .reactivateGroup("fans-1")),
            ("move-alice", .moveMember("alice", from: "fans-1", to: .group("fans-2"))),
            ("pardon-carol", .pardonMember("carol", group: "fans-2")),
            ("remove-carol", .removeFromGroup("carol", group: "fans-2", reason: try RemovalReason("spam"))),
        ]
    }

    /// The journal entries of `commands` applied from an empty store, in order.
    public static func journal(of commands: [(key: EventID, command: EngineCommand)]) throws -> [JournalEntry] {
        let store = InMemoryStore()
        let engine = try FissionEngine(store: store)
        try blocking {
            for (key, command) in commands { _ = try await engine.submit(command, key: key, at: start) }
        }
        return try store.entries(after: 0, limit: store.maximumPageSize)
    }

    /// Runs async work to its end from synchronous code (a fuzz target's setup).
    public static func blocking(_ body: @escaping @Sendable () async throws -> Void) throws {
        final class Outcome: @unchecked Sendable {  // written once by the task, read after the wait
            var error: (any Error)?
        }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { try await body() } catch { outcome.error = error }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw error }
    }

    static func instant(_ milliseconds: Int64) -> Timestamp {
        do {
            return try Timestamp(millisecondsSinceEpoch: 1_800_000_000_000 + milliseconds)
        } catch {
            preconditionFailure("a fixed instant is valid")
        }
    }
}
