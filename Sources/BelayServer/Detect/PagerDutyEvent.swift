import BelayCore
import Foundation

/// An event in PagerDuty's Events API v2 format, as sent to `/v2/enqueue`.
/// https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
struct PagerDutyEvent: Decodable {
    struct Payload: Decodable {
        var summary: String?
        var source: String?
        var severity: String?
        var timestamp: String?
        var component: String?
        var group: String?
        var `class`: String?
        var custom_details: JSONValue?
    }

    struct Link: Decodable {
        var href: String?
        var text: String?
    }

    var routing_key: String?
    var event_action: String?
    var dedup_key: String?
    var payload: Payload?
    var links: [Link]?
    var images: [JSONValue]?
    var client: String?
    var client_url: String?

    static let severities: Set<String> = ["critical", "error", "warning", "info"]

    /// Checks the event the way PagerDuty does and returns every problem, or the normalized event.
    func validated(generateKey: () -> String) -> (routingKey: String, event: SignalEvent)? {
        problems.isEmpty ? normalized(generateKey: generateKey) : nil
    }

    var problems: [String] {
        var errors: [String] = []
        if (routing_key ?? "").isEmpty { errors.append("'routing_key' is missing or blank") }
        guard let action = event_action.flatMap(SignalAction.init(rawValue:)) else {
            errors.append("'event_action' must be one of trigger, acknowledge, resolve")
            return errors
        }
        if let key = dedup_key, key.count > SignalEvent.maxDedupKey { errors.append("'dedup_key' is longer than 255 characters") }
        if action != .trigger && (dedup_key ?? "").isEmpty { errors.append("'dedup_key' is required for \(action.rawValue) events") }
        if action == .trigger {
            guard let payload else {
                errors.append("'payload' is missing")
                return errors
            }
            if (payload.summary ?? "").trimmingCharacters(in: .whitespaces).isEmpty { errors.append("'payload.summary' is missing or blank") }
            if (payload.summary ?? "").count > SignalEvent.maxSummary { errors.append("'payload.summary' is longer than 1024 characters") }
            if (payload.source ?? "").isEmpty { errors.append("'payload.source' is missing or blank") }
            if !Self.severities.contains(payload.severity ?? "") { errors.append("'payload.severity' must be one of critical, error, warning, info") }
            if let timestamp = payload.timestamp, BelayJSON.parseDate(timestamp) == nil {
                errors.append("'payload.timestamp' is not an ISO 8601 date-time")
            }
        }
        return errors
    }

    private func normalized(generateKey: () -> String) -> (String, SignalEvent) {
        let action = SignalAction(rawValue: event_action!)!
        let key = (dedup_key?.isEmpty ?? true) ? generateKey() : dedup_key!
        var labels: [String: String] = [:]
        if let p = payload {
            labels["source"] = p.source
            labels["severity"] = p.severity
            labels["component"] = p.component
            labels["group"] = p.group
            labels["class"] = p.class
        }
        let links = (links ?? []).compactMap { link in link.href.map { SignalLink(href: String($0.prefix(2048)), text: link.text.map { String($0.prefix(200)) }) } }
            + (client_url.map { [SignalLink(href: String($0.prefix(2048)), text: client ?? "client")] } ?? [])
        let details = payload?.custom_details.flatMap { try? String(decoding: JSONEncoder.sorted.encode($0), as: UTF8.self) }
        let event = SignalEvent(
            dedupKey: key, action: action, summary: payload?.summary ?? "", severity: payload?.severity, source: payload?.source,
            component: payload?.component, labels: labels, startsAt: payload?.timestamp.flatMap(BelayJSON.parseDate), links: Array(links.prefix(20)),
            details: details.map { String($0.prefix(65_536)) })
        return (routing_key!, event)
    }
}

/// Any JSON value, kept as it came (PagerDuty's custom_details and images are free-form).
enum JSONValue: Codable, Equatable {
    case string(String), number(Double), bool(Bool), null
    case array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .null: try container.encodeNil()
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
