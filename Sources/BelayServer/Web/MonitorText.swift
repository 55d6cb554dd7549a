import BelayCore

/// How the app names a monitor's state and what it watches.
enum MonitorText {
    static func statusClass(_ status: MonitorStatus) -> String {
        switch status {
        case .up: return "st-operational"
        case .degraded: return "st-degraded_performance"
        case .down: return "st-major_outage"
        case .pending, .paused: return "st-none"
        }
    }

    static func target(_ monitor: Monitor) -> String {
        let s = monitor.settings
        switch monitor.kind {
        case .http: return s.url ?? ""
        case .tcp: return "\(s.host ?? ""):\(s.port ?? 0)"
        case .tls: return "\(s.host ?? ""):\(s.port ?? 443)"
        case .certificateFile: return s.path ?? "uploaded certificate"
        case .dns: return s.name ?? ""
        case .heartbeat: return "every \(monitor.intervalSeconds) s + \(s.graceSeconds ?? 0) s grace"
        }
    }
}
