/// When and for how long an inviter is bound to the members they bring.
///
/// The grid is the one the production systems use: CRMEB's scope (all members or new members
/// only) times duration (permanent, an N-day protection window, last touch wins), and yudao's
/// moment (on registration or on the first order). Whatever the policy, a member is bound only to
/// an inviter who joined before them, so an existing customer can never be "referred" and no
/// cycle can form.
public struct BindingPolicy: Hashable, Sendable, Codable {
    /// The event that makes an invitation a binding.
    public enum Moment: UInt8, Hashable, Sendable, Codable {
        /// The invitation binds as soon as it is accepted: at registration, or at a later touch.
        case registration = 0
        /// An invitation is remembered as pending and binds when the member pays their first order,
        /// so sign-ups that never buy bind no one. One invitation waits per member: the first,
        /// unless the duration is ``Duration/lastTouch``, under which the latest replaces it.
        case firstOrder = 1
    }

    /// Which members an invitation may bind.
    public enum Scope: UInt8, Hashable, Sendable, Codable {
        /// Any member without a binding (and, by ``Duration``, with an expired one) can be bound by a
        /// later touch.
        case allMembers = 0
        /// Only the invitation a member registers through counts; later touches are refused
        /// (one from the inviter the member is bound to changes nothing, as under any scope).
        case newMembersOnly = 1
    }

    /// How long a binding holds against a touch from another inviter.
    public enum Duration: Hashable, Sendable, Codable {
        /// The first binding is final.
        case permanent
        /// The binding cannot be taken over for this many days (24-hour periods) after it was made;
        /// after that, a touch from another inviter rebinds the member.
        case protectionWindow(days: Int)
        /// Every touch from another inviter rebinds the member at once.
        case lastTouch
    }

    /// The longest protection window, in days (ten years).
    public static var maximumProtectionDays: Int { 3_650 }

    /// When an invitation becomes a binding.
    public var moment: Moment
    /// Which members may be bound.
    public var scope: Scope
    /// How long a binding holds.
    public var duration: Duration

    /// Creates a policy; the default binds on registration, any unbound member, permanently.
    public init(moment: Moment = .registration, scope: Scope = .allMembers, duration: Duration = .permanent) {
        self.moment = moment
        self.scope = scope
        self.duration = duration
    }

    /// The protection window in milliseconds, `nil` when the duration is not a window.
    var protectionMilliseconds: Int64? {
        guard case .protectionWindow(let days) = self.duration else { return nil }
        return Int64(days) * 86_400_000
    }
}
