import BelayCore
import Foundation

/// Belay's signed webhook body, version 1 (docs/notifications.md): `{type, version, timestamp, data}`.
/// Fields are only added within a version; a change that removes or renames one is version 2.
public enum WebhookPayload {
    public static let version = 1

    public static func body(_ message: NotificationMessage, links: Links, audience: Links.Audience, manageURL: String? = nil) throws -> Data {
        let url = links.primary(for: message, audience: audience)
        let components = message.components.map { component -> [String: String] in
            var entry = ["slug": component.slug, "name": component.name]
            if let status = component.status { entry["status"] = status }
            return entry
        }
        var data: [String: Any] = [:]
        if message.topic.isIncident || message.topic == .changeRecorded && message.changeID == nil {
            data["incident"] = compact([
                "id": message.incidentID.map(String.init), "title": message.title, "severity": message.severity?.rawValue,
                "status": message.status, "public": message.isPublic, "components": components, "latestUpdate": message.body, "url": url,
            ])
        } else if message.topic.isMaintenance {
            data["maintenance"] = compact([
                "id": message.maintenanceID.map(String.init), "title": message.title, "status": message.status,
                "startsAt": message.startsAt.map(RFC3339.format), "endsAt": message.endsAt.map(RFC3339.format), "components": components,
                "description": message.body, "url": url,
            ])
        } else if message.topic == .monitorDown || message.topic == .monitorUp {
            data["monitor"] = compact([
                "id": message.monitorID.map(String.init), "name": message.title, "status": message.status, "severity": message.severity?.rawValue,
                "components": components, "url": url,
            ])
        } else if message.topic == .changeRecorded {
            data["change"] = compact([
                "id": message.changeID.map(String.init), "summary": message.title, "components": components, "url": url,
                "incident": compact(["id": message.incidentID.map(String.init), "status": message.status, "severity": message.severity?.rawValue,
                                     "url": message.incidentID.map { links.warRoom(incident: $0) }]),
            ])
        } else {
            data["test"] = ["title": message.title, "message": message.body ?? "", "url": url]
        }
        var object: [String: Any] = [
            "type": message.topic.rawValue, "version": version, "timestamp": RFC3339.format(message.occurredAt), "data": data,
        ]
        if let manageURL { object["manageURL"] = manageURL }
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    static func compact(_ fields: [String: Any?]) -> [String: Any] { fields.compactMapValues { $0 } }
}
