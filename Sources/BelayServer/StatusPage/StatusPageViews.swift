import BelayCore
import Foundation

/// Turns public data into the values the mustache templates show. All text goes through the templates'
/// escaping; the only pre-built markup is the history SVG, which holds no user text.
struct StatusPageViews {
    let configuration: ServerConfiguration
    let data: PublicData
    let statuses: [String: ComponentStatus]
    let overall: OverallIndicator
    let history: [String: ComponentHistory]
    let cssHref: String

    struct Group {
        var name: String?
        var members: [Component]
    }

    /// Components in display order, gathered into groups in the order each group first appears.
    static func grouped(_ components: [Component]) -> [Group] {
        let sorted = components.sorted { ($0.position, $0.name, $0.slug) < ($1.position, $1.name, $1.slug) }
        var groups: [Group] = []
        var index: [String: Int] = [:]
        for component in sorted {
            if let name = component.group {
                if let at = index[name] {
                    groups[at].members.append(component)
                } else {
                    index[name] = groups.count
                    groups.append(Group(name: name, members: [component]))
                }
            } else if let last = groups.last, last.name == nil {
                groups[groups.count - 1].members.append(component)
            } else {
                groups.append(Group(name: nil, members: [component]))
            }
        }
        return groups
    }

    var base: [String: Any] {
        [
            "pageName": configuration.pageName, "cssHref": cssHref, "baseURL": configuration.baseURL,
            "generatedAt": Self.when(data.now), "generatedISO": BelayJSON.formatDate(data.now),
        ]
    }

    func home() -> (template: String, context: [String: Any]) {
        let now = data.now
        var context = base
        context["title"] = configuration.pageName
        context["overallClass"] = "ind-\(overall.rawValue)"
        context["overallText"] = overall.description
        let open = data.incidents.filter(\.isOpen)
        context["activeIncidents"] = open.map(incidentCard)
        context["hasActiveIncidents"] = !open.isEmpty
        let active = data.maintenances.filter { $0.isActive(at: now) }.sorted { $0.scheduledStart < $1.scheduledStart }
        let upcoming = data.maintenances.filter { $0.isUpcoming(at: now) }.sorted { $0.scheduledStart < $1.scheduledStart }
        context["activeMaintenance"] = active.map(maintenanceCard)
        context["upcomingMaintenance"] = upcoming.map(maintenanceCard)
        context["hasActiveMaintenance"] = !active.isEmpty
        context["hasUpcomingMaintenance"] = !upcoming.isEmpty
        context["historyDays"] = configuration.historyDays
        context["groups"] = Self.grouped(data.components).map { group -> [String: Any] in
            [
                "name": group.name ?? "", "hasName": group.name != nil,
                "components": group.members.map(componentRow),
            ]
        }
        return ("home", context)
    }

    func componentRow(_ component: Component) -> [String: Any] {
        let status = statuses[component.slug] ?? .operational
        let componentHistory = history[component.slug]
        return [
            "name": component.name, "description": component.description, "hasDescription": !component.description.isEmpty,
            "statusLabel": status.label, "statusClass": "st-\(status.rawValue)",
            "uptime": componentHistory.map { history in history.measuredUptime.map { Self.percent($0) + " measured" } ?? Self.percent(history.uptime) } ?? "100%",
            "bars": componentHistory.map { bars($0, component: component) } ?? "",
        ]
    }

    /// One SVG per component: a base bar, grey before anything is known of the component, and a mark for
    /// every day that was not fully operational. The label repeats the marked days for keyboard, touch
    /// and screen-reader users, who cannot hover the tooltips.
    /// Below this share of passing checks, a day is marked even without an incident.
    static let measuredThreshold = 0.999

    func bars(_ history: ComponentHistory, component: Component) -> String {
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
                parts.append("\(Self.percent(measured.availability)) of \(measured.checks) checks passed")
            }
            let text = "\(Self.dayLabel(day.day)): \(parts.joined(separator: ", "))"
            let cls = day.worst != .operational ? day.worst.rawValue : ComponentStatus.degradedPerformance.rawValue
            marks += "<rect class=\"d-\(cls)\" x=\"\(index * 4)\" width=\"4\" height=\"24\"><title>\(Self.escape(text))</title></rect>"
            spoken.append(text)
        }
        let uptimeText = history.measuredUptime.map { "\(Self.percent($0)) measured" } ?? Self.percent(history.uptime)
        var label = "\(days)-day history, \(uptimeText) uptime"
        label += spoken.isEmpty ? ", no incidents" : "; " + spoken.suffix(10).joined(separator: "; ")
        var svg = "<svg class=\"bars\" viewBox=\"0 0 \(days * 4) 24\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"\(Self.escape(label))\">"
        if firstDay > 0 {
            svg += "<rect class=\"d-none\" x=\"0\" width=\"\(firstDay * 4)\" height=\"24\"/>"
        }
        svg += "<rect class=\"d-operational\" x=\"\(firstDay * 4)\" width=\"\((days - firstDay) * 4)\" height=\"24\"/>"
        return svg + marks + "</svg>"
    }

    func incidentCard(_ incident: Incident) -> [String: Any] {
        let names = Dictionary(uniqueKeysWithValues: data.components.map { ($0.slug, $0.name) })
        let affected = incident.impacts.compactMap { names[$0.slug] }
        return [
            "id": String(incident.id), "title": incident.title, "url": "/incidents/\(incident.id)",
            "impactClass": "imp-\(ServiceStatus.impactIndicator(of: incident).rawValue)",
            "impactLabel": Self.impactLabel(ServiceStatus.impactIndicator(of: incident)),
            "statusLabel": incident.status.label, "isResolved": !incident.isOpen,
            "affected": affected.joined(separator: ", "), "hasAffected": !affected.isEmpty,
            "started": Self.when(incident.impactStart), "startedISO": BelayJSON.formatDate(incident.impactStart),
            "resolved": incident.milestones.resolvedAt.map(Self.when) ?? "",
            "duration": Durations.describe((incident.milestones.resolvedAt ?? data.now).timeIntervalSince(incident.impactStart)),
            "updates": incident.updates.reversed().map { update -> [String: Any] in
                [
                    "statusLabel": update.status.label, "body": update.body, "when": Self.when(update.displayAt),
                    "iso": BelayJSON.formatDate(update.displayAt),
                ]
            },
            "latest": incident.updates.last?.body ?? "",
        ]
    }

    func maintenanceCard(_ window: MaintenanceWindow) -> [String: Any] {
        let names = Dictionary(uniqueKeysWithValues: data.components.map { ($0.slug, $0.name) })
        let status = window.effectiveStatus(at: data.now)
        return [
            "id": String(window.id), "title": window.title, "statusLabel": status.label, "statusClass": "mt-\(status.rawValue)",
            "start": Self.when(window.scheduledStart), "end": Self.when(window.scheduledEnd),
            "startISO": BelayJSON.formatDate(window.scheduledStart), "endISO": BelayJSON.formatDate(window.scheduledEnd),
            "affected": window.components.compactMap { names[$0] }.joined(separator: ", "), "hasAffected": !window.components.isEmpty,
            "updates": window.updates.reversed().map { update -> [String: Any] in
                ["statusLabel": update.status.label, "body": update.body, "when": Self.when(update.createdAt), "iso": BelayJSON.formatDate(update.createdAt)]
            },
        ]
    }

    func historyPage() -> (template: String, context: [String: Any]) {
        var context = base
        context["title"] = "History · \(configuration.pageName)"
        var months: [(String, [[String: Any]])] = []
        for incident in data.incidents.sorted(by: { $0.impactStart > $1.impactStart }) {
            let label = Self.monthLabel(incident.impactStart)
            if months.last?.0 == label {
                months[months.count - 1].1.append(incidentCard(incident))
            } else {
                months.append((label, [incidentCard(incident)]))
            }
        }
        context["months"] = months.map { ["month": $0.0, "incidents": $0.1] }
        context["hasIncidents"] = !data.incidents.isEmpty
        let past = data.maintenances.filter { $0.effectiveStatus(at: data.now).isFinished }
        context["pastMaintenance"] = past.map(maintenanceCard)
        context["hasPastMaintenance"] = !past.isEmpty
        context["historyDays"] = configuration.historyDays
        return ("history", context)
    }

    func incidentPage(_ incident: Incident) -> (template: String, context: [String: Any]) {
        var context = base
        context["title"] = "\(incident.title) · \(configuration.pageName)"
        context["incident"] = incidentCard(incident)
        return ("incident", context)
    }

    func notFoundPage() -> (template: String, context: [String: Any]) {
        var context = base
        context["title"] = "Not found · \(configuration.pageName)"
        return ("not-found", context)
    }

    /// The newest incidents as feed entries; each entry's content is the update history as HTML.
    func feed() -> [String: Any] {
        let entries = data.incidents.prefix(50).map { incident -> [String: Any] in
            let updates = incident.updates.reversed().map { update in
                "<p><small>\(Self.escape(Self.when(update.displayAt)))</small><br><strong>\(Self.escape(update.status.label))</strong> - \(Self.escape(update.body))</p>"
            }.joined()
            let updated = max(incident.updatedAt, incident.updates.last?.createdAt ?? incident.updatedAt)
            return [
                "id": "\(configuration.baseURL)/incidents/\(incident.id)", "title": incident.title,
                "link": "\(configuration.baseURL)/incidents/\(incident.id)", "published": BelayJSON.formatDate(incident.createdAt),
                "updated": BelayJSON.formatDate(updated), "pubDate": Self.rfc822(incident.createdAt), "content": updates,
            ]
        }
        let latest = data.incidents.map(\.updatedAt).max() ?? data.now.addingTimeInterval(-0)
        return [
            "pageName": configuration.pageName, "baseURL": configuration.baseURL, "updated": BelayJSON.formatDate(latest),
            "lastBuildDate": Self.rfc822(latest), "entries": entries,
        ]
    }

    // MARK: Formatting

    static func impactLabel(_ indicator: OverallIndicator) -> String {
        switch indicator {
        case .none: return "No impact"
        case .minor: return "Minor"
        case .major: return "Major"
        case .critical: return "Critical"
        case .maintenance: return "Maintenance"
        }
    }

    static let utc = TimeZone(identifier: "UTC")!
    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    static let longMonthNames = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
    static let weekdayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]

    static func parts(_ date: Date) -> DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = utc
        return calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
    }

    /// "21 Nov 2026, 16:21 UTC"
    static func when(_ date: Date) -> String {
        let p = parts(date)
        return String(format: "%d %@ %04d, %02d:%02d UTC", p.day!, monthNames[p.month! - 1], p.year!, p.hour!, p.minute!)
    }

    static func dayLabel(_ date: Date) -> String {
        let p = parts(date)
        return String(format: "%d %@ %04d", p.day!, monthNames[p.month! - 1], p.year!)
    }

    static func monthLabel(_ date: Date) -> String {
        let p = parts(date)
        return "\(longMonthNames[p.month! - 1]) \(p.year!)"
    }

    /// RFC 822 dates for RSS, e.g. "Sat, 21 Nov 2026 16:21:00 +0000".
    static func rfc822(_ date: Date) -> String {
        let p = parts(date)
        return String(
            format: "%@, %02d %@ %04d %02d:%02d:%02d +0000", weekdayNames[p.weekday! - 1], p.day!, monthNames[p.month! - 1], p.year!, p.hour!,
            p.minute!, p.second!)
    }

    static func percent(_ fraction: Double) -> String {
        let value = (fraction * 10000).rounded(.down) / 100
        return value == 100 ? "100%" : String(format: "%.2f%%", value)
    }

    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "&": result += "&amp;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }
}
