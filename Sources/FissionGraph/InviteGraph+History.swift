public import FissionCore

extension InviteGraph {
    /// The inviter the member was bound to at `time`, or `nil` if they had none then.
    ///
    /// A binding holds from its valid-from (inclusive) to the rebinding that closed it (exclusive).
    ///
    /// - Throws: ``FissionError/Code/unknownMember``.
    /// - Complexity: O(the member's rebindings).
    public func inviter(of member: MemberID, asOf time: Timestamp) throws(FissionError) -> MemberID? {
        let position = try self.requireIndex(member)
        let instant = time.millisecondsSinceEpoch
        let current = self.parent[position]
        if current >= 0 && self.boundAt[position] <= instant {
            return self.table.id(at: Int(current))
        }
        var edge = self.latestClosedEdge[Int32(position)] ?? -1
        while edge >= 0 {
            let closed = self.closedEdges[Int(edge)]
            if closed.validTo <= instant { return nil }
            if closed.validFrom <= instant { return self.table.id(at: Int(closed.inviter)) }
            edge = closed.previous
        }
        return nil
    }

    /// Every binding the member has had, oldest first; the last one is open while it holds.
    ///
    /// - Throws: ``FissionError/Code/unknownMember``.
    /// - Complexity: O(the member's rebindings).
    public func bindingHistory(of member: MemberID) throws(FissionError) -> [Binding] {
        let position = try self.requireIndex(member)
        var history: [Binding] = []
        var edge = self.latestClosedEdge[Int32(position)] ?? -1
        while edge >= 0 {
            let closed = self.closedEdges[Int(edge)]
            history.append(
                Binding(
                    inviter: self.table.id(at: Int(closed.inviter)),
                    campaign: self.campaign(slot: closed.campaign),
                    validFrom: Timestamp(unchecked: closed.validFrom),
                    validTo: Timestamp(unchecked: closed.validTo)
                )
            )
            edge = closed.previous
        }
        history.reverse()
        let current = self.parent[position]
        if current >= 0 {
            history.append(
                Binding(
                    inviter: self.table.id(at: Int(current)),
                    campaign: self.campaign(slot: self.bindingCampaign[position]),
                    validFrom: Timestamp(unchecked: self.boundAt[position]),
                    validTo: nil
                )
            )
        }
        return history
    }

    /// The number of bindings that rebindings have closed, across all members.
    public var closedBindingCount: Int { self.closedEdges.count }

    func campaign(slot: Int32) -> CampaignID? {
        slot < 0 ? nil : self.campaignIDs[Int(slot)]
    }
}
