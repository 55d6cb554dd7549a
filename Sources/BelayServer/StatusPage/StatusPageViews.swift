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

    var base: [String: Any] {
        [
            "pageName": configuration.pageName, "cssHref": cssHref, "baseURL": configuration.baseURL,
            "generatedAt": UTCTime.when(data.now), "generatedISO": BelayJSON.formatDate(data.now),
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
        context["groups"] = ComponentGroup.grouped(data.components).map { group -> [String: Any] in
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
            "uptime": componentHistory.map { history in history.measuredUptime.map { StatusText.percent($0) + " measured" } ?? StatusText.percent(history.uptime) } ?? "100%",
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

    func incidentCard(_ incident: Incident) -> [String: Any] {
        let names = Dictionary(uniqueKeysWithValues: data.components.map { ($0.slug, $0.name) })
        let affected = incident.impacts.compactMap { names[$0.slug] }
        return [
            "id": String(incident.id), "title": incident.title, "url": "/incidents/\(incident.id)",
            "impactClass": "imp-\(ServiceStatus.impactIndicator(of: incident).rawValue)",
            "impactLabel": StatusText.impactLabel(ServiceStatus.impactIndicator(of: incident)),
            "statusLabel": incident.status.label, "isResolved": !incident.isOpen,
            "affected": affected.joined(separator: ", "), "hasAffected": !affected.isEmpty,
            "started": UTCTime.when(incident.impactStart), "startedISO": BelayJSON.formatDate(incident.impactStart),
            "resolved": incident.milestones.resolvedAt.map(UTCTime.when) ?? "",
            "duration": Durations.describe((incident.milestones.resolvedAt ?? data.now).timeIntervalSince(incident.impactStart)),
            "updates": incident.updates.reversed().map { update -> [String: Any] in
                [
                    "statusLabel": update.status.label, "body": update.body, "when": UTCTime.when(update.displayAt),
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
            "start": UTCTime.when(window.scheduledStart), "end": UTCTime.when(window.scheduledEnd),
            "startISO": BelayJSON.formatDate(window.scheduledStart), "endISO": BelayJSON.formatDate(window.scheduledEnd),
            "affected": window.components.compactMap { names[$0] }.joined(separator: ", "), "hasAffected": !window.components.isEmpty,
            "updates": window.updates.reversed().map { update -> [String: Any] in
                ["statusLabel": update.status.label, "body": update.body, "when": UTCTime.when(update.createdAt), "iso": BelayJSON.formatDate(update.createdAt)]
            },
        ]
    }

    func historyPage() -> (template: String, context: [String: Any]) {
        var context = base
        context["title"] = "History · \(configuration.pageName)"
        var months: [(String, [[String: Any]])] = []
        for incident in data.incidents.sorted(by: { $0.impactStart > $1.impactStart }) {
            let label = UTCTime.month(incident.impactStart)
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
                "<p><small>\(Markup.escape(UTCTime.when(update.displayAt)))</small><br><strong>\(Markup.escape(update.status.label))</strong> - \(Markup.escape(update.body))</p>"
            }.joined()
            let updated = max(incident.updatedAt, incident.updates.last?.createdAt ?? incident.updatedAt)
            return [
                "id": "\(configuration.baseURL)/incidents/\(incident.id)", "title": incident.title,
                "link": "\(configuration.baseURL)/incidents/\(incident.id)", "published": BelayJSON.formatDate(incident.createdAt),
                "updated": BelayJSON.formatDate(updated), "pubDate": UTCTime.rfc822(incident.createdAt), "content": updates,
            ]
        }
        let latest = data.incidents.map(\.updatedAt).max() ?? data.now.addingTimeInterval(-0)
        return [
            "pageName": configuration.pageName, "baseURL": configuration.baseURL, "updated": BelayJSON.formatDate(latest),
            "lastBuildDate": UTCTime.rfc822(latest), "entries": entries,
        ]
    }
}
