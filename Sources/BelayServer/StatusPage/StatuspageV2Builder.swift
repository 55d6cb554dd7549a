import BelayCore
import Crypto
import Foundation

/// Maps Belay's model to Statuspage's v2 documents.
struct StatuspageV2Builder {
    let pageID: String
    let configuration: ServerConfiguration
    let data: PublicData
    let statuses: [String: ComponentStatus]
    let overall: OverallIndicator
    /// Every component, groups included, in page order; incidents and maintenance reuse these objects.
    let listed: [StatuspageV2.Component]
    let bySlug: [String: StatuspageV2.Component]

    init(pageID: String, configuration: ServerConfiguration, data: PublicData, statuses: [String: ComponentStatus], overall: OverallIndicator) {
        self.pageID = pageID
        self.configuration = configuration
        self.data = data
        self.statuses = statuses
        self.overall = overall
        listed = Self.list(pageID: pageID, data: data, statuses: statuses)
        bySlug = Dictionary(listed.filter { !$0.group }.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    static let recentLimit = 50

    var page: StatuspageV2.Page {
        let stamps = data.components.map(\.updatedAt) + data.incidents.map(\.updatedAt) + data.maintenances.map(\.updatedAt)
        let latest = stamps.max() ?? data.now
        return StatuspageV2.Page(id: pageID, name: configuration.statusPage.pageName, url: configuration.baseURL, time_zone: "Etc/UTC", updated_at: latest)
    }

    /// Groups have no id of their own; derive one from the exact name. The underscore keeps it apart from
    /// every component slug, which may not contain one.
    static func groupID(_ name: String) -> String {
        "grp_" + SHA256.hash(data: Data(name.utf8)).prefix(6).hexString
    }

    static func component(_ component: Component, pageID: String, statuses: [String: ComponentStatus]) -> StatuspageV2.Component {
        StatuspageV2.Component(
            id: component.slug, name: component.name, status: (statuses[component.slug] ?? .operational).rawValue,
            created_at: component.createdAt, updated_at: component.updatedAt, position: component.position,
            description: component.description.isEmpty ? nil : component.description, showcase: true,
            start_date: Self.day(component.createdAt), group_id: component.group.map(Self.groupID), page_id: pageID, group: false,
            only_show_if_degraded: false, components: nil)
    }

    /// Components in page order, each group as a component of its own followed by its members.
    static func list(pageID: String, data: PublicData, statuses: [String: ComponentStatus]) -> [StatuspageV2.Component] {
        var result: [StatuspageV2.Component] = []
        var position = 0
        for group in ComponentGroup.grouped(data.components) {
            if let name = group.name {
                position += 1
                let worst = group.members.map { statuses[$0.slug] ?? .operational }.max { $0.badness < $1.badness } ?? .operational
                result.append(
                    StatuspageV2.Component(
                        id: Self.groupID(name), name: name, status: worst.rawValue,
                        created_at: group.members.map(\.createdAt).min() ?? data.now, updated_at: group.members.map(\.updatedAt).max() ?? data.now,
                        position: position, description: nil, showcase: false, start_date: nil, group_id: nil, page_id: pageID, group: true,
                        only_show_if_degraded: false, components: group.members.map(\.slug)))
            }
            for member in group.members {
                position += 1
                var item = component(member, pageID: pageID, statuses: statuses)
                item.position = position
                result.append(item)
            }
        }
        return result
    }

    static func day(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone.utc
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }

    func incident(_ incident: Incident) -> StatuspageV2.Incident {
        let id = String(incident.id)
        let updates = incident.updates.reversed().map { update in
            let affected = update.affectedComponents.compactMap { change -> StatuspageV2.AffectedComponent? in
                guard let component = bySlug[change.slug] else { return nil }
                return StatuspageV2.AffectedComponent(
                    code: change.slug, name: component.name, old_status: change.oldStatus.rawValue, new_status: change.newStatus.rawValue)
            }
            return StatuspageV2.IncidentUpdate(
                id: "\(id)-\(update.id)", status: update.status.rawValue, body: update.body, incident_id: id, created_at: update.createdAt,
                updated_at: update.createdAt, display_at: update.displayAt, affected_components: affected.isEmpty ? nil : affected,
                deliver_notifications: true, custom_tweet: nil, tweet_id: nil)
        }
        let monitoringAt = incident.updates.last { $0.status == .monitoring }?.displayAt ?? (incident.status == .monitoring ? incident.milestones.mitigatedAt : nil)
        return StatuspageV2.Incident(
            id: id, name: incident.title, status: incident.status.rawValue, created_at: incident.createdAt, updated_at: incident.updatedAt,
            monitoring_at: monitoringAt, resolved_at: incident.isOpen ? nil : incident.milestones.resolvedAt,
            impact: ServiceStatus.impactIndicator(of: incident).rawValue, shortlink: "\(configuration.baseURL)/incidents/\(id)",
            started_at: incident.impactStart, page_id: pageID, incident_updates: updates,
            components: incident.impacts.compactMap { bySlug[$0.slug] }, scheduled_for: nil, scheduled_until: nil,
            isMaintenance: false)
    }

    /// Statuspage has no "cancelled": a cancelled window is reported as completed, its last update saying so.
    static func v2Status(_ status: MaintenanceStatus) -> String {
        switch status {
        case .scheduled: return "scheduled"
        case .inProgress: return "in_progress"
        case .completed, .cancelled: return "completed"
        }
    }

    func maintenance(_ window: MaintenanceWindow) -> StatuspageV2.Incident {
        let id = "m\(window.id)"
        let status = window.effectiveStatus(at: data.now)
        let updates = window.updates.reversed().map { update in
            StatuspageV2.IncidentUpdate(
                id: "\(id)-\(update.id)", status: Self.v2Status(update.status), body: update.body, incident_id: id, created_at: update.createdAt,
                updated_at: update.createdAt, display_at: update.createdAt, affected_components: nil, deliver_notifications: true,
                custom_tweet: nil, tweet_id: nil)
        }
        let finishedAt = window.updates.last { $0.status.isFinished }?.createdAt
        let resolvedAt: Date? = status.isFinished ? (finishedAt ?? window.scheduledEnd) : nil
        return StatuspageV2.Incident(
            id: id, name: window.title, status: Self.v2Status(status), created_at: window.createdAt, updated_at: window.updatedAt,
            monitoring_at: nil, resolved_at: resolvedAt, impact: "maintenance", shortlink: "\(configuration.baseURL)/history#maintenance-\(window.id)",
            started_at: window.scheduledStart, page_id: pageID, incident_updates: updates,
            components: window.components.compactMap { bySlug[$0] }, scheduled_for: window.scheduledStart,
            scheduled_until: window.scheduledEnd, isMaintenance: true)
    }

    func recentIncidents() -> [StatuspageV2.Incident] {
        data.incidents.prefix(Self.recentLimit).map(incident)
    }

    func maintenances(_ filter: (MaintenanceWindow) -> Bool) -> [StatuspageV2.Incident] {
        data.maintenances.filter(filter).prefix(Self.recentLimit).map(maintenance)
    }

    func summary() -> StatuspageV2.SummaryDocument {
        let now = data.now
        let current = data.maintenances.filter { $0.isActive(at: now) || $0.isUpcoming(at: now) }
            .sorted { $0.scheduledStart < $1.scheduledStart }
        return StatuspageV2.SummaryDocument(
            page: page, components: listed, incidents: data.incidents.filter(\.isOpen).map(incident),
            scheduled_maintenances: current.map(maintenance), status: StatuspageV2.Status(indicator: overall.rawValue, description: overall.description))
    }
}
