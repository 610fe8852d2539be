@_spi(FissionCoding) import FissionCore
import Foundation
import Testing

@testable import Fission

/// Refunds taken back out of the spend the engine counts for layers (Decision 0033): a refund of
/// an order paid while activity is tracked lowers its buyer's spend on the day it was paid, so a
/// member who buys their way into a layer and is refunded leaves it at the next evaluation.
/// Stores whose tracking began before refunds counted (a `trackActivity` of tag 35) keep their
/// spend until `trackActivity` is submitted again.
struct EngineRefundedSpendTests {
    /// A "spender" tier for 500 yuan in 30 days, no grace.
    static let policy = try! LayeringPolicy(
        tiers: [
            .init(layer: .kol, requirement: nil),
            .init(layer: try! Layer("spender"), requirement: try! ActivityRequirement(minimumSpend: yuan(500))),
        ],
        fallback: .ordinary,
        windowDays: 30,
        graceDays: 0,
        currency: .cny
    )

    static var configuration: FissionEngine.Configuration { FissionEngine.Configuration(layeringPolicy: Self.policy) }

    static func day(_ days: Int64) -> CalendarDay {
        at(days: days).calendarDay(in: Self.configuration.checkInOffset)
    }

    /// After the seed (alice ← bob ← carol): bob pays before tracking, carol pays 600 yuan and
    /// 100 dollars while tracked, is promoted, then refunded 200 yuan, the dollars and (bob)
    /// his order before tracking, and demoted.
    static let story: [(key: EventID, command: EngineCommand, at: Timestamp)] = [
        ("o-bob", .orderPaid(order: "o-bob", buyer: "bob", kind: .regular, lines: [line(700)]), at(hours: 2)),
        ("track", .trackActivity, at(hours: 2)),
        ("o-carol", .orderPaid(order: "o-carol", buyer: "carol", kind: .regular, lines: [line(600)]), at(hours: 3)),
        (
            "o-usd",
            .orderPaid(
                order: "o-usd",
                buyer: "carol",
                kind: .regular,
                lines: [OrderPaid.Line(sku: "sku-1", quantity: 1, netPaid: Money(minorUnits: 10_000, currency: .usd))]
            ),
            at(hours: 3)
        ),
        ("eval-0", .evaluateLayers(on: day(0)), at(hours: 4)),
        ("o-carol:refund", .orderRefunded(order: "o-carol", amount: yuan(200)), at(days: 1)),
        (
            "o-usd:refund", .orderRefunded(order: "o-usd", amount: Money(minorUnits: 10_000, currency: .usd)),
            at(days: 1)
        ),
        ("o-bob:refund", .orderRefunded(order: "o-bob", amount: yuan(700)), at(days: 1)),
        ("eval-1", .evaluateLayers(on: day(1)), at(days: 1, hours: 1)),
    ]

    /// A seeded engine under ``policy`` that tracks activity from hour 2.
    static func trackingEngine() async throws -> FissionEngine {
        let engine = try await seededEngine(.memory, configuration: Self.configuration)
        try await engine.submit(.trackActivity, key: "track", at: at(hours: 2))
        return engine
    }

    /// Submits a paid order of `yuanPaid` by `buyer`, keyed by the order's id.
    static func pay(
        _ order: OrderID,
        by buyer: MemberID,
        _ yuanPaid: Int64,
        at time: Timestamp,
        on engine: FissionEngine
    )
        async throws
    {
        try await engine.submit(
            .orderPaid(order: order, buyer: buyer, kind: .regular, lines: [line(yuanPaid)]),
            key: EventID(order.description),
            at: time
        )
    }

    @Test("a refund takes the refunded amount out of the buyer's spend on the day it was paid")
    func story() async throws {
        let engine = try await seededEngine(.memory, configuration: Self.configuration)
        var outcomes: [EngineOutcome] = []
        for (key, command, time) in Self.story { outcomes.append(try await engine.submit(command, key: key, at: time)) }
        let spender = try Layer("spender")
        #expect(outcomes[4].effects == [.layerChanged("carol", from: .ordinary, to: spender, isPromotion: true)])
        #expect(outcomes[8].effects == [.layerChanged("carol", from: spender, to: .ordinary, isPromotion: false)])
        let state = await engine.state
        #expect(state.activityCountsRefunds)
        let carol = try #require(state.activity(of: "carol"))
        #expect(carol.lifetime.spend == yuan(400))
        #expect(carol.days.map(\.summary.spend) == [yuan(400)])
        #expect(carol.summary(windowDays: 30, endingOn: Self.day(1)).spend == yuan(400))
        // Bob's order was paid before tracking: its spend was never counted, nor is its refund.
        #expect(state.activity(of: "bob")?.lifetime.spend == yuan(0))
    }

    @Test("the host takes back spend it reported; bad refunds are refused and change nothing")
    func hostReportedSpend() async throws {
        let engine = try await seededEngine(.memory, configuration: Self.configuration)
        try await expectRefused(
            .recordRefund("carol", amount: yuan(1), paidOn: Self.day(0)),
            .activityNotTracked,
            on: engine
        )
        try await engine.submit(.trackActivity, key: "track", at: at(hours: 2))
        try await engine.submit(.recordActivity("carol", kind: .spend(yuan(600))), key: "spend", at: at(hours: 3))
        let spender = try Layer("spender")
        let promoted = try await engine.submit(.evaluateLayers(on: Self.day(0)), key: "eval-0", at: at(hours: 4))
        #expect(promoted.effects == [.layerChanged("carol", from: .ordinary, to: spender, isPromotion: true)])

        let refusals: [(EngineCommand, FissionError.Code)] = [
            (.recordRefund("nobody", amount: yuan(1), paidOn: Self.day(0)), .unknownMember),
            (.recordRefund("carol", amount: yuan(1), paidOn: Self.day(1)), .invalidDate),
            (.recordRefund("carol", amount: yuan(1), paidOn: Self.day(-1)), .activityBeforeJoin),
            (
                .recordRefund("carol", amount: Money(minorUnits: 100, currency: .usd), paidOn: Self.day(0)),
                .currencyMismatch
            ),
            (.recordRefund("carol", amount: yuan(-1), paidOn: Self.day(0)), .negativeAmount),
            (.recordRefund("carol", amount: yuan(601), paidOn: Self.day(0)), .refundExceedsSpend),
            (.recordRefund("bob", amount: yuan(1), paidOn: Self.day(0)), .refundExceedsSpend),
        ]
        for (command, code) in refusals { try await expectRefused(command, code, on: engine, at: at(hours: 5)) }

        try await engine.submit(
            .recordRefund("carol", amount: yuan(200), paidOn: Self.day(0)),
            key: "r",
            at: at(days: 1)
        )
        #expect(await engine.state.activity(of: "carol")?.lifetime.spend == yuan(400))
        let demoted = try await engine.submit(
            .evaluateLayers(on: Self.day(1)),
            key: "eval-1",
            at: at(days: 1, hours: 1)
        )
        #expect(demoted.effects == [.layerChanged("carol", from: spender, to: .ordinary, isPromotion: false)])
        // Retried, it takes nothing more; the journal replays it.
        #expect(
            try await engine.submit(
                .recordRefund("carol", amount: yuan(200), paidOn: Self.day(0)),
                key: "r",
                at: at(days: 1)
            ).isDuplicate
        )
        #expect(await engine.state.activity(of: "carol")?.lifetime.spend == yuan(400))
        let replayed = try FissionEngine(store: engine.store, configuration: Self.configuration)
        #expect(await replayed.state.layering == engine.state.layering)
    }

    @Test("an order's refund takes what its day still holds after the host took some of it")
    func orderRefundAfterAHostRefund() async throws {
        let engine = try await Self.trackingEngine()
        try await Self.pay("o1", by: "carol", 100, at: at(hours: 3), on: engine)
        try await engine.submit(
            .recordRefund("carol", amount: yuan(30), paidOn: Self.day(0)),
            key: "r",
            at: at(hours: 4)
        )
        try await engine.submit(.orderRefunded(order: "o1", amount: yuan(100)), key: "o1:refund", at: at(hours: 5))
        let carol = try #require(await engine.state.activity(of: "carol"))
        #expect(carol.lifetime.spend == yuan(0))
        #expect(carol.days.map(\.summary.spend) == [yuan(0)])
    }

    @Test("an order's refund never takes another order's spend")
    func orderRefundStaysOnItsDay() async throws {
        let engine = try await Self.trackingEngine()
        try await Self.pay("o1", by: "carol", 600, at: at(hours: 3), on: engine)
        // 40 days later (day 0 is no longer kept), another order, whose spend the host takes back.
        try await Self.pay("o2", by: "carol", 100, at: at(days: 40), on: engine)
        try await engine.submit(
            .recordRefund("carol", amount: yuan(100), paidOn: Self.day(40)),
            key: "r",
            at: at(days: 40)
        )
        try await engine.submit(.orderRefunded(order: "o2", amount: yuan(100)), key: "o2:refund", at: at(days: 40))
        #expect(await engine.state.activity(of: "carol")?.lifetime.spend == yuan(600), "o1's spend stays")
    }

    @Test("a refund of spend from before the kept days lowers the lifetime spend only")
    func oldSpend() async throws {
        let engine = try await Self.trackingEngine()
        try await Self.pay("o1", by: "carol", 600, at: at(hours: 3), on: engine)
        // 40 days later (the policy keeps 32 days of detail), another order: day 0 is dropped.
        try await Self.pay("o2", by: "carol", 50, at: at(days: 40), on: engine)
        try await engine.submit(.orderRefunded(order: "o1", amount: yuan(100)), key: "r1", at: at(days: 40))
        let carol = try #require(await engine.state.activity(of: "carol"))
        #expect(carol.lifetime.spend == yuan(550))
        #expect(carol.days.map(\.day) == [Self.day(40)])
        #expect(carol.days.map(\.summary.spend) == [yuan(50)], "the kept day keeps its own spend")
    }

    @Test("the story replays, restores from a version-7 checkpoint and answers retries", arguments: StoreKind.allCases)
    func journal(kind: StoreKind) async throws {
        let store = try kind.make()
        let engine = try FissionEngine(store: store, configuration: Self.configuration)
        try await seed(engine)
        let restored = try await expectJournalReplaysAndAnswersRetries(Self.story, on: engine, store: store)
        #expect(try await restored.state.snapshot().prefix(4) == [7, 0, 0, 0])
        #expect(await restored.state.layering == engine.state.layering)
        // The restored engine keeps each order's paid day: the rest of carol's order is refunded.
        try await restored.submit(.orderRefunded(order: "o-carol", amount: yuan(400)), key: "r", at: at(days: 2))
        #expect(await restored.state.activity(of: "carol")?.lifetime.spend == yuan(0))
    }

    @Test("tracking begun before refunds counted keeps its spend until trackActivity again")
    func trackingFromAnEarlierFission() async throws {
        let name = "engine-store-v6-session16-layers.bin"
        let file = try GoldenStore.read(
            Array(try Data(contentsOf: GoldenStoreTests.fixtures.appendingPathComponent(name)))
        )
        let store = try file.store(.memory, withSnapshot: true)
        let configuration = try GoldenStoreTests.configuration(for: name)
        let engine = try FissionEngine(store: store, configuration: configuration)
        let clock = await engine.state.clock
        #expect(await engine.state.tracksActivity)
        #expect(await engine.state.activityCountsRefunds == false)
        #expect(try await engine.state.snapshot().prefix(4) == [6, 0, 0, 0], "the snapshot an earlier Fission reads")

        func spend() async -> Money? { await engine.state.activity(of: "carol")?.lifetime.spend }
        let before = try #require(await spend())
        let afterOne = try before.adding(yuan(40))
        try await engine.submit(
            .orderPaid(order: "r-1", buyer: "carol", kind: .regular, lines: [line(40)]),
            key: "r-1",
            at: clock
        )
        try await engine.submit(.orderRefunded(order: "r-1", amount: yuan(40)), key: "r-1:refund", at: clock)
        #expect(await spend() == afterOne, "refunds do not count yet")

        // The session-16 `trackActivity`, retried, is the same command under its earlier bytes.
        let retry = try await engine.submit(.trackActivity, key: "track", at: clock)
        #expect(retry.isDuplicate && retry.effects.isEmpty)
        #expect(await engine.state.activityCountsRefunds == false)

        try await engine.submit(.trackActivity, key: "track-with-refunds", at: clock)
        #expect(await engine.state.activityCountsRefunds)
        try await expectRefused(.trackActivity, .activityAlreadyTracked, on: engine, at: clock)
        try await engine.submit(
            .orderPaid(order: "r-2", buyer: "carol", kind: .regular, lines: [line(30)]),
            key: "r-2",
            at: clock
        )
        try await engine.submit(.orderRefunded(order: "r-2", amount: yuan(30)), key: "r-2:refund", at: clock)
        #expect(await spend() == afterOne, "the order paid since counts its refund")
        #expect(try await engine.state.snapshot().prefix(4) == [7, 0, 0, 0])

        // The journal (tag 35, then 39) and the checkpoint restore the same.
        let replayed = try FissionEngine(store: store, configuration: configuration)
        #expect(await replayed.state.layering == engine.state.layering)
        try await engine.checkpoint()
        let restored = try FissionEngine(store: store, configuration: configuration)
        #expect(await restored.state.layering == engine.state.layering)
    }

    @Test("a damaged or forged paid-days section is refused as corrupt")
    func damagedPaidDays() async throws {
        let engine = try await seededEngine(.memory, configuration: Self.configuration)
        for (key, command, time) in Self.story.prefix(4) { try await engine.submit(command, key: key, at: time) }
        let state = await engine.state
        // The section: each order's paid day by order id: bob's was paid before tracking and the
        // dollars are not counted; carol's yuan are, on day 0.
        let today = Int32(Self.day(0).daysSinceEpoch)
        let none = EngineState.OrderRecord.notCounted
        #expect(["o-bob", "o-carol", "o-usd"].map { state.orders[$0]?.paidDay } == [none, today, none])
        let head = Array(try state.snapshot().dropLast(8 + 12))
        func sealed(_ days: [Int32], extra: [UInt8] = []) -> [UInt8] {
            var writer = ByteWriter(capacity: 64)
            for day in days { writer.append(day) }
            return EngineState.sealedSnapshot(head + writer.finish() + extra)
        }
        let intact = try EngineState(snapshot: sealed([none, today, none]), configuration: Self.configuration)
        #expect(try intact.snapshot() == state.snapshot())
        let damaged: [(String, [UInt8])] = [
            ("a missing day", sealed([none, today])),
            ("a day after the clock", sealed([none, today + 1, none])),
            ("a day outside years 1 to 9999", sealed([none, Int32.max, none])),
            ("a day for an order in another currency", sealed([none, today, today])),
            // Bob's order from before tracking, forged as counted: he has no activity at all.
            ("an order counted for a buyer with no activity that day", sealed([today, today, none])),
            ("bytes after the days", sealed([none, today, none], extra: [0])),
        ]
        for (what, snapshot) in damaged {
            let error = #expect(throws: FissionError.self, "\(what)") {
                _ = try EngineState(snapshot: snapshot, configuration: Self.configuration)
            }
            #expect(error?.code == .corruptSnapshot, "\(what): \(String(describing: error))")
        }
    }
}
