import BelayCore
import Foundation

/// The 90-day bar of one component as a list of days, each a focusable item whose detail (date, uptime,
/// time in each status, the incidents of that day) is text in the HTML: CSS shows it on hover and
/// keyboard focus, screen readers read it, and no script is needed.
struct UptimeBars {
    /// Below this share of passing checks, a day is marked even without an incident.
    static let measuredThreshold = 0.999

    /// One day of the bar.
    struct Day: Equatable {
        var statusClass: String
        /// Where its detail opens, so the first and last days' detail stays on screen.
        var edgeClass: String
        /// "21 Nov 2026"
        var date: String
        /// "2026-11-21"
        var iso: String
        /// "99.31% uptime", or "No data" before the component was known.
        var summary: String
        /// Time in each status and the incidents of the day, one line each.
        var details: [String]
    }

    var label: String
    var days: [Day]

    /// `incidents` are the public incidents; those touching this component on a day are named in its detail.
    init(_ history: ComponentHistory, incidents: [Incident], now: Date) {
        let own = incidents.filter { incident in incident.impacts.contains { $0.slug == history.slug } }
        var marked: [String] = []
        days = history.days.enumerated().map { index, day in
            let edge = index < 12 ? "day-start" : (index >= history.days.count - 12 ? "day-end" : "day-mid")
            let date = UTCTime.day(day.day)
            let iso = String(BelayJSON.formatDate(day.day).prefix(10))
            guard index >= history.firstKnownDay else {
                return Day(statusClass: "d-none", edgeClass: edge, date: date, iso: iso, summary: "No data", details: [])
            }
            let measuredShort = day.measured.map { $0.availability < Self.measuredThreshold } ?? false
            let statusClass: String =
                if day.worst != .operational { "d-\(day.worst.rawValue)" }
                else if measuredShort { "d-\(ComponentStatus.degradedPerformance.rawValue)" }
                else { "d-operational" }
            var details = day.seconds.sorted { $0.key.badness > $1.key.badness }
                .map { "\($0.key.label): \(Self.minutes($0.value))" }
            if let measured = day.measured, measured.checks > 0 {
                details.append("\(StatusText.percent(measured.availability)) of \(measured.checks) checks passed")
            }
            let dayEnd = day.day.addingTimeInterval(86400)
            for incident in own {
                let end = incident.milestones.resolvedAt ?? (incident.isOpen ? now : incident.updatedAt)
                if incident.impactStart < dayEnd, end > day.day { details.append("Incident: \(incident.title)") }
            }
            let summary = "\(StatusText.percent(Self.uptime(day, now: now))) uptime"
            if statusClass != "d-operational" { marked.append("\(date): \(([summary] + details).joined(separator: ", "))") }
            return Day(statusClass: statusClass, edgeClass: edge, date: date, iso: iso, summary: summary, details: details)
        }
        let uptimeText = history.measuredUptime.map { "\(StatusText.percent($0)) measured" } ?? StatusText.percent(history.uptime)
        label = "\(history.days.count)-day history, \(uptimeText) uptime" + (marked.isEmpty ? ", no incidents" : ", \(marked.count) days with issues")
    }

    /// Time in a status to the minute: the bar's detail is read at a glance, seconds are noise there.
    static func minutes(_ seconds: TimeInterval) -> String {
        seconds < 60 ? "under a minute" : Durations.describe((seconds / 60).rounded() * 60)
    }

    /// The day's uptime weighted as the whole bar's is (`UptimeHistory`): a major outage counts fully, a
    /// partial outage 30 %; today counts only the part that has passed.
    static func uptime(_ day: DayHistory, now: Date) -> Double {
        let span = min(86400, max(0, now.timeIntervalSince(day.day)))
        guard span > 0 else { return 1 }
        let down = (day.seconds[.majorOutage] ?? 0) + UptimeHistory.partialOutageWeight * (day.seconds[.partialOutage] ?? 0)
        return max(0, 1 - down / span)
    }
}
