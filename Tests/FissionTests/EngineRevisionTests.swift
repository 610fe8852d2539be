@_spi(FissionCoding) import FissionCore
import Foundation
import Testing

@testable import Fission

// A journal must replay to the outcomes it recorded in every later version of Fission. A campaign
// published before settlement revisions existed is journaled with tag 6 and JSON without the
// field; it must come back under revision one, whose arithmetic made its grants (Decision 0027).

/// A campaign whose retroactive ladder pays nothing for the first four invites and 20 yuan each
/// from the fifth: 20 yuan at the fifth invite under revision one, 100 under revision two.
private func ladderCampaign(_ revision: SettlementRevision) throws -> RewardCampaign {
    try RewardCampaign(
        id: spring,
        startsAt: start,
        endsAt: at(days: 60),
        offset: .chinaStandardTime,
        currency: .cny,
        rules: [
            try RewardRule(
                id: "ladder",
                shape: .ladder(
                    unit: cny,
                    tiers: [.init(fromCount: 1, amountEach: 0), .init(fromCount: 5, amountEach: 2_000)],
                    semantics: .retroactive
                )
            )
        ],
        settlementRevision: revision
    )
}

/// Publishes `campaign`, funds it, and registers alice and five friends she invited.
private func run(_ campaign: RewardCampaign, on engine: FissionEngine) async throws {
    try await engine.submit(.publishCampaign(campaign), key: "publish", at: at(hours: 1))
    try await engine.submit(.fundCampaign(spring, amount: .money(yuan(1_000))), key: "fund", at: at(hours: 1))
    try await engine.submit(
        .registerMember("alice", invitedBy: nil, campaign: nil, channel: nil),
        key: "alice",
        at: at(hours: 1)
    )
    for index in 0..<5 {
        try await engine.submit(
            .registerMember(MemberID("friend-\(index)"), invitedBy: "alice", campaign: spring, channel: nil),
            key: EventID("friend-\(index)"),
            at: at(hours: 2)
        )
    }
}

/// The command bytes of a publish entry: the time (8 bytes), the tag, then the campaign's JSON.
private func publishTag(_ entry: JournalEntry) -> UInt8 { entry.command[8] }

struct EngineRevisionTests {
    @Test(
        "a campaign's revision is journaled and replayed: tag 6 for revision one, 20 after",
        arguments: [(SettlementRevision.one, UInt8(6), Int64(20)), (.two, 20, 100)]
    )
    func theRevisionIsJournaled(revision: SettlementRevision, tag: UInt8, aliceYuan: Int64) async throws {
        let store = InMemoryStore()
        let engine = try FissionEngine(store: store)
        try await run(try ladderCampaign(revision), on: engine)
        #expect(wallet(await engine.state, "alice").total == aliceYuan * 100)
        let entries = try store.entries(after: 0, limit: 100)
        #expect(publishTag(entries[0]) == tag)

        // Reopened from the journal alone: the campaign settles under the same revision again.
        let reopened = try FissionEngine(store: store)
        #expect(await fingerprint(reopened) == fingerprint(engine))
        #expect(await reopened.state.settlement.campaign(spring)?.settlementRevision == revision)
    }

    @Test("a journal written before revisions existed replays under revision one, to what it recorded")
    func aJournalFromBeforeRevisions() async throws {
        let written = InMemoryStore()
        let engine = try FissionEngine(store: written)
        try await run(try ladderCampaign(.one), on: engine)
        var entries = try written.entries(after: 0, limit: 100)

        // The publish entry as Fission wrote it before revisions: tag 6, then the campaign's
        // sorted-key JSON without `settlementRevision`.
        // (The JSON is a blob: a 4-byte little-endian length, then the bytes.)
        let publish = entries[0]
        let json = Array(publish.command[13...])
        var object = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        #expect(object.removeValue(forKey: "settlementRevision") as? Int == 1)
        let oldJSON = Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        let length = UInt32(oldJSON.count)
        let oldCommand =
            Array(publish.command[0..<9]) + (0..<4).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) } + oldJSON
        entries[0] = publish.replacing(payloadDigest: stableDigest(oldCommand[8...]), command: oldCommand)

        // Without the rule, the JSON alone would say revision two: the tag decides.
        var decoding = ByteReader(bytes: Array(oldCommand[8...]))
        guard case .publishCampaign(let decoded) = try EngineCommand.decode(from: &decoding) else {
            Issue.record("not a publish command")
            return
        }
        #expect(decoded.settlementRevision == .one)

        let old = InMemoryStore()
        try old.append(entries, expectingLastSequence: 0)
        let reopened = try FissionEngine(store: old)
        #expect(await fingerprint(reopened) == fingerprint(engine))
        #expect(wallet(await reopened.state, "alice").total == 2_000)
        // A sixth friend settles under revision one too: 20 more, no top-up.
        try await reopened.submit(
            .registerMember("friend-5", invitedBy: "alice", campaign: spring, channel: nil),
            key: "friend-5",
            at: at(hours: 3)
        )
        #expect(wallet(await reopened.state, "alice").total == 4_000)
        // The old publish sent again after the upgrade describes a campaign under another
        // revision: a conflict, not a repeat (Engine.md says so).
        await #expect {
            try await reopened.submit(.publishCampaign(try ladderCampaign(.latest)), key: "publish", at: at(hours: 3))
        } throws: { error in
            (error as? FissionError)?.code == .idempotencyConflict
        }
    }

    @Test("tag 20 with a campaign under revision one is corrupt: each revision has one encoding")
    func tagTwentyUnderRevisionOne() throws {
        var writer = ByteWriter(capacity: 64)
        EngineCommand.publishCampaign(try ladderCampaign(.one)).encode(into: &writer)
        var bytes = writer.finish()
        #expect(bytes[0] == 6)
        bytes[0] = 20
        var reader = ByteReader(bytes: bytes)
        #expect {
            try EngineCommand.decode(from: &reader)
        } throws: { error in
            (error as? FissionError)?.reason.contains("revision one with tag 20") == true
        }
    }
}
