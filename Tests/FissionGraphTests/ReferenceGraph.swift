import FissionCore
import FissionGraph
import Foundation

/// The brute-force model the graph is checked against: a dictionary of parents and plain loops.
///
/// It follows the same rules in the same order, but keeps no counters, no child lists and no
/// index: every answer is recomputed from the parent map.
struct ReferenceGraph {
    struct Edge: Equatable {
        var inviter: MemberID
        var campaign: CampaignID?
        var validFrom: Int64
        var validTo: Int64?
    }

    let policy: BindingPolicy
    var members: [MemberID] = []
    var joinOrder: [MemberID: Int] = [:]
    var parent: [MemberID: MemberID] = [:]
    var boundAt: [MemberID: Int64] = [:]
    var bindingSequence: [MemberID: Int] = [:]
    var campaignOf: [MemberID: CampaignID] = [:]
    var ordered: Set<MemberID> = []
    var pending: [MemberID: (inviter: MemberID, campaign: CampaignID?, time: Int64)] = [:]
    var closed: [MemberID: [Edge]] = [:]
    var latest = Timestamp.earliest.millisecondsSinceEpoch
    var sequence = 0

    init(policy: BindingPolicy) {
        self.policy = policy
    }

    private func fail(_ code: FissionError.Code) -> FissionError { FissionError(code: code) }

    mutating func register(
        _ member: MemberID,
        at time: Int64,
        invitedBy inviter: MemberID?,
        campaign: CampaignID?
    ) throws(FissionError) {
        guard time >= self.latest else { throw self.fail(.timeWentBackwards) }
        if let inviter {
            guard inviter != member else { throw self.fail(.selfInvite) }
            guard self.joinOrder[inviter] != nil else { throw self.fail(.unknownMember) }
        }
        guard self.joinOrder[member] == nil else { throw self.fail(.memberAlreadyRegistered) }
        self.joinOrder[member] = self.members.count
        self.members.append(member)
        self.latest = time
        if let inviter {
            switch self.policy.moment {
            case .registration: self.attach(member, to: inviter, campaign: campaign, at: time)
            case .firstOrder: self.pending[member] = (inviter, campaign, time)
            }
        }
    }

    mutating func bind(
        _ member: MemberID,
        to inviter: MemberID,
        at time: Int64,
        campaign: CampaignID?
    ) throws(FissionError) -> BindingOutcome {
        guard time >= self.latest else { throw self.fail(.timeWentBackwards) }
        guard inviter != member else { throw self.fail(.selfInvite) }
        guard let memberOrder = self.joinOrder[member], let inviterOrder = self.joinOrder[inviter] else {
            throw self.fail(.unknownMember)
        }
        guard inviterOrder < memberOrder else { throw self.fail(.inviteeJoinedFirst) }
        guard self.policy.scope == .allMembers else {
            if self.parent[member] == inviter || self.pending[member]?.0 == inviter { return .unchanged }
            throw self.fail(.bindingClosed)
        }
        if self.policy.moment == .firstOrder && !self.ordered.contains(member) {
            if self.pending[member] != nil && self.policy.duration != .lastTouch { return .unchanged }
            self.pending[member] = (inviter, campaign, time)
            self.latest = time
            return .pending
        }
        guard let current = self.parent[member] else {
            self.attach(member, to: inviter, campaign: campaign, at: time)
            self.latest = time
            return .bound
        }
        if current == inviter { return .unchanged }
        switch self.policy.duration {
        case .permanent: throw self.fail(.alreadyBound)
        case .protectionWindow(let days):
            if time - self.boundAt[member]! < Int64(days) * 86_400_000 { throw self.fail(.bindingProtected) }
        case .lastTouch: break
        }
        self.closed[member, default: []].append(
            Edge(inviter: current, campaign: self.campaignOf[member], validFrom: self.boundAt[member]!, validTo: time)
        )
        self.parent[member] = nil
        self.campaignOf[member] = nil
        self.attach(member, to: inviter, campaign: campaign, at: time)
        self.latest = time
        return .rebound
    }

    mutating func attributeOrder(placedBy member: MemberID, at time: Int64) throws(FissionError) -> MemberID? {
        guard time >= self.latest else { throw self.fail(.timeWentBackwards) }
        guard self.joinOrder[member] != nil else { throw self.fail(.unknownMember) }
        if !self.ordered.contains(member) {
            self.ordered.insert(member)
            if self.policy.moment == .firstOrder, let touch = self.pending.removeValue(forKey: member) {
                self.attach(member, to: touch.inviter, campaign: touch.campaign, at: time)
            }
            self.latest = time
        }
        return self.parent[member]
    }

    private mutating func attach(_ member: MemberID, to inviter: MemberID, campaign: CampaignID?, at time: Int64) {
        self.parent[member] = inviter
        self.boundAt[member] = time
        self.campaignOf[member] = campaign
        self.sequence += 1
        self.bindingSequence[member] = self.sequence
    }

    // MARK: Queries, recomputed every time

    /// Direct invitees, newest binding first.
    func invitees(of member: MemberID) -> [MemberID] {
        self.members.filter { self.parent[$0] == member }.sorted {
            self.bindingSequence[$0]! > self.bindingSequence[$1]!
        }
    }

    func ancestors(of member: MemberID, upTo levels: Int) -> [MemberID] {
        var result: [MemberID] = []
        var cursor = self.parent[member]
        while let ancestor = cursor, result.count < levels {
            result.append(ancestor)
            cursor = self.parent[ancestor]
        }
        return result
    }

    func perLevel(of member: MemberID, upTo levels: Int) -> [[MemberID]] {
        var result: [[MemberID]] = []
        var frontier = [member]
        for _ in 0..<levels {
            let next = frontier.flatMap { self.invitees(of: $0) }
            result.append(next)
            frontier = next
        }
        return result
    }

    func descendants(of member: MemberID) -> [MemberID] {
        self.members.filter { candidate in
            var cursor = self.parent[candidate]
            while let ancestor = cursor {
                if ancestor == member { return true }
                cursor = self.parent[ancestor]
            }
            return false
        }
    }

    func counts(of member: MemberID) -> InviteCounts {
        let direct = self.invitees(of: member)
        return InviteCounts(
            direct: direct.count,
            secondLevel: direct.reduce(0) { $0 + self.invitees(of: $1).count },
            team: self.descendants(of: member).count
        )
    }

    func count(of member: MemberID, by kind: InviteCountKind) -> Int {
        switch kind {
        case .direct: return self.counts(of: member).direct
        case .secondLevel: return self.counts(of: member).secondLevel
        case .team: return self.counts(of: member).team
        case .campaign(let campaign):
            return self.invitees(of: member).filter { self.campaignOf[$0] == campaign }.count
        case .boundDuring(let window):
            return self.invitees(of: member).filter {
                let time = self.boundAt[$0]!
                return time >= window.lowerBound.millisecondsSinceEpoch
                    && time < window.upperBound.millisecondsSinceEpoch
            }.count
        }
    }

    func top(limit: Int, by kind: InviteCountKind) -> [(MemberID, Int)] {
        let rows = self.members.map { ($0, self.count(of: $0, by: kind)) }.filter { $0.1 > 0 }
        let sorted = rows.sorted { left, right in
            left.1 != right.1 ? left.1 > right.1 : self.joinOrder[left.0]! < self.joinOrder[right.0]!
        }
        return Array(sorted.prefix(limit))
    }

    func history(of member: MemberID) -> [Edge] {
        var edges = self.closed[member] ?? []
        if let current = self.parent[member] {
            edges.append(Edge(inviter: current, campaign: self.campaignOf[member], validFrom: self.boundAt[member]!))
        }
        return edges
    }

    func inviter(of member: MemberID, asOf time: Int64) -> MemberID? {
        for edge in self.history(of: member) where edge.validFrom <= time && time < (edge.validTo ?? Int64.max) {
            return edge.inviter
        }
        return nil
    }
}

/// The seeds a randomized suite runs: `ciCount` seeds from `base`, or as many as
/// `FISSION_PROPERTY_SEEDS` says, for a long run by hand (Contributing.md).
func propertySeeds(from base: UInt64, ciCount: Int) -> [UInt64] {
    let count = ProcessInfo.processInfo.environment["FISSION_PROPERTY_SEEDS"].flatMap { Int($0) } ?? ciCount
    return (0..<UInt64(max(count, 1))).map { base + $0 }
}
