import FissionCore
import Testing

@testable import FissionRewards

// A settlement snapshot keeps each settled event's fingerprint. A host upgrading Fission restores
// the snapshots an earlier version wrote, and its retries of events settled before the upgrade must
// still be recognised as repeats, not refused as conflicts: these bytes, written once by an earlier
// version, pin the format and the fingerprints together.

/// `Settlement.snapshot()` of `legacyScenarioSettlement()` after `legacyScenarioEvents()`, written by
/// the code of 90d5fc2 (snapshot version 1, before `OrderPaid` kept its fields in one object and the
/// compact batch call came), in hex.
private let versionOneSnapshot: [UInt8] = {
    let hex = versionOneHex.joined()
    return stride(from: 0, to: hex.count, by: 2).map { offset in
        let start = hex.index(hex.startIndex, offsetBy: offset)
        return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
    }
}()

private let versionOneHex = [
    "46534e53010000000300000000000000010300626f62010500616c696365000700000000000000060000000000000001",
    "040066756e640107007265672d626f620105007265672d37010c006f726465722d313a70616964002a00000000000000",
    "01060068656c702d3101000000000000000106006c65676163790200000000000000010a00636f6d6d697373696f6e00",
    "07000000000000000100000000000000000300434e5902050000000000000000000000000000c0000000000000000000",
    "000000000000400100000000000040020000000000004007000000000000000000000001000000a08601000000000000",
    "ffffffff01000000000000000000ffffffffffffffff0000000000000000ffffffff0100000000505c18a30100000000",
    "00000000008001000000a08601000000000000000000000000000100000002000000dc0500000000000001ffffffff01",
    "0101000000000000000000000000000000030000000300000000000000010000000008a922a3010000008cb546a30100",
    "0001000000e80300000000000000000000000000000100000003000000ee0200000000000001ffffffff010102000000",
    "000000000000000001000000030000000300000000000000010000000008a922a3010000008cb546a301000001000000",
    "f40100000000000000000000000000000200000001000000f40100000000000003010000000102010000000000000000",
    "00000000000000040000000400000000000000010000000064cf27a30100000000000000000080010000000000000000",
    "00000000000000000000000300000001000000fa00000000000000030200000001020200000000000000000000000100",
    "0000040000000400000000000000010000000064cf27a301000000000000000000800100000000000000000000000000",
    "0000000000000100000002000000c80000000000000000ffffffff010100000000000000000100000000000000050000",
    "0005000000010000000100000000c0f52ca3010000000000000000008001000000c80000000000000000000000000000",
    "000100000004000000640000000000000000ffffffff0101010000000000000001000000020000000500000005000000",
    "010000000100000000c0f52ca30100000000000000000080010000006400000000000000000000000000000001000000",
    "0106006c65676163790100000000505c18a30100000018dbb2a3010000807000000300434e590202000000010a00636f",
    "6d6d697373696f6e0202000000e803000000000000f40100000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000070000000000000000070000000000000005c80000",
    "0000000000000300434e59026400000000000000000300434e5902000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000002000000000000000000000001000000020000",
    "00ffffffff01000000000000000100000001000000000000000000000000000000000000000000000004000000000000",
    "0000000000000000000000000001000000010000000000000002000000010000000100000000000000dc050000000000",
    "000100000000000000c8000000000000000100000000000000ee02000000000000010000000000000064000000000000",
    "000000000000000000ca080000000000002c0100000000000001000000000000000107006f726465722d31983a000000",
    "00000088130000000000000000000002000000020000000000000001000000000000000000000001000000dc05000000",
    "000000f40100000000000002000000000000000100000002000000ee02000000000000fa000000000000000500000000",
    "0000000100000002000000030000000400000005000000f0c7cc4f4bc2bac10100000000000000000000000000000013",
    "ce961f76a41c0d01000000000000000000000000000000540887fc77d0a96101000000020000000000000000000000c4",
    "1e39d8ac001bef0300000002000000000000000000000003f67f75be72b7cf0500000002000000000000000000000000",
    "00000000000000454e442e",
]

struct LegacySnapshotTests {
    @Test func aVersionOneSnapshotRestoresAndRecognisesItsEvents() throws {
        #expect(versionOneSnapshot[4] == 1, "the fixture is version 1")
        var restored = try Settlement(snapshot: versionOneSnapshot)
        #expect(restored.ledger.audit().isEmpty)
        // It writes version 2: the same bytes, and its one campaign's fingerprint scheme (0, the
        // double round of version 1) before the campaign.
        let rewritten = restored.snapshot()
        #expect(rewritten.count == versionOneSnapshot.count + 1)
        #expect(rewritten[4] == 2)
        let scheme = try #require(rewritten.indices.dropFirst(8).first { rewritten[$0] != versionOneSnapshot[$0] })
        #expect(rewritten[scheme] == 0)
        var withoutScheme = rewritten
        withoutScheme.remove(at: scheme)
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
