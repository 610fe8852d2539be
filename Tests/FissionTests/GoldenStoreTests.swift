@_spi(FissionCoding) import FissionCore
import FissionStorage
import Foundation
import Testing

@testable import Fission

/// Stores written by a past Fission, kept as their bytes in `Tests/Fixtures/engine-store-*.bin`:
/// every later Fission must open them, from the journal alone and from their snapshot, to the
/// same state, and must recognise every command in them as the same command when a host retries
/// it. This is what "upgrading keeps your data" means; a change to how a command, an outcome, a
/// transfer or a snapshot is encoded that breaks it fails here.
///
/// Each file holds one store written through ``GoldenStore/write(on:)`` by the code of its day
/// (the name says the engine snapshot version it holds). When a format changes, record a new
/// file beside the old ones, never over them (Documentation/Contributing.md, "Fixtures"):
///
/// ```sh
/// FISSION_RECORD_GOLDEN_STORE=engine-store-v8-layers.bin swift test --filter GoldenStoreTests
/// ```
struct GoldenStoreTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static let names: [String] =
        ((try? FileManager.default.contentsOfDirectory(atPath: fixtures.path)) ?? [])
        .filter { $0.hasPrefix("engine-store-") && $0.hasSuffix(".bin") }.sorted()

    /// The configuration each store was written with (a store opens only under its own). The
    /// `fa56a42` stores were written by the release of that commit for a cross-version check
    /// (session 13): a random stream with first-order binding, and three small stores that its
    /// changes to the moderation matcher could have broken (a word of variation selectors alone,
    /// as a sensitive word and as a contact phrase, and Cherokee words in both cases).
    ///
    /// A store whose name ends in `-layers.bin` was written under ``layers`` (session 16), so that
    /// its evaluations move members.
    static func configuration(for name: String) throws -> FissionEngine.Configuration {
        if name.hasSuffix("-layers.bin") { return FissionEngine.Configuration(layeringPolicy: try Self.layers()) }
        guard name.hasPrefix("engine-store-fa56a42-") else { return FissionEngine.Configuration() }
        let layering = try LayeringPolicy(
            tiers: [.init(layer: .kol, requirement: nil), .init(layer: .core, requirement: nil)],
            fallback: .ordinary,
            windowDays: 30,
            graceDays: 0,
            currency: .cny
        )
        let binding = name.contains("random") ? BindingPolicy(moment: .firstOrder) : BindingPolicy()
        return FissionEngine.Configuration(bindingPolicy: binding, layeringPolicy: layering)
    }

    /// The layering policy of the `-layers` stores. Never change it: those stores were written
    /// under it and open only under it.
    static func layers() throws -> LayeringPolicy {
        try LayeringPolicy(
            tiers: [
                .init(layer: .kol, requirement: nil),
                .init(layer: .core, requirement: try ActivityRequirement(minimumUses: 2, maximumDaysSinceLastUse: 6)),
                .init(layer: .wordOfMouth, requirement: try ActivityRequirement(minimumInvites: 1)),
            ],
            fallback: .ordinary,
            windowDays: 7,
            graceDays: 2,
            currency: .cny
        )
    }

    @Test("a golden store is on file") func aGoldenStoreIsOnFile() {
        #expect(Self.names.contains("engine-store-v5.bin"), "found \(Self.names)")
        #expect(Self.names.contains("engine-store-v5-session14.bin"), "found \(Self.names)")
        #expect(Self.names.contains("engine-store-v5-session15.bin"), "found \(Self.names)")
        #expect(Self.names.contains("engine-store-v6-session16-layers.bin"), "found \(Self.names)")
        #expect(Self.names.filter { $0.hasPrefix("engine-store-fa56a42-") }.count == 4, "found \(Self.names)")
    }

    @Test(
        "a store written by a past Fission reopens the same from its journal and from its snapshot, in both stores",
        arguments: names
    )
    func reopens(_ name: String) async throws {
        let file = try GoldenStore.read(Array(try Data(contentsOf: Self.fixtures.appendingPathComponent(name))))
        let snapshot = try #require(file.snapshot, "\(name) holds a snapshot")
        let lastSequence = try #require(file.entries.last?.sequence)
        let configuration = try Self.configuration(for: name)
        let fromJournal = try FissionEngine(
            store: try file.store(.memory, withSnapshot: false),
            configuration: configuration
        )
        let expected = await fingerprint(fromJournal)
        #expect(await fromJournal.lastSequence == lastSequence)
        #expect(await fromJournal.state.settlement.ledger.audit().isEmpty)
        // Opening replays every entry and compares the outcome and transfers it gives with the
        // stored ones, byte for byte: these are the ledger the past Fission wrote.
        #expect(expected.transfers.count == file.entries.reduce(0) { $0 + $1.transferCount })
        for kind in StoreKind.allCases {
            let fromSnapshot = try FissionEngine(
                store: try file.store(kind, withSnapshot: true),
                configuration: configuration
            )
            #expect(await fromSnapshot.lastSequence == lastSequence, "\(kind)")
            #expect(await fingerprint(fromSnapshot) == expected, "\(kind), from the snapshot at \(snapshot.sequence)")
        }
        // A checkpoint now writes the current version; it restores the same state.
        let store = try file.store(.memory, withSnapshot: false)
        let engine = try FissionEngine(store: store, configuration: configuration)
        try await engine.checkpoint()
        #expect(await fingerprint(try FissionEngine(store: store, configuration: configuration)) == expected)
    }

    @Test(
        "every command of a past Fission's store, retried, returns its stored outcome and changes nothing",
        arguments: names
    )
    func retriesAreRecognised(_ name: String) async throws {
        let file = try GoldenStore.read(Array(try Data(contentsOf: Self.fixtures.appendingPathComponent(name))))
        let engine = try FissionEngine(
            store: try file.store(.memory, withSnapshot: true),
            configuration: try Self.configuration(for: name)
        )
        let before = await fingerprint(engine)
        let retries = try file.entries.map { entry in
            var reader = ByteReader(bytes: entry.command)
            _ = try reader.read() as Int64  // the time it was applied at
            return (key: entry.idempotencyKey, command: try EngineCommand.decodeJournaled(from: &reader).command)
        }
        let results = try await engine.submit(batch: retries, at: before.clock)
        for (entry, result) in zip(file.entries, results) {
            let stored = try EngineOutcome.decode(entry.outcome, sequence: entry.sequence, isDuplicate: true)
            switch result {
            case .success(let outcome):
                #expect(outcome == stored, "\(name): entry \(entry.sequence) (\(entry.idempotencyKey))")
            case .failure(let error):
                Issue.record("\(name): entry \(entry.sequence) (\(entry.idempotencyKey)) retried: \(error)")
            }
        }
        #expect(await fingerprint(engine) == before)
        #expect(await engine.lastSequence == file.entries.last?.sequence)
    }

    @Test("the golden scenario, written now, is what the recorder writes")
    func recordsWhenAsked() async throws {
        let name = ProcessInfo.processInfo.environment["FISSION_RECORD_GOLDEN_STORE"]
        let store = InMemoryStore()
        let engine = try await GoldenStore.write(
            on: store,
            configuration: try Self.configuration(for: name ?? "engine-store-now-layers.bin")
        )
        let entries = try store.entries(after: 0, limit: 10_000)
        // The scenario is meant to reach every kind of command and many grants.
        let kinds = Set(entries.map { $0.command[8] })
        #expect(kinds.count >= 30, "command kinds \(kinds.sorted()), \(entries.count) entries")
        // Tag 35 is tracking begun before refunds counted, which no Fission writes any more.
        #expect(kinds.isSuperset(of: Set(26...40).subtracting([35])), "command kinds \(kinds.sorted())")
        let transfers = await engine.state.settlement.ledger.transferCount
        #expect(transfers > 60, "\(transfers) transfers, \(entries.count) entries")
        // Under the layers policy an evaluation moves a member (effect tag 19).
        let layerChanges = try entries.flatMap {
            try EngineOutcome.decode($0.outcome, sequence: $0.sequence, isDuplicate: false).effects
        }.filter { if case .layerChanged = $0 { true } else { false } }
        #expect(!layerChanges.isEmpty)
        guard let name else { return }
        #expect(name.hasPrefix("engine-store-") && name.hasSuffix(".bin"))
        let bytes = GoldenStore.bytes(entries: entries, snapshot: store.latestSnapshot())
        try Data(bytes).write(to: Self.fixtures.appendingPathComponent(name))
    }
}

/// The golden scenario, and the file form of a store.
enum GoldenStore {
    /// Writes the golden scenario through a fresh engine on `store`: the journal scenario of
    /// ``scenario(moderated:)`` (every group command, moderation included), its keys prefixed
    /// with `g-`; tags, a layer, a forgotten member, a join with facts, a paid order whose two
    /// held grants are then released and rejected; withdrawals, a debt and its write-off; activity
    /// tracked, reported and evaluated, a pin set and released; then 60
    /// batches of the property stream of seed
    /// 7_777 (refusals, retries and reused keys, grants, holds, refunds, shares), with a
    /// checkpoint after the 30th.
    static func write(
        on store: any FissionStore,
        configuration: FissionEngine.Configuration = .init()
    ) async throws -> FissionEngine {
        let engine = try FissionEngine(store: store, configuration: configuration)
        var accepted: [EventID: (command: EngineCommand, outcome: EngineOutcome)] = [:]
        var held: [TransferID] = []
        func submit(_ commands: [(key: EventID, command: EngineCommand)], at instant: Timestamp) async throws {
            let results = try await engine.submit(batch: commands, at: instant)
            for (command, result) in zip(commands, results) where accepted[command.key] == nil {
                guard case .success(let outcome) = result else { continue }
                accepted[command.key] = (command.command, outcome)
                for case .granted(_, let grant) in outcome.effects where grant.isHeld { held.append(grant.transfer) }
            }
        }
        for step in try scenario() { try await submit([(try EventID("g-\(step.key)"), step.command)], at: step.at) }
        let facts = MemberFacts(hasPaidOrder: true, totalSpend: yuan(120), hasPaidEntryFee: true)
        let tags = try TagSet([
            try MemberTag(category: "region", value: "north"), try MemberTag(category: "interest", value: "run"),
        ])
        held = []
        try await submit(
            [
                ("tags-alice", .setMemberTags("alice", tags: tags)),
                ("layer-bob", .setMemberLayer("bob", layer: .ordinary)),
                ("check-carol", .checkIn("carol", activity: "read", group: nil)),
                ("forget-carol", .forgetCheckIns("carol")),
                (
                    "group-extra",
                    .addGroup(
                        try CommunityGroup(id: "welcome-x", name: "Welcome X", purpose: .acquisition, capacity: 3),
                        series: "welcome"
                    )
                ),
                (
                    "join-dave",
                    .joinGroup("dave", into: .group("welcome-x"), invitedBy: nil, channel: nil, facts: facts)
                ),
                ("o-late", .orderPaid(order: "o-late", buyer: "dave", kind: .regular, lines: [line(60)])),
            ],
            at: at(days: 11)
        )
        // The group operations of session 14 (tags 26 to 32).
        try await submit(
            [
                ("archive-x", .archiveGroup("welcome-x")),
                ("reactivate-x", .reactivateGroup("welcome-x")),
                ("capacity-x", .setGroupCapacity("welcome-x", capacity: 4)),
                ("check-alice-swim", .checkIn("alice", activity: "swim", group: nil)),
                (
                    "make-up-alice",
                    .makeUpCheckIn(
                        "alice",
                        activity: "swim",
                        group: nil,
                        day: at(days: 10).calendarDay(in: .chinaStandardTime)
                    )
                ),
                ("pardon-bob", .pardonMember("bob", group: "welcome-1")),
                ("move-dave", .moveMember("dave", from: "welcome-x", to: .series("welcome"), facts: facts)),
                ("remove-alice", .removeFromGroup("alice", group: "welcome-1", reason: try RemovalReason("inactive"))),
            ],
            at: at(days: 11)
        )
        if let first = held.first { try await submit([("release", .releaseHeldReward(first))], at: at(days: 11)) }
        if let last = held.dropFirst().last {
            try await submit([("reject", .rejectHeldReward(last))], at: at(days: 11))
        }
        // A withdrawal (session 15, tag 33): half of what the richest member may take out.
        let ledger = await engine.state.settlement.ledger
        let richest = ledger.accountKeys.filter { if case .wallet = $0.owner { $0.unit == cny } else { false } }
            .max { ledger.balance(of: $0).available < ledger.balance(of: $1).available }
        if let richest, case .wallet(let member) = richest.owner, ledger.balance(of: richest).available >= 2 {
            let amount = try RewardAmount(ledger.balance(of: richest).available / 2, cny)
            try await submit([("withdraw", .withdraw(member, amount: amount))], at: at(days: 11))
        }
        // A debt and its write-off (tag 34): bob withdraws all he has, the rest of carol's order o1
        // (which paid him a commission, posted at day 9) is refunded, and an operator forgives half
        // the debt.
        let bobs = await engine.state.settlement.ledger.balance(of: .wallet("bob", cny)).available
        if bobs > 0 {
            try await submit(
                [("withdraw-bob", .withdraw("bob", amount: try RewardAmount(bobs, cny)))],
                at: at(days: 11)
            )
        }
        try await submit([("o1:refund-rest", .orderRefunded(order: "o1", amount: yuan(60)))], at: at(days: 11))
        let owed = await -engine.state.settlement.ledger.balance(of: .receivable("bob", cny)).posted
        if owed >= 2 {
            try await submit(
                [("forgive-bob", .writeOffDebt("bob", amount: try RewardAmount(owed / 2, cny)))],
                at: at(days: 11)
            )
        }
        // Layers from activity (session 16, tags 35 to 38; since session 17 tag 39 for tracking
        // and 40 for the host's refund of spend it reported): carol reports two uses, a spend she
        // is partly refunded, and checks in (no third use on the same day), so under a policy
        // asking two uses she moves up; dave is pinned and released; carol's order, paid while
        // tracked, is refunded in part, which takes the refund out of her spend (session 17).
        try await submit(
            [
                ("track", .trackActivity),
                ("use-carol", .recordActivity("carol", kind: .use)),
                ("use-carol-again", .recordActivity("carol", kind: .use)),
                ("spend-carol", .recordActivity("carol", kind: .spend(yuan(5)))),
                (
                    "spend-carol:refund",
                    .recordRefund("carol", amount: yuan(2), paidOn: at(days: 11).calendarDay(in: .chinaStandardTime))
                ),
                ("check-carol-run", .checkIn("carol", activity: "run", group: nil)),
                ("layer-dave", .setMemberLayer("dave", layer: .ordinary)),
                ("evaluate", .evaluateLayers(on: at(days: 11).calendarDay(in: .chinaStandardTime))),
                ("unpin-dave", .unpinMemberLayer("dave")),
                ("o-carol", .orderPaid(order: "o-carol", buyer: "carol", kind: .regular, lines: [line(30)])),
                ("o-carol:refund", .orderRefunded(order: "o-carol", amount: yuan(12))),
            ],
            at: at(days: 11)
        )
        var stream = EngineStream(seed: 7_777)
        for (number, batch) in try stream.batches(count: 60).enumerated() {
            try await submit(batch.commands.map { stream.resolve($0, accepted: accepted) }, at: batch.at)
            if number == 30 { try await engine.checkpoint() }
        }
        return engine
    }

    /// A store's journal and latest snapshot as one file: a magic word, the entries, the snapshot.
    static func bytes(entries: [JournalEntry], snapshot: StoreSnapshot?) -> [UInt8] {
        var writer = ByteWriter(capacity: 1 << 16)
        writer.append(literal: "FGS1")
        writer.append(UInt32(entries.count))
        for entry in entries {
            writer.append(entry.sequence)
            writer.append(identifier: entry.idempotencyKey)
            writer.append(entry.payloadDigest)
            writer.append(UInt32(entry.body.count))
            writer.append(contentsOf: entry.body)
        }
        writer.append(UInt8(snapshot == nil ? 0 : 1))
        if let snapshot {
            writer.append(snapshot.sequence)
            writer.append(UInt32(snapshot.state.count))
            writer.append(contentsOf: snapshot.state)
        }
        return writer.finish()
    }

    struct File {
        var entries: [JournalEntry]
        var snapshot: StoreSnapshot?

        /// A store of `kind` holding the entries, and the snapshot if asked.
        func store(_ kind: StoreKind, withSnapshot: Bool) throws -> any FissionStore {
            let store = try kind.make()
            for page in stride(from: 0, to: self.entries.count, by: 500) {
                try store.append(
                    Array(self.entries[page..<min(page + 500, self.entries.count)]),
                    expectingLastSequence: Int64(page)
                )
            }
            if withSnapshot, let snapshot = self.snapshot { try store.saveSnapshot(snapshot) }
            return store
        }
    }

    static func read(_ bytes: [UInt8]) throws -> File {
        var reader = ByteReader(bytes: bytes)
        guard try reader.readBytes(4) == Array("FGS1".utf8) else {
            throw FissionError(code: .corruptSnapshot, reason: "not a golden store file")
        }
        let count: UInt32 = try reader.read()
        var entries: [JournalEntry] = []
        for _ in 0..<count {
            let sequence: Int64 = try reader.read()
            let key: EventID = try reader.readIdentifier()
            let digest: UInt64 = try reader.read()
            let length: UInt32 = try reader.read()
            let body = try reader.readBytes(Int(length))
            entries.append(JournalEntry(sequence: sequence, idempotencyKey: key, payloadDigest: digest, body: body))
        }
        var snapshot: StoreSnapshot?
        if try reader.read() as UInt8 == 1 {
            let sequence: Int64 = try reader.read()
            let length: UInt32 = try reader.read()
            snapshot = StoreSnapshot(sequence: sequence, state: try reader.readBytes(Int(length)))
        }
        guard reader.isAtEnd else { throw FissionError(code: .corruptSnapshot, reason: "bytes after the snapshot") }
        return File(entries: entries, snapshot: snapshot)
    }
}
