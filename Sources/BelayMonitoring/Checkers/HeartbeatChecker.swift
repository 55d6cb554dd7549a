import BelayCore
import Foundation

/// Checks that a job pinged its heartbeat URL recently enough. No network: the pings arrive through the API.
public struct HeartbeatChecker: Checker {
    public init() {}

    public func check(_ monitor: Monitor, now: Date) async -> CheckReport {
        let last = monitor.state.lastPingAt
        let silence = Int(max(0, now.timeIntervalSince(last ?? monitor.createdAt)))
        if monitor.heartbeatOverdue(at: now) {
            let grace = monitor.settings.graceSeconds ?? 0
            return CheckReport(outcome: .down, message: "no heartbeat for \(silence) s (expected every \(monitor.intervalSeconds) s + \(grace) s grace)")
        }
        guard last != nil else { return CheckReport(outcome: .up, message: "waiting for the first heartbeat (created \(silence) s ago)") }
        return CheckReport(outcome: .up, message: "last heartbeat \(silence) s ago")
    }
}
