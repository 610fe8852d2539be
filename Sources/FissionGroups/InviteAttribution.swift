import FissionCore

/// Who brought whom into one group, kept as the log is written.
///
/// A member is credited to the inviter of their first join into the group, once: leaving and
/// coming back through another invite credits nobody, so a pair of friends cannot farm counts.
/// The credited stay is the one that began with that join; it ends the first time the member
/// leaves, is removed or is moved out.
struct InviteAttribution: Hashable, Sendable {
    struct Credit: Hashable, Sendable {
        let inviter: MemberID?
        let joinedAt: Timestamp
        var stayEndedAt: Timestamp?
    }

    /// Every member who ever joined the group, with their first join.
    private(set) var credits: [MemberID: Credit] = [:]
    /// Each inviter's credited invitees, in join order.
    private(set) var invitees: [MemberID: [MemberID]] = [:]

    mutating func recordEntry(of member: MemberID, invitedBy inviter: MemberID?, at instant: Timestamp) {
        guard self.credits[member] == nil else { return }
        self.credits[member] = Credit(inviter: inviter, joinedAt: instant, stayEndedAt: nil)
        if let inviter { self.invitees[inviter, default: []].append(member) }
    }

    mutating func recordExit(of member: MemberID, at instant: Timestamp) {
        guard var credit = self.credits[member], credit.stayEndedAt == nil else { return }
        credit.stayEndedAt = instant
        self.credits[member] = credit
    }

    func count(by inviter: MemberID) -> Int { self.invitees[inviter]?.count ?? 0 }

    /// Invitees credited to `inviter` whose credited stay had lasted at least `stayedMilliseconds`
    /// and had not ended at `now`.
    func retainedCount(by inviter: MemberID, stayedMilliseconds: Int64, asOf now: Timestamp) -> Int {
        var count = 0
        for invitee in self.invitees[inviter] ?? [] {
            guard let credit = self.credits[invitee] else { continue }
            let mark = credit.joinedAt.millisecondsSinceEpoch + stayedMilliseconds
            guard mark <= now.millisecondsSinceEpoch else { continue }
            if let ended = credit.stayEndedAt, ended <= now { continue }
            count += 1
        }
        return count
    }
}
