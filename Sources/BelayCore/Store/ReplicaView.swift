import Foundation

/// One replica's knowledge of the live set, and of the sets it replaced that another replica may still be
/// acting on. Replicas renew at their own moments, so after a join the others go on checking the joiner's
/// share until their next renewal; a monitor that moves to this replica from one still alive is therefore
/// not checked here until that replica must have let go (`handover` after the change was seen). A monitor
/// whose last owner has left or expired is taken at once: a replica that leaves stops checking first, and
/// one that cannot renew stops when its lease runs out.
public struct ReplicaView: Sendable, Equatable {
    public struct Superseded: Sendable, Equatable {
        public var replicas: [String]
        /// Until when another replica may still hold this set.
        public var until: Date
    }

    public private(set) var live: [String] = []
    public private(set) var superseded: [Superseded] = []

    public init() {}

    /// Takes in the live set `replicas` (which includes `me`) as read at `now`; returns whether it changed.
    /// Before the first live set is known this replica owns nothing, so a replica starting among others
    /// never checks their share while it learns who they are.
    @discardableResult
    public mutating func observe(_ replicas: [String], me: String, at now: Date, handover: TimeInterval) -> Bool {
        superseded.removeAll { $0.until <= now }
        guard replicas != live else { return false }
        // The first set this replica sees is one the others may not know it in yet: they still share the
        // work among themselves.
        let before = live.isEmpty ? replicas.filter { $0 != me } : live
        if !before.isEmpty { superseded.append(Superseded(replicas: before, until: now.addingTimeInterval(handover))) }
        live = replicas
        return true
    }

    /// Whether `me` checks the work keyed `key` at `now`.
    public func owns(_ key: Int64, me: String, at now: Date) -> Bool {
        guard MonitorOwnership.owner(of: key, among: live) == me else { return false }
        for old in superseded where old.until > now {
            guard let was = MonitorOwnership.owner(of: key, among: old.replicas), was != me else { continue }
            if live.contains(was) { return false }
        }
        return true
    }
}
