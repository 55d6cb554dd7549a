import BelayCore
import Foundation

/// How the app names a monitor's state and what it watches, and writes its numbers.
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

    /// "2 failures to go down, 1 success to come back".
    static func thresholds(_ monitor: Monitor) -> String {
        "\(Plural.count(monitor.failureThreshold, "failure")) to go down, \(Plural.count(monitor.successThreshold, "success", plural: "successes")) to come back"
    }

    /// A share of passing checks as people read it: at most two decimals, no trailing zeros ("63.64%", "100%").
    /// Rounding never shows 100% while a check failed, nor 0% while one passed.
    static func percent(passed: Int, of total: Int) -> String {
        guard total > 0 else { return "no data" }
        let passed = min(max(passed, 0), total)
        var value = (Double(passed) * 10_000 / Double(total)).rounded() / 100
        if passed < total { value = min(value, 99.99) }
        if passed > 0 { value = max(value, 0.01) }
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text + "%"
    }
}
