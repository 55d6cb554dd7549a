import BelayCore
import Foundation

/// Atlassian Statuspage's public v2 JSON, field for field, so existing Statuspage readers read Belay unchanged.
/// Keys are written in snake_case exactly as Statuspage does; absent optionals encode as null where
/// Statuspage sends null.
enum StatuspageV2 {
    struct Page: Encodable {
        var id: String
        var name: String
        var url: String
        var time_zone: String
        var updated_at: Date
    }

    struct Status: Encodable {
        var indicator: String
        var description: String
    }

    struct Component: Encodable {
        var id: String
        var name: String
        var status: String
        var created_at: Date
        var updated_at: Date
        var position: Int
        var description: String?
        var showcase: Bool
        var start_date: String?
        var group_id: String?
        var page_id: String
        var group: Bool
        var only_show_if_degraded: Bool
        /// Only on group components: the ids of the components in the group.
        var components: [String]?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(id, forKey: .id)
            try c.encode(name, forKey: .name)
            try c.encode(status, forKey: .status)
            try c.encode(created_at, forKey: .created_at)
            try c.encode(updated_at, forKey: .updated_at)
            try c.encode(position, forKey: .position)
            try c.encode(description, forKey: .description)
            try c.encode(showcase, forKey: .showcase)
            try c.encode(start_date, forKey: .start_date)
            try c.encode(group_id, forKey: .group_id)
            try c.encode(page_id, forKey: .page_id)
            try c.encode(group, forKey: .group)
            try c.encode(only_show_if_degraded, forKey: .only_show_if_degraded)
            try c.encodeIfPresent(components, forKey: .components)
        }

        enum Key: String, CodingKey {
            case id, name, status, created_at, updated_at, position, description, showcase, start_date, group_id, page_id, group,
                only_show_if_degraded, components
        }
    }

    struct AffectedComponent: Encodable {
        var code: String
        var name: String
        var old_status: String
        var new_status: String
    }

    struct IncidentUpdate: Encodable {
        var id: String
        var status: String
        var body: String
        var incident_id: String
        var created_at: Date
        var updated_at: Date
        var display_at: Date
        var affected_components: [AffectedComponent]?
        var deliver_notifications: Bool
        var custom_tweet: String?
        var tweet_id: String?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(id, forKey: .id)
            try c.encode(status, forKey: .status)
            try c.encode(body, forKey: .body)
            try c.encode(incident_id, forKey: .incident_id)
            try c.encode(created_at, forKey: .created_at)
            try c.encode(updated_at, forKey: .updated_at)
            try c.encode(display_at, forKey: .display_at)
            try c.encode(affected_components, forKey: .affected_components)
            try c.encode(deliver_notifications, forKey: .deliver_notifications)
            try c.encode(custom_tweet, forKey: .custom_tweet)
            try c.encode(tweet_id, forKey: .tweet_id)
        }

        enum Key: String, CodingKey {
            case id, status, body, incident_id, created_at, updated_at, display_at, affected_components, deliver_notifications, custom_tweet,
                tweet_id
        }
    }

    /// An incident or, with `scheduled_for`/`scheduled_until` set, a scheduled maintenance.
    struct Incident: Encodable {
        var id: String
        var name: String
        var status: String
        var created_at: Date
        var updated_at: Date
        var monitoring_at: Date?
        var resolved_at: Date?
        var impact: String
        var shortlink: String
        var started_at: Date
        var page_id: String
        var incident_updates: [IncidentUpdate]
        var components: [Component]
        var scheduled_for: Date?
        var scheduled_until: Date?
        var isMaintenance: Bool

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(id, forKey: .id)
            try c.encode(name, forKey: .name)
            try c.encode(status, forKey: .status)
            try c.encode(created_at, forKey: .created_at)
            try c.encode(updated_at, forKey: .updated_at)
            try c.encode(monitoring_at, forKey: .monitoring_at)
            try c.encode(resolved_at, forKey: .resolved_at)
            try c.encode(impact, forKey: .impact)
            try c.encode(shortlink, forKey: .shortlink)
            try c.encode(started_at, forKey: .started_at)
            try c.encode(page_id, forKey: .page_id)
            try c.encode(incident_updates, forKey: .incident_updates)
            try c.encode(components, forKey: .components)
            if isMaintenance {
                try c.encode(scheduled_for, forKey: .scheduled_for)
                try c.encode(scheduled_until, forKey: .scheduled_until)
            } else {
                try c.encodeNil(forKey: .reminder_intervals)
            }
        }

        enum Key: String, CodingKey {
            case id, name, status, created_at, updated_at, monitoring_at, resolved_at, impact, shortlink, started_at, page_id,
                incident_updates, components, scheduled_for, scheduled_until, reminder_intervals
        }
    }

    struct StatusDocument: Encodable { var page: Page; var status: Status }
    struct ComponentsDocument: Encodable { var page: Page; var components: [Component] }
    struct IncidentsDocument: Encodable { var page: Page; var incidents: [Incident] }
    struct MaintenancesDocument: Encodable { var page: Page; var scheduled_maintenances: [Incident] }
    struct SummaryDocument: Encodable {
        var page: Page
        var components: [Component]
        var incidents: [Incident]
        var scheduled_maintenances: [Incident]
        var status: Status
    }
}
