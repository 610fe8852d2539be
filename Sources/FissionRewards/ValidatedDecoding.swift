import FissionCore

// Campaigns are configured as data: a host decodes them from JSON its operators wrote, and events
// from its own queues. Decoding checks them as the throwing initializers do, so a decoded value
// cannot hold what code could not build: a commission three levels deep (pyramid selling, which
// the settlement must never pay), a campaign that ends before it starts, a reward of zero, an order
// whose lines overflow when summed. The encoded form is the one Swift synthesizes (a keyed
// container with the properties' names), so data written before still decodes. The coding keys
// are internal, not private: the `encode(to:)` in each type's own file uses them (synthesized, or
// for `OrderPaid`, whose fields live in one object, written out in the same form).

extension RewardAmount {
    enum CodingKeys: String, CodingKey {
        case quantity, unit
    }

    /// Decodes an amount and checks it as ``init(_:_:)`` does.
    ///
    /// - Throws: `DecodingError.dataCorrupted` (the underlying ``FissionError`` says why) for an
    ///   amount that is not positive.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let quantity = try container.decode(Int64.self, forKey: .quantity)
        let unit = try container.decode(LedgerUnit.self, forKey: .unit)
        self = try decodeValidated(at: container.codingPath) { () throws(FissionError) in
            try RewardAmount(quantity, unit)
        }
    }
}

extension RewardRule {
    enum CodingKeys: String, CodingKey {
        case id, shape, eligibility, caps, holdDays
    }

    /// Decodes a rule and checks it as ``init(id:shape:eligibility:caps:holdDays:)`` does.
    ///
    /// - Throws: `DecodingError.dataCorrupted` (the underlying ``FissionError`` says why) for a
    ///   rule that cannot be paid as written, such as a commission deeper than
    ///   ``maximumCommissionLevels``.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let id = try container.decode(RuleID.self, forKey: .id)
        let shape = try container.decode(Shape.self, forKey: .shape)
        let eligibility = try container.decode(Eligibility.self, forKey: .eligibility)
        let caps = try container.decode(Caps.self, forKey: .caps)
        let holdDays = try container.decode(Int64.self, forKey: .holdDays)
        self = try decodeValidated(at: container.codingPath) { () throws(FissionError) in
            try RewardRule(id: id, shape: shape, eligibility: eligibility, caps: caps, holdDays: holdDays)
        }
    }
}

extension RewardCampaign {
    enum CodingKeys: String, CodingKey {
        case id, version, startsAt, endsAt, offset, currency, rules, settlementRevision
    }

    /// Decodes a campaign and checks it as
    /// ``init(id:version:startsAt:endsAt:offset:currency:rules:settlementRevision:)`` does.
    ///
    /// A campaign without `settlementRevision` (configuration written by hand, or before the field
    /// existed) settles under ``SettlementRevision/latest``, as one built in code does.
    ///
    /// - Throws: `DecodingError.dataCorrupted` (the underlying ``FissionError`` says why) for a
    ///   campaign that ends before it starts, has no rules or too many, repeats a rule id, or pays
    ///   money in another currency; a rule's own errors as ``RewardRule/init(from:)`` throws them.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let id = try container.decode(CampaignID.self, forKey: .id)
        let version = try container.decode(Int32.self, forKey: .version)
        let startsAt = try container.decode(Timestamp.self, forKey: .startsAt)
        let endsAt = try container.decode(Timestamp.self, forKey: .endsAt)
        let offset = try container.decode(UTCOffset.self, forKey: .offset)
        let currency = try container.decode(Currency.self, forKey: .currency)
        let rules = try container.decode([RewardRule].self, forKey: .rules)
        let revision =
            try container.decodeIfPresent(SettlementRevision.self, forKey: .settlementRevision) ?? .latest
        self = try decodeValidated(at: container.codingPath) { () throws(FissionError) in
            try RewardCampaign(
                id: id,
                version: version,
                startsAt: startsAt,
                endsAt: endsAt,
                offset: offset,
                currency: currency,
                rules: rules,
                settlementRevision: revision
            )
        }
    }
}

extension OrderPaid {
    enum CodingKeys: String, CodingKey {
        case order, buyer, inviters, kind, buyerPaidOrderCount, lines, at
    }

    /// Decodes a paid order and checks it as
    /// ``init(order:buyer:inviters:kind:buyerPaidOrderCount:lines:at:)`` does.
    ///
    /// - Throws: `DecodingError.dataCorrupted` (the underlying ``FissionError`` says why) for an
    ///   order with no lines or too many, a line without units or with a negative amount, mixed
    ///   currencies, more than two inviters or the buyer among them, a paid-order count below 1,
    ///   or lines whose amounts overflow when added.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let order = try container.decode(OrderID.self, forKey: .order)
        let buyer = try container.decode(MemberID.self, forKey: .buyer)
        let inviters = try container.decode([MemberID].self, forKey: .inviters)
        let kind = try container.decode(OrderKind.self, forKey: .kind)
        let buyerPaidOrderCount = try container.decode(Int64.self, forKey: .buyerPaidOrderCount)
        let lines = try container.decode([Line].self, forKey: .lines)
        let at = try container.decode(Timestamp.self, forKey: .at)
        self = try decodeValidated(at: container.codingPath) { () throws(FissionError) in
            try OrderPaid(
                order: order,
                buyer: buyer,
                inviters: inviters,
                kind: kind,
                buyerPaidOrderCount: buyerPaidOrderCount,
                lines: lines,
                at: at
            )
        }
    }
}
