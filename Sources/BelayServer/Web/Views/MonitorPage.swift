import BelayCore
import Foundation

/// `/app/monitors/:id`: one monitor's state, uptime and latency charts, and latest checks.
struct MonitorPage: AppPage {
    static let template = "monitor"
    var chrome: AppChrome
    var id: String
    var name: String
    var kind: String
    var target: String
    var status: String
    var statusClass: String
    var since: String
    var message: String
    var interval: Int
    var timeout: Int
    var thresholds: String
    var component: String
    var hasComponent: Bool
    var severity: String
    var isPaused: Bool
    var isHeartbeat: Bool
    /// Why the last check could not run (the egress policy refused it), shown as a problem to fix.
    var configurationProblem: String?
    /// What the public will see when this monitor opens an incident.
    var publicNote: String
    /// Nil unless a heartbeat token was just made: Belay keeps only its hash.
    var heartbeatURL: String?
    var uptime24h: String
    var uptime7d: String
    var uptime30d: String
    var uptime90d: String
    /// SVG drawn by `Charts` from numbers only.
    var uptimeBars: String
    var latencyChart: String
    var results: [ResultRow]

    struct ResultRow {
        var at: String
        var outcome: String
        var outcomeClass: String
        var latency: String
        var message: String
    }
}

extension MonitorPage {
    /// `days` are the last 90 days' rollups, `hours` the last 24 hours'.
    init(
        chrome: AppChrome, monitor: Monitor, component: Component? = nil, days: [CheckRollup], hours: [CheckRollup], results: [CheckResult],
        heartbeatURL: String?, now: Date
    ) {
        func uptime(_ rollups: [CheckRollup]) -> String {
            MonitorText.percent(passed: rollups.reduce(0) { $0 + $1.up + $1.degraded }, of: rollups.reduce(0) { $0 + $1.total })
        }
        let today = RollupGranularity.day.bucket(now)
        self.init(
            chrome: chrome, id: String(monitor.id), name: monitor.name, kind: monitor.kind.rawValue, target: MonitorText.target(monitor),
            status: monitor.state.status.rawValue, statusClass: MonitorText.statusClass(monitor.state.status), since: UTCTime.when(monitor.state.since),
            message: monitor.state.lastMessage ?? "not checked yet", interval: monitor.intervalSeconds, timeout: monitor.timeoutSeconds,
            thresholds: MonitorText.thresholds(monitor),
            component: monitor.component ?? "none", hasComponent: monitor.component != nil, severity: monitor.severity.rawValue, isPaused: monitor.isPaused,
            isHeartbeat: monitor.kind == .heartbeat, configurationProblem: monitor.state.configurationProblem,
            publicNote: MonitorPublicity.note(component: component), heartbeatURL: heartbeatURL.flatMap { $0.isEmpty ? nil : $0 }, uptime24h: uptime(hours),
            uptime7d: uptime(days.filter { $0.bucket > today - 7 * 86400 }), uptime30d: uptime(days.filter { $0.bucket > today - 30 * 86400 }),
            uptime90d: uptime(days), uptimeBars: Charts.uptimeBars(days, endingAt: today, count: 90),
            latencyChart: Charts.latency(hours, endingAt: RollupGranularity.hour.bucket(now), count: 24, step: 3600),
            results: results.map { result in
                ResultRow(
                    at: UTCTime.when(result.checkedAt), outcome: result.outcome.rawValue,
                    outcomeClass: result.outcome == .up ? "st-operational" : result.outcome == .degraded ? "st-degraded_performance" : "st-major_outage",
                    latency: result.latencyMs.map { String(format: "%.1f ms", $0) } ?? "-", message: result.message)
            })
    }
}
