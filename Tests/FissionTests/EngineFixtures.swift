import FissionSQLite
import FissionStorageTesting
import Foundation
import Testing

@testable import Fission

/// The stores every store-dependent engine test runs against. A new store is one more case.
enum StoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case memory
    case sqlite

    var description: String { self.rawValue }

    func make() throws -> any FissionStore {
        switch self {
        case .memory: InMemoryStore()
        case .sqlite: try SQLiteStore(path: Self.temporaryFile())
        }
    }

    /// A new file name in a folder for this test process under the temporary folder.
    private static func temporaryFile() -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fission-engine-tests-\(ProcessInfo.processInfo.processIdentifier)"
        )
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder.appendingPathComponent("\(UUID().uuidString).sqlite").path
    }
}

let start = try! Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
let cny = LedgerUnit.money(.cny)
let spring: CampaignID = "spring"

func at(days: Int64 = 0, hours: Int64 = 0, minutes: Int64 = 0) -> Timestamp {
    try! start.adding(milliseconds: days * Timestamp.millisecondsPerDay + hours * 3_600_000 + minutes * 60_000)
}

func yuan(_ value: Int64) -> Money { Money(minorUnits: value * 100, currency: .cny) }

/// A campaign paying 5 yuan to the inviter per registration, and 10% / 5% commission on orders,
/// held 7 days; optionally a mutual-share rule and a coupon per order.
func springCampaign(id: CampaignID = spring, holdDays: Int64 = 7, coupon: Bool = false) throws -> RewardCampaign {
    var rules = [
        try RewardRule(id: "invite", shape: .inviteFixed(.money(yuan(5)))),
        try RewardRule(
            id: "commission",
            shape: .commission(levelRates: [.percent(10), .percent(5)], skuOverrides: []),
            holdDays: holdDays
        ),
        try RewardRule(id: "share", shape: .mutual(sharer: .money(yuan(2)), helper: RewardAmount(10, .points))),
    ]
    if coupon { rules.append(try RewardRule(id: "coupon", shape: .orderFixed(RewardAmount(1, .coupon("c-10"))))) }
    return try RewardCampaign(
        id: id,
        startsAt: start,
        endsAt: at(days: 60),
        offset: .chinaStandardTime,
        currency: .cny,
        rules: rules
    )
}

func line(_ yuanPaid: Int64, sku: SKUID = "sku-1") -> OrderPaid.Line {
    OrderPaid.Line(sku: sku, quantity: 1, netPaid: yuan(yuanPaid))
}

/// A published, funded campaign with alice ← bob ← carol registered.
func seededEngine(
    _ kind: StoreKind,
    configuration: FissionEngine.Configuration = .init(),
    coupon: Bool = false
) async throws -> FissionEngine {
    let engine = try FissionEngine(store: try kind.make(), configuration: configuration)
    try await seed(engine, coupon: coupon)
    return engine
}

func seedCommands(coupon: Bool = false) throws -> [(key: EventID, command: EngineCommand)] {
    [
        ("publish", .publishCampaign(try springCampaign(coupon: coupon))),
        ("fund", .fundCampaign(spring, amount: try .money(yuan(10_000)))),
        ("fund-coupons", .fundCampaign(spring, amount: try RewardAmount(100, .coupon("c-10")))),
        ("fund-points", .fundCampaign(spring, amount: try RewardAmount(10_000, .points))),
        ("reg-alice", .registerMember("alice", invitedBy: nil, campaign: nil, channel: nil)),
        ("reg-bob", .registerMember("bob", invitedBy: "alice", campaign: spring, channel: "poster")),
        ("reg-carol", .registerMember("carol", invitedBy: "bob", campaign: spring, channel: nil)),
    ]
}

func seed(_ engine: FissionEngine, coupon: Bool = false) async throws {
    for (key, command) in try seedCommands(coupon: coupon) {
        try await engine.submit(command, key: key, at: at(hours: 1))
    }
}

func wallet(_ state: EngineState, _ member: MemberID, _ unit: LedgerUnit = cny) -> AccountBalance {
    state.settlement.ledger.balance(of: .wallet(member, unit))
}

/// Everything observable about an engine's state, for "equal state" checks.
struct StateFingerprint: Equatable, CustomStringConvertible {
    var transfers: [Transfer]
    var balances: [AccountKey: AccountBalance]
    var graph: InviteGraph
    var groups: GroupDirectory
    var checkIns: CheckInBoard
    var groupCheckIns: [GroupID: CheckInBoard]
    var seriesOnTheCommunityBoard: Set<GroupSeriesID>
    var moderators: [GroupID: GroupModerator]
    var members: [MemberID: Member]
    /// Each member's paid orders, in registration order.
    var paidOrderCounts: [Int64]
    var campaigns: [CampaignID]
    var paused: Set<CampaignID>
    var clock: Timestamp
    var shares: [EventID: MutualShareModel.Share]
    /// Members' activity and layer states, once tracked.
    var layering: MemberLayering?
    /// The paid orders by id (a restored snapshot holds them in another order than a replay):
    /// refunded amounts, the campaigns that settle their refunds, and the day counted for layers.
    var orders: [OrderID: EngineState.OrderRecord]

    init(_ state: EngineState) {
        var transfers: [Transfer] = []
        while true {
            let page = state.settlement.ledger.transfers(after: transfers.last?.id, limit: Ledger.maximumPageSize)
            if page.isEmpty { break }
            transfers += page
        }
        self.transfers = transfers
        self.balances = Dictionary(
            uniqueKeysWithValues: state.settlement.ledger.accountKeys.map {
                ($0, state.settlement.ledger.balance(of: $0))
            }
        )
        self.graph = state.graph
        self.groups = state.groups
        self.checkIns = state.checkIns
        self.groupCheckIns = state.groupCheckIns
        self.seriesOnTheCommunityBoard = state.seriesOnTheCommunityBoard
        self.moderators = state.moderators
        self.members = state.members
        self.paidOrderCounts = state.registeredMembers.map { state.paidOrderCount(of: $0.id) }
        self.campaigns = state.campaignOrder
        self.paused = state.pausedCampaigns
        self.clock = state.clock
        self.shares = state.model(MutualShareModel.self)?.shares ?? [:]
        self.layering = state.layering
        self.orders = Dictionary(uniqueKeysWithValues: state.orders.records.map { ($0.order, $0) })
    }

    var description: String { "\(self.transfers.count) transfers, \(self.members.count) members, clock \(self.clock)" }
}

func fingerprint(_ engine: FissionEngine) async -> StateFingerprint { StateFingerprint(await engine.state) }

/// The fingerprint of a fresh engine opened on `store`: what the store has committed.
func committedFingerprint(_ store: any FissionStore) async throws -> StateFingerprint {
    await fingerprint(try FissionEngine(store: store))
}

/// Ad rules without the default domain lists, which take a debug build a tenth of a second to
/// compile every time rules are built or decoded.
func lightAdRules() throws -> AdRules {
    try AdRules(
        detectsLinks: true,
        detectsPhoneNumbers: true,
        contactPhrases: ["wechat me"],
        topLevelDomains: ["com"],
        wordLikeTopLevelDomains: []
    )
}

/// The seeds to run: `ciCount` unless `FISSION_PROPERTY_SEEDS` says otherwise.
func propertySeeds(from base: UInt64, ciCount: Int) -> [UInt64] {
    let count = ProcessInfo.processInfo.environment["FISSION_PROPERTY_SEEDS"].flatMap { Int($0) } ?? ciCount
    return (0..<UInt64(max(count, 1))).map { base + $0 }
}

extension JournalEntry {
    /// This entry with some of its fields replaced, as a damaged store would hold it.
    func replacing(payloadDigest: UInt64? = nil, command: [UInt8]? = nil, outcome: [UInt8]? = nil) -> JournalEntry {
        JournalEntry(
            sequence: self.sequence,
            idempotencyKey: self.idempotencyKey,
            payloadDigest: payloadDigest ?? self.payloadDigest,
            command: command ?? self.command,
            outcome: outcome ?? self.outcome,
            transfers: self.transfers
        )
    }
}

/// Submits `command` under `key` and expects `code`, with the state and the journal unchanged.
func expectRefused(
    _ command: EngineCommand,
    _ code: FissionError.Code,
    on engine: FissionEngine,
    key: EventID = "refused",
    at time: Timestamp = at(hours: 2),
    sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let before = try await engine.state.snapshot()
    let sequence = await engine.lastSequence
    let error = await #expect(throws: FissionError.self, sourceLocation: sourceLocation) {
        try await engine.submit(command, key: key, at: time)
    }
    #expect(error?.code == code, "\(String(describing: error))", sourceLocation: sourceLocation)
    let after = try await engine.state.snapshot()
    #expect(after == before, sourceLocation: sourceLocation)
    #expect(await engine.lastSequence == sequence, sourceLocation: sourceLocation)
}

/// Submits `commands` on `engine` (whose store is `store`), then checks the journal: a new engine
/// on the store, from the journal alone and from a checkpoint, reaches the same state, and each
/// key submitted again returns its stored outcome. Returns the restored engine.
@discardableResult
func expectJournalReplaysAndAnswersRetries(
    _ commands: [(key: EventID, command: EngineCommand, at: Timestamp)],
    on engine: FissionEngine,
    store: any FissionStore
) async throws -> FissionEngine {
    var outcomes: [EngineOutcome] = []
    for (key, command, time) in commands { outcomes.append(try await engine.submit(command, key: key, at: time)) }
    let bytes = try await engine.state.snapshot()

    let replayed = try FissionEngine(store: store, configuration: engine.configuration)
    #expect(try await replayed.state.snapshot() == bytes)
    try await replayed.checkpoint()
    let restored = try FissionEngine(store: store, configuration: engine.configuration)
    #expect(try await restored.state.snapshot() == bytes)
    for ((key, command, time), outcome) in zip(commands, outcomes) {
        var retried = try await restored.submit(command, key: key, at: time)
        #expect(retried.isDuplicate, "\(key)")
        retried.isDuplicate = false
        #expect(retried == outcome, "\(key)")
    }
    return restored
}
