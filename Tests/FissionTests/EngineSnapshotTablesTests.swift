@_spi(FissionCoding) import FissionCore
import FissionRewards
import FissionStorage
import Testing

@testable import Fission

/// A snapshot's engine tables (campaign order, paused campaigns, orders, paid-order counts) hold
/// only what the engine's commands can put there; anything else is a corrupt snapshot, as for the
/// settlement's and the graph's sections. Found by review: a campaign listed twice restored and
/// reported every grant twice; a paid-order count of Int64.max restored and stopped the process at
/// the member's next order.
struct EngineSnapshotTablesTests {
    /// The seeded engine after carol's one paid order.
    static func state() async throws -> EngineState {
        let engine = try await seededEngine(.memory)
        try await engine.submit(
            .orderPaid(order: "o-1", buyer: "carol", kind: .regular, lines: [line(100)]),
            key: "o-1",
            at: at(hours: 2)
        )
        return await engine.state
    }

    static func restoring(_ state: EngineState) throws -> FissionError? {
        let bytes = try state.snapshot()
        return #expect(throws: FissionError.self) { try EngineState(snapshot: bytes, configuration: .init()) }
    }

    @Test("the untouched state restores")
    func theStateItselfRestores() async throws {
        let state = try await Self.state()
        #expect(try EngineState(snapshot: state.snapshot(), configuration: .init()).snapshot() == state.snapshot())
    }

    @Test("a paid-order count other than the buyer's number of orders is refused", arguments: [Int64.max, -1, 0, 2])
    func paidOrderCounts(count: Int64) async throws {
        var state = try await Self.state()
        state.paidOrderCounts[Int(try #require(state.graph.index(of: "carol")).rawValue)] = count
        let error = try Self.restoring(state)
        #expect(error?.code == .corruptSnapshot)
        // A count of 0 is not written at all: then the buyer with an order has no count.
        #expect(
            error?.reason.contains(count == 0 ? "members have orders" : "paid orders of carol") == true,
            "\(error?.reason ?? "")"
        )
    }

    @Test("a campaign published twice or unknown, or a paused campaign not published, is refused")
    func campaigns() async throws {
        var twice = try await Self.state()
        twice.campaignOrder.append(spring)
        #expect(try Self.restoring(twice)?.code == .corruptSnapshot)
        var unknown = try await Self.state()
        unknown.campaignOrder.append("ghost")
        #expect(try Self.restoring(unknown)?.code == .corruptSnapshot)
        var paused = try await Self.state()
        paused.pausedCampaigns.insert("ghost")
        #expect(try Self.restoring(paused)?.code == .corruptSnapshot)
    }

    @Test("an order of an unknown buyer, refunded out of range, or naming a campaign twice is refused")
    func orders() async throws {
        let records: [EngineState.OrderRecord] = [
            .init(order: "o-2", buyer: "nobody", paid: yuan(10), refundedMinorUnits: 0, campaigns: [spring]),
            .init(order: "o-2", buyer: "alice", paid: yuan(10), refundedMinorUnits: 1_001, campaigns: [spring]),
            .init(order: "o-2", buyer: "alice", paid: yuan(10), refundedMinorUnits: -1, campaigns: [spring]),
            .init(order: "o-2", buyer: "alice", paid: yuan(10), refundedMinorUnits: 0, campaigns: [spring, spring]),
            .init(order: "o-2", buyer: "alice", paid: yuan(10), refundedMinorUnits: 0, campaigns: ["ghost"]),
        ]
        for record in records {
            var state = try await Self.state()
            let inserted = state.orders.insert(record)
            #expect(inserted)
            state.paidOrderCounts[0] = 1  // alice's, so the counts match the orders
            let error = try Self.restoring(state)
            #expect(error?.code == .corruptSnapshot, "\(record)")
            #expect(error?.reason.contains("order o-2") == true, "\(error?.reason ?? "")")
        }
        // The same order, valid, restores.
        var state = try await Self.state()
        let inserted = state.orders.insert(
            .init(order: "o-2", buyer: "alice", paid: yuan(10), refundedMinorUnits: 1_000, campaigns: [spring])
        )
        #expect(inserted)
        #expect(state.graph.index(of: "alice")?.rawValue == 0)
        state.paidOrderCounts[0] = 1
        #expect(try EngineState(snapshot: state.snapshot(), configuration: .init()).orders.records.count == 2)
    }

    @Test("a stored check-in outcome whose day is outside years 1 to 9999 fails its retry as a corrupt journal")
    func outcomeDayIsChecked() async throws {
        let written = InMemoryStore()
        let engine = try FissionEngine(store: written)
        try await engine.submit(.registerMember("a", invitedBy: nil, campaign: nil, channel: nil), key: "r", at: start)
        let outcome = try await engine.submit(.checkIn("a", activity: "run", group: nil), key: "c", at: start)
        try await engine.checkpoint()
        guard case .checkedIn(_, _, let day, _, _) = outcome.effects[0] else {
            Issue.record("no check-in effect")
            return
        }
        var entries = try written.entries(after: 0, limit: 10)
        var bytes = entries[1].outcome
        var needle = ByteWriter(capacity: 8)
        needle.append(day.daysSinceEpoch)
        let pattern = needle.finish()
        let found = try #require(bytes.indices.first { bytes[$0...].starts(with: pattern) })
        bytes.replaceSubrange(found..<(found + 8), with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        entries[1] = entries[1].replacing(outcome: bytes)
        let store = InMemoryStore()
        try store.append(entries, expectingLastSequence: 0)
        try store.saveSnapshot(try #require(written.latestSnapshot()))
        // The entry is before the snapshot, so it is not replayed: only a retry reads its outcome.
        let reopened = try FissionEngine(store: store)
        let error = await #expect(throws: FissionError.self) {
            _ = try await reopened.submit(.checkIn("a", activity: "run", group: nil), key: "c", at: start)
        }
        #expect(error?.code == .corruptJournal)
        #expect(error?.reason.contains("check-in day") == true, "\(error?.reason ?? "")")
    }
}
