import BelayCore
import Foundation

/// Small SVG charts drawn on the server (no script), from rollups. Colours come from the stylesheet's
/// classes, so the charts follow light and dark mode.
enum Charts {
    /// One bar per day: green when every check passed, shades for partial availability, grey without data.
    static func uptimeBars(_ days: [CheckRollup], endingAt today: Int64, count: Int) -> String {
        let byDay = Dictionary(days.map { ($0.bucket, $0) }, uniquingKeysWith: { a, _ in a })
        var svg = "<svg class=\"bars\" viewBox=\"0 0 \(count * 4) 24\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"Availability per day, last \(count) days\">"
        for index in 0..<count {
            let bucket = today - Int64(count - 1 - index) * 86400
            let cls: String
            var title = UTCTime.day(Date(timeIntervalSince1970: TimeInterval(bucket))) + ": "
            if let day = byDay[bucket], let availability = day.availability {
                cls = availability >= 0.9999 ? "d-operational" : availability >= 0.99 ? "d-degraded_performance" : availability >= 0.95 ? "d-partial_outage" : "d-major_outage"
                title += "\(MonitorText.percent(passed: day.up + day.degraded, of: day.total)) of \(Plural.count(day.total, "check"))"
            } else {
                cls = "d-none"
                title += "no data"
            }
            svg += "<rect class=\"\(cls)\" x=\"\(index * 4)\" y=\"0\" width=\"3\" height=\"24\"><title>\(title)</title></rect>"
        }
        return svg + "</svg>"
    }

    /// Average (line) and maximum (dots) latency per bucket. A line needs two points: with fewer, the
    /// page says so and gives the one measurement in words instead of drawing a lone dot.
    static func latency(_ rollups: [CheckRollup], endingAt last: Int64, count: Int, step: Int64) -> String {
        let byBucket = Dictionary(rollups.map { ($0.bucket, $0) }, uniquingKeysWith: { a, _ in a })
        let points: [(Int, Double, Double)] = (0..<count).compactMap { index in
            let bucket = last - Int64(count - 1 - index) * step
            guard let r = byBucket[bucket], let avg = r.averageLatencyMs else { return nil }
            return (index, avg, r.latencyMaxMs)
        }
        let width = 480.0, height = 120.0
        guard points.count >= 2 else {
            guard let only = points.first else { return "<p class=\"muted\">No latency measured in the last \(count) hours.</p>" }
            return String(
                format: "<p class=\"muted\">Not enough data yet for a chart: one hour measured so far, average %.1f ms, maximum %.1f ms.</p>", only.1, only.2)
        }
        let top = max(1, points.map(\.2).max() ?? 1) * 1.1
        func x(_ i: Int) -> Double { Double(i) / Double(max(1, count - 1)) * (width - 40) + 36 }
        func y(_ v: Double) -> Double { height - 16 - v / top * (height - 24) }
        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"Latency per hour, last \(count) hours: average line, maximum dots\">"
        svg += "<line class=\"axis\" x1=\"36\" y1=\"\(y(0))\" x2=\"\(width - 4)\" y2=\"\(y(0))\"/>"
        svg += "<text class=\"tick\" x=\"2\" y=\"\(Int(y(top / 1.1)) + 4)\">\(Int(top / 1.1)) ms</text>"
        svg += "<text class=\"tick\" x=\"2\" y=\"\(Int(y(0)))\">0</text>"
        let path = points.map { String(format: "%.1f,%.1f", x($0.0), y($0.1)) }.joined(separator: " ")
        svg += "<polyline class=\"average\" points=\"\(path)\"/>"
        for point in points {
            svg += String(format: "<circle class=\"maximum\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"><title>avg %.1f ms, max %.1f ms</title></circle>", x(point.0), y(point.2), point.1, point.2)
        }
        return svg + "</svg>"
    }
}
