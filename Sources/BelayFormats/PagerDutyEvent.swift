import BelayCore
import Foundation

/// An event in PagerDuty's Events API v2 format, as sent to `/v2/enqueue`.
/// https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
public struct PagerDutyEvent: Decodable, Sendable {
    public struct Payload: Decodable, Sendable {
        public var summary: String?
        public var source: String?
        public var severity: String?
        public var timestamp: String?
        public var component: String?
        public var group: String?
        public var `class`: String?
        public var custom_details: JSONValue?
    }

    public struct Link: Decodable, Sendable {
        public var href: String?
        public var text: String?
    }

    /// Only the routing key, read first so a delivery with an unknown key costs no more than its size.
    public struct RoutingKey: Decodable, Sendable {
        public var routing_key: String?
    }

    public var routing_key: String?
    public var event_action: String?
    public var dedup_key: String?
    public var payload: Payload?
    public var links: [Link]?
    public var images: [JSONValue]?
    public var client: String?
    public var client_url: String?

    static let severities: Set<String> = ["critical", "error", "warning", "info"]

    /// Checks the event the way PagerDuty does, then by the rules every format shares. Returns the
    /// routing key and the normalized event, or every problem found (PagerDuty's clients show the list).
    public func validated(generateKey: () -> String) -> Result<(routingKey: String, event: SignalEvent), Problems> {
        var errors = pagerDutyProblems
        guard errors.isEmpty, let routingKey = routing_key, let action = event_action.flatMap(SignalAction.init(rawValue:)) else {
            return .failure(Problems(messages: errors))
        }
        let key = dedup_key.flatMap { $0.isEmpty ? nil : $0 } ?? generateKey()
        var labels: [String: String] = [:]
        if let p = payload {
            labels["source"] = p.source
            labels["severity"] = p.severity
            labels["component"] = p.component
            labels["group"] = p.group
            labels["class"] = p.class
        }
        let given = (links ?? []).compactMap { link in link.href.map { SignalLink(href: $0, text: link.text) } }
            + (client_url.map { [SignalLink(href: $0, text: client ?? "client")] } ?? [])
        var details: String?
        if let custom = payload?.custom_details {
            if let problem = custom.problem(field: "payload.custom_details") { errors.append(problem) }
            details = try? String(decoding: JSONEncoder.sorted.encode(custom), as: UTF8.self)
        }
        let event = SignalEvent(
            dedupKey: key, action: action, summary: payload?.summary ?? "", severity: payload?.severity, source: payload?.source,
            component: payload?.component, labels: labels, startsAt: payload?.timestamp.flatMap(RFC3339.parse),
            links: IngestRules.safeLinks(given), details: details)
        do {
            try IngestRules.check(event, field: action == .trigger ? "payload." : "")
        } catch {
            errors.append(error.message)
        }
        return errors.isEmpty ? .success((routingKey, event)) : .failure(Problems(messages: errors))
    }

    /// What PagerDuty itself would refuse.
    var pagerDutyProblems: [String] {
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
            if let timestamp = payload.timestamp, RFC3339.parse(timestamp) == nil {
                errors.append("'payload.timestamp' is not an ISO 8601 date-time")
            }
        }
        return errors
    }

    public struct Problems: Error, Equatable {
        public var messages: [String]
    }
}

/// Any JSON value, kept as it came (PagerDuty's custom_details and images are free-form).
public enum JSONValue: Codable, Equatable, Sendable {
    case string(String), number(Double), bool(Bool), null
    case array([JSONValue]), object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
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

    /// The first key or string that breaks the text rules (control characters, direction overrides),
    /// as a message naming where it is.
    func problem(field: String) -> String? {
        switch self {
        case .string(let text):
            return Validate.isAllowedText(text) ? nil : "'\(field)' contains a control character"
        case .array(let values):
            for (index, value) in values.enumerated() {
                if let problem = value.problem(field: "\(field)[\(index)]") { return problem }
            }
            return nil
        case .object(let members):
            for (key, value) in members {
                guard Validate.isAllowedText(key) else { return "'\(field)' has a key with a control character" }
                if let problem = value.problem(field: "\(field).\(key.prefix(40))") { return problem }
            }
            return nil
        case .number, .bool, .null:
            return nil
        }
    }
}
