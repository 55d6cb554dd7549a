import BelayFormats
import BelayCore
import Foundation

/// One SVG per component: a base bar, grey before anything is known of the component, and a mark for
/// every day that was not fully operational. The label repeats the marked days for keyboard, touch
/// and screen-reader users, who cannot hover the tooltips.
enum UptimeBars {
    /// Below this share of passing checks, a day is marked even without an incident.
    static let measuredThreshold = 0.999

    static func svg(_ history: ComponentHistory) -> String {
        let days = history.days.count
        let firstDay = history.firstKnownDay
        var marks = ""
        var spoken: [String] = []
        for (index, day) in history.days.enumerated() {
            // Monitors that failed checks mark a day even when no incident was declared (below 99.9 %).
            let measuredShort = day.measured.map { $0.availability < Self.measuredThreshold } ?? false
            guard day.worst != .operational || measuredShort else { continue }
            var parts = day.seconds.sorted { $0.key.badness > $1.key.badness }
                .map { "\($0.key.label.lowercased()) \(Durations.describe($0.value))" }
            if let measured = day.measured, measured.passed < measured.checks {
                parts.append("\(StatusText.percent(measured.availability)) of \(measured.checks) checks passed")
            }
            let text = "\(UTCTime.day(day.day)): \(parts.joined(separator: ", "))"
            let cls = day.worst != .operational ? day.worst.rawValue : ComponentStatus.degradedPerformance.rawValue
            marks += "<rect class=\"d-\(cls)\" x=\"\(index * 4)\" width=\"4\" height=\"24\"><title>\(Markup.escape(text))</title></rect>"
            spoken.append(text)
        }
        let uptimeText = history.measuredUptime.map { "\(StatusText.percent($0)) measured" } ?? StatusText.percent(history.uptime)
        var label = "\(days)-day history, \(uptimeText) uptime"
        label += spoken.isEmpty ? ", no incidents" : "; " + spoken.suffix(10).joined(separator: "; ")
        var svg = "<svg class=\"bars\" viewBox=\"0 0 \(days * 4) 24\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"\(Markup.escape(label))\">"
        if firstDay > 0 {
            svg += "<rect class=\"d-none\" x=\"0\" width=\"\(firstDay * 4)\" height=\"24\"/>"
        }
        svg += "<rect class=\"d-operational\" x=\"\(firstDay * 4)\" width=\"\((days - firstDay) * 4)\" height=\"24\"/>"
        return svg + marks + "</svg>"
    }
}
