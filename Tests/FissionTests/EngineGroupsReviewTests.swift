import FissionStorageTesting
import Foundation
import Testing

@testable import Fission

// What a review of the engine's group, check-in and registration commands found (2026-12-06):
// each test failed before its fix.

private func instant(_ milliseconds: Int64) -> Timestamp {
    try! Timestamp(millisecondsSinceEpoch: milliseconds)
}

private func series(_ id: GroupSeriesID, maximumGroups: Int = 10) throws -> GroupSeries {
    try GroupSeries(
        id: id,
        name: "Series \(id)",
        purpose: .acquisition,
        capacity: 2,
        offset: .chinaStandardTime,
        maximumGroups: maximumGroups
    )
}

struct EngineGroupsReviewTests {
    @Test(
        "a channel too long for the journal is invalidName, not a stopped process",
        arguments: ["join", "register"]
    )
    func aChannelOver64KiB(kind: String) async throws {
        let engine = try FissionEngine(store: InMemoryStore())
        try await engine.submit(.registerMember("a", invitedBy: nil, campaign: nil, channel: nil), key: "r", at: start)
        try await engine.submit(.addGroupSeries(try series("w")), key: "s", at: start)
        let channel = String(repeating: "x", count: 70_000)
        let command: EngineCommand =
            kind == "join"
            ? .joinGroup("a", into: .series("w"), invitedBy: nil, channel: channel)
            : .registerMember("b", invitedBy: nil, campaign: nil, channel: channel)
        await #expect {
            try await engine.submit(command, key: "bad", at: start)
        } throws: { error in
            (error as? FissionError)?.code == .invalidName
        }
        // In a batch, the long one fails alone.
        let results = try await engine.submit(
            batch: [
                (key: "bad", command: command),
                (key: "fine", command: .registerMember("c", invitedBy: nil, campaign: nil, channel: "poster")),
            ],
            at: start
        )
        #expect((try? results[0].get()) == nil)
        #expect((try? results[1].get()) != nil)
        #expect(await engine.lastSequence == 3)
        #expect(await fingerprint(try FissionEngine(store: engine.store)) == fingerprint(engine))
    }

    @Test("a model command whose name is too long for the journal is unknownModel, not a stopped process")
    func aModelNameOver64KiB() async throws {
        let engine = try FissionEngine(store: InMemoryStore())
        let command = EngineCommand.model(ModelCommand(model: String(repeating: "m", count: 70_000), payload: []))
        await #expect {
            try await engine.submit(command, key: "bad", at: start)
        } throws: { error in
            (error as? FissionError)?.code == .unknownModel
        }
        #expect(await engine.lastSequence == 0)
    }

    @Test(
        "a check-in whose day in the board's offset is outside years 1 to 9999 is invalidDate, and the store still opens",
        arguments: [
            // 9999-12-31T16:00Z is 10000-01-01 at +08:00.
            (Int64(253_402_272_000_000), 8 * 3_600),
            // 0001-01-01T00:00Z is 0000-12-31 at -05:00.
            (Timestamp.earliest.millisecondsSinceEpoch, -5 * 3_600),
        ]
    )
    func aCheckInAtTheEdgeOfTheCalendar(milliseconds: Int64, offsetSeconds: Int) async throws {
        let store = InMemoryStore()
        let configuration = FissionEngine.Configuration(checkInOffset: try UTCOffset(seconds: offsetSeconds))
        let engine = try FissionEngine(store: store, configuration: configuration)
        let time = instant(milliseconds)
        try await engine.submit(.registerMember("a", invitedBy: nil, campaign: nil, channel: nil), key: "r", at: time)
        let before = await fingerprint(engine)
        await #expect {
            try await engine.submit(.checkIn("a", activity: "run", group: nil), key: "c", at: time)
        } throws: { error in
            (error as? FissionError)?.code == .invalidDate
        }
        #expect(await fingerprint(engine) == before)
        try await engine.checkpoint()
        #expect(await fingerprint(try FissionEngine(store: store, configuration: configuration)) == before)
    }

    @Test("a series opens its next group past an id the operator gave another group")
    func aSeriesStepsPastATakenId() async throws {
        let engine = try FissionEngine(store: InMemoryStore())
        for name in ["m1", "m2", "m3"] {
            try await engine.submit(
                .registerMember(try MemberID(name), invitedBy: nil, campaign: nil, channel: nil),
                key: try EventID("r-\(name)"),
                at: start
            )
        }
        try await engine.submit(.addGroupSeries(try series("acq")), key: "s", at: start)
        // The operator adds the series' first group by hand, under the id its 2nd would get.
        try await engine.submit(
            .addGroup(
                try CommunityGroup(id: "acq-2", name: "Acq 2", purpose: .acquisition, capacity: 2),
                series: "acq"
            ),
            key: "g",
            at: start
        )
        try await engine.submit(
            .joinGroup("m1", into: .series("acq"), invitedBy: nil, channel: nil),
            key: "j1",
            at: start
        )
        try await engine.submit(
            .joinGroup("m2", into: .series("acq"), invitedBy: nil, channel: nil),
            key: "j2",
            at: start
        )
        let third = try await engine.submit(
            .joinGroup("m3", into: .series("acq"), invitedBy: nil, channel: nil),
            key: "j3",
            at: start
        )
        #expect(third.effects.contains(.showGroup("acq-3", to: "m3")))
        #expect(await engine.state.groups.series("acq")?.groups == ["acq-2", "acq-3"])
    }

    @Test("a check-in naming a group that does not exist is groupNotFound, as a message to it is")
    func aCheckInToAnUnknownGroup() async throws {
        let engine = try FissionEngine(store: InMemoryStore())
        try await engine.submit(.registerMember("a", invitedBy: nil, campaign: nil, channel: nil), key: "r", at: start)
        for command: EngineCommand in [
            .checkIn("a", activity: "run", group: "nowhere"),
            .messagePosted("a", group: "nowhere", text: "hello"),
        ] {
            await #expect {
                try await engine.submit(command, key: "bad", at: start)
            } throws: { error in
                (error as? FissionError)?.code == .groupNotFound
            }
        }
    }
}
