import FissionCore
import Foundation
import Testing

@testable import FissionRewards

// A settlement snapshot keeps each settled event's fingerprint. A host upgrading Fission restores
// the snapshots an earlier version wrote, and its retries of events settled before the upgrade must
// still be recognised as repeats, not refused as conflicts: these bytes, written once by an earlier
// version, pin the format and the fingerprints together.

/// `Settlement.snapshot()` of `legacyScenarioSettlement()` after `legacyScenarioEvents()`, written by
/// the code of 90d5fc2 (snapshot version 1, before `OrderPaid` kept its fields in one object and the
/// compact batch call came), kept in `Tests/Fixtures/settlement-snapshot-v1.bin` (the fuzz seeds
/// start from it too).
private func loadVersionOneSnapshot() throws -> [UInt8] {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    return Array(try Data(contentsOf: fixtures.appendingPathComponent("Fixtures/settlement-snapshot-v1.bin")))
}

struct LegacySnapshotTests {
    @Test func aVersionOneSnapshotRestoresAndRecognisesItsEvents() throws {
        let versionOneSnapshot = try loadVersionOneSnapshot()
        #expect(versionOneSnapshot[4] == 1, "the fixture is version 1")
        var restored = try Settlement(snapshot: versionOneSnapshot)
        #expect(restored.ledger.audit().isEmpty)
        // It writes version 3: the same bytes, and before its one campaign the campaign's
        // fingerprint scheme (0, the double round of version 1) and settlement revision (1).
        let rewritten = restored.snapshot()
        #expect(rewritten.count == versionOneSnapshot.count + 2)
        #expect(rewritten[4] == 3)
        let scheme = try #require(rewritten.indices.dropFirst(8).first { rewritten[$0] != versionOneSnapshot[$0] })
        #expect(rewritten[scheme] == 0 && rewritten[scheme + 1] == 1)
        #expect(restored.campaign("legacy")?.settlementRevision == .one)
        var withoutScheme = rewritten
        withoutScheme.removeSubrange(scheme...(scheme + 1))
        withoutScheme[4] = 1
        #expect(withoutScheme == versionOneSnapshot)

        // The same events, settled afresh, give what the restored settlement remembers.
        var fresh = try legacyScenarioSettlement()
        let events = try legacyScenarioEvents()
        for item in events {
            let first = try fresh.settle(item.event, id: item.id, campaign: "legacy")
            let again = try restored.settle(item.event, id: item.id, campaign: "legacy")
            #expect(again.isDuplicate, "\(item.id) is a repeat, not a conflict")
            #expect(again.grants == first.grants && again.reversals == first.reversals)
        }
        // Today's code makes the same ledger for the same events; only its campaign fingerprints
        // them the new way (scheme 2), so the settled events' fingerprints differ.
        #expect(fresh.ledger.transfers(limit: 100) == restored.ledger.transfers(limit: 100))
        let today = fresh.snapshot()
        #expect(today.count == rewritten.count && today[scheme] == 2)
        // A different payload under a settled id is still a conflict.
        #expect(throws: FissionError(code: .idempotencyConflict)) {
            try restored.settle(
                .memberRegistered(member: "bob", inviter: "carol", at: at(days: 1)),
                id: "reg-bob",
                campaign: "legacy"
            )
        }
        // New events settle, and are recognised through another snapshot.
        let carol = RewardEvent.memberRegistered(member: "carol", inviter: "bob", at: at(days: 5))
        _ = try restored.settle(carol, id: "reg-carol", campaign: "legacy")
        var reopened = try Settlement(snapshot: restored.snapshot())
        #expect(try reopened.settle(carol, id: "reg-carol", campaign: "legacy").isDuplicate)
        // The campaign keeps the version-1 fingerprints through a version-2 snapshot: events
        // settled before the upgrade are still repeats.
        for item in events {
            #expect(try reopened.settle(item.event, id: item.id, campaign: "legacy").isDuplicate, "\(item.id)")
        }
    }

    /// A campaign added after the upgrade fingerprints the new way, beside one that keeps the old
    /// way, and a snapshot keeps each campaign's scheme.
    @Test func aCampaignAddedAfterAnUpgradeUsesTheNewFingerprints() throws {
        let versionOneSnapshot = try loadVersionOneSnapshot()
        var settlement = try Settlement(snapshot: versionOneSnapshot)
        let rule = try RewardRule(id: "invite", shape: .inviteFixed(.money(yuan(5))))
        try settlement.addCampaign(thirtyDayCampaign("summer", [rule]))
        try settlement.fund("summer", amount: .money(yuan(100)), id: "fund-summer", at: start)
        let dora = RewardEvent.memberRegistered(member: "dora", inviter: "bob", at: at(days: 2))
        #expect(try settlement.settle(dora, id: "reg-dora", campaign: "summer").grants.count == 1)
        let bytes = settlement.snapshot()
        var reopened = try Settlement(snapshot: bytes)
        #expect(reopened == settlement)
        #expect(try reopened.settle(dora, id: "reg-dora", campaign: "summer").isDuplicate)
        for item in try legacyScenarioEvents() {
            #expect(try reopened.settle(item.event, id: item.id, campaign: "legacy").isDuplicate, "\(item.id)")
        }
        #expect(settlement.states.map(\.digestScheme) == [.doubleRound, .foldedMultiply])
        #expect(reopened.states.map(\.digestScheme) == [.doubleRound, .foldedMultiply])
        // Each campaign fingerprints with its own scheme.
        let legacyEvent = try #require(try legacyScenarioEvents().first)
        #expect(settlement.states[0].processed[0].digest == legacyEvent.event.digest(.doubleRound))
        #expect(settlement.states[1].processed[0].digest == dora.digest(.foldedMultiply))
        #expect(dora.digest(.foldedMultiply) != dora.digest(.doubleRound))
    }

    /// The scheme byte is 0 or 2; anything else (1 included: an unreleased build wrote it for
    /// another scheme) is a corrupt snapshot.
    @Test func aCampaignWithAnUnknownFingerprintSchemeIsACorruptSnapshot() throws {
        var settlement = try legacyScenarioSettlement()
        for item in try legacyScenarioEvents() {
            _ = try settlement.settle(item.event, id: item.id, campaign: "legacy")
        }
        let bytes = settlement.snapshot()
        // Where the scheme is: the one byte that differs from the same state under the other scheme.
        var other = settlement
        other.states[0].digestScheme = .doubleRound
        let otherBytes = other.snapshot()
        let differing = bytes.indices.filter { bytes[$0] != otherBytes[$0] }
        let scheme = try #require(differing.first)
        #expect(bytes[scheme] == 2 && otherBytes[scheme] == 0)
        for unknown: UInt8 in [1, 3, 255] {
            var spoiled = bytes
            spoiled[scheme] = unknown
            let error = #expect(throws: FissionError.self) { try Settlement(snapshot: spoiled) }
            #expect(error?.code == .corruptSnapshot)
            #expect(error?.reason.contains("fingerprint scheme \(unknown)") == true)
        }
    }
}
