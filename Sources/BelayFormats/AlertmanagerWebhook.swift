import BelayCore
import Foundation

/// The body Prometheus Alertmanager posts to a webhook receiver (version "4").
/// https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
public struct AlertmanagerWebhook: Decodable, Sendable {
    public struct Alert: Decodable, Sendable {
        public var status: String
        public var labels: [String: String]
        public var annotations: [String: String]?
        public var startsAt: String?
        public var endsAt: String?
        public var generatorURL: String?
        public var fingerprint: String?
    }

    public var version: String?
    public var groupKey: String?
    public var status: String?
    public var receiver: String?
    public var groupLabels: [String: String]?
    public var commonLabels: [String: String]?
    public var commonAnnotations: [String: String]?
    public var externalURL: String?
    public var alerts: [Alert]

    /// One event per alert, each checked by `IngestRules`; one bad alert refuses the whole delivery.
    /// Alertmanager's "zero" time (year 1) means "not set". `fingerprint` names an alert that came without
    /// Alertmanager's own fingerprint, from its labels.
    public func events(maxAlerts: Int = IngestRules.defaultMaxAlerts, fingerprint: ([String: String]) -> String) throws -> [SignalEvent] {
        guard alerts.count <= maxAlerts else { throw TooManyAlerts(count: alerts.count, limit: maxAlerts) }
        if let version, version != "4" {
            throw MalformedInput("version: Belay reads Alertmanager webhook version 4, got '\(version.prefix(20))'")
        }
        var events: [SignalEvent] = []
        events.reserveCapacity(alerts.count)
        for (index, alert) in alerts.enumerated() {
            let field = "alerts[\(index)]"
            let action: SignalAction
            switch alert.status {
            case "firing": action = .trigger
            case "resolved": action = .resolve
            default: throw MalformedInput("\(field).status: expected firing or resolved, got '\(alert.status.prefix(40))'")
            }
            let startsAt = try Self.date(alert.startsAt, field: "\(field).startsAt")
            let endsAt = try Self.date(alert.endsAt, field: "\(field).endsAt")
            let annotations = alert.annotations ?? [:]
            for (key, value) in annotations {
                do {
                    try Validate.text(key, field: "\(field).annotations", max: 256)
                    try Validate.text(value, field: "\(field).annotations.\(key.prefix(40))", max: IngestRules.maxDetails, allowEmpty: true)
                } catch let error as DomainError { throw MalformedInput(error.message) }
            }
            let name = alert.labels["alertname"]
            let text = annotations["summary"] ?? annotations["description"] ?? annotations["message"]
            let summary = [name, text].compactMap { $0 }.joined(separator: ": ")
            let links = IngestRules.safeLinks(alert.generatorURL.map { [SignalLink(href: $0, text: "source")] } ?? [])
            let details = annotations.isEmpty ? nil : (try? String(decoding: JSONEncoder.sorted.encode(annotations), as: UTF8.self))
            let event = SignalEvent(
                dedupKey: alert.fingerprint.flatMap { $0.isEmpty ? nil : $0 } ?? fingerprint(alert.labels), action: action,
                summary: summary.isEmpty ? "Alert from Alertmanager" : String(summary.prefix(SignalEvent.maxSummary)),
                severity: alert.labels["severity"], source: alert.labels["instance"] ?? alert.labels["job"], component: alert.labels["component"],
                labels: alert.labels, startsAt: startsAt, endsAt: action == .resolve ? endsAt : nil, links: links, details: details)
            try IngestRules.check(event, field: field + ".")
            events.append(event)
        }
        return events
    }

    static func date(_ text: String?, field: String) throws(MalformedInput) -> Date? {
        guard let text, !text.isEmpty else { return nil }
        guard let date = RFC3339.parse(text) else {
            throw MalformedInput("\(field): expected an RFC 3339 date-time, got '\(text.prefix(64))'")
        }
        return date.timeIntervalSince1970 <= 0 ? nil : date
    }
}

extension JSONEncoder {
    /// Stable output for stored JSON text: sorted keys, slashes as they are.
    public static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
