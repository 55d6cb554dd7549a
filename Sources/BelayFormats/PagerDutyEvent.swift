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
        /// Read by `PagerDutyEvent.decode` with JSONSerialization, not by the decoder (see there).
        public var custom_details: JSONValue? = nil

        enum CodingKeys: String, CodingKey { case summary, source, severity, timestamp, component, group, `class` }
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
    public var client: String?
    public var client_url: String?

    enum CodingKeys: String, CodingKey { case routing_key, event_action, dedup_key, payload, links, client, client_url }

    /// Reads an event. `custom_details` is free-form JSON, and Foundation's decoder spends time on each free-form
    /// value in proportion to its depth (every failed guess at a value's type builds an error holding the whole
    /// path), so a body within the size and depth limits could cost seconds. That part is read with
    /// JSONSerialization instead, whose cost is linear. (`images` are not kept, so they are not read.)
    public static func decode(_ data: Data) throws(MalformedInput) -> PagerDutyEvent {
        var event = try JSONBody.decode(PagerDutyEvent.self, from: data)
        if event.payload != nil, let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let payload = object["payload"] as? [String: Any], let custom = payload["custom_details"], !(custom is NSNull)
        {
            event.payload?.custom_details = JSONValue(serialized: custom)
        }
        return event
    }
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
            // JSONSerialization, not JSONEncoder, whose cost per value grows with its depth.
            details = (try? JSONSerialization.data(withJSONObject: custom.serialized, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]))
                .map { String(decoding: $0, as: UTF8.self) }
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

    /// A value as JSONSerialization returns it; nil for anything JSON has no word for.
    public init?(serialized value: Any) {
        // Swift's own containers are tried first: asking whether a dictionary is an NSNumber makes the
        // runtime try to bridge it, which costs as much as the dictionary is big, at every level.
        if let object = value as? [String: Any] {
            var members: [String: JSONValue] = [:]
            members.reserveCapacity(object.count)
            for (key, element) in object {
                guard let converted = JSONValue(serialized: element) else { return nil }
                members[key] = converted
            }
            self = .object(members)
        } else if let array = value as? [Any] {
            var values: [JSONValue] = []
            values.reserveCapacity(array.count)
            for element in array {
                guard let converted = JSONValue(serialized: element) else { return nil }
                values.append(converted)
            }
            self = .array(values)
        } else if let text = value as? String {
            self = .string(text)
        } else if value is NSNull {
            self = .null
        } else if let number = value as? NSNumber {
            // JSONSerialization answers true and false as NSNumber too; their type code is "c" (char).
            self = String(cString: number.objCType) == "c" ? .bool(number.boolValue) : .number(number.doubleValue)
        } else {
            return nil
        }
    }

    /// The value as JSONSerialization takes it.
    public var serialized: Any {
        switch self {
        case .string(let text): return text
        case .number(let number): return number
        case .bool(let flag): return flag
        case .null: return NSNull()
        case .array(let values): return values.map(\.serialized)
        case .object(let members): return members.mapValues(\.serialized)
        }
    }

    /// The first key or string that breaks the text rules (control characters, direction overrides),
    /// as a message naming where it is. The path is put into words only for the answer, so a clean value
    /// costs one visit per node whatever its depth.
    func problem(field: String) -> String? {
        var path: [String] = []
        func visit(_ value: JSONValue) -> String? {
            switch value {
            case .string(let text):
                return Validate.isAllowedText(text) ? nil : "contains a control character"
            case .array(let values):
                for (index, element) in values.enumerated() {
                    path.append("[\(index)]")
                    if let problem = visit(element) { return problem }
                    path.removeLast()
                }
                return nil
            case .object(let members):
                for (key, element) in members {
                    guard Validate.isAllowedText(key) else { return "has a key with a control character" }
                    path.append("." + key.prefix(40))
                    if let problem = visit(element) { return problem }
                    path.removeLast()
                }
                return nil
            case .number, .bool, .null:
                return nil
            }
        }
        guard let problem = visit(self) else { return nil }
        return "'\(field)\(path.joined())' \(problem)"
    }
}
