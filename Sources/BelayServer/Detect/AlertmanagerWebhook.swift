import BelayCore
import Crypto
import Foundation

/// The body Prometheus Alertmanager posts to a webhook receiver (version "4").
/// https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
struct AlertmanagerWebhook: Decodable {
    struct Alert: Decodable {
        var status: String
        var labels: [String: String]
        var annotations: [String: String]?
        var startsAt: String?
        var endsAt: String?
        var generatorURL: String?
        var fingerprint: String?
    }

    var version: String?
    var groupKey: String?
    var status: String?
    var receiver: String?
    var groupLabels: [String: String]?
    var commonLabels: [String: String]?
    var commonAnnotations: [String: String]?
    var externalURL: String?
    var alerts: [Alert]

    /// One event per alert. Alertmanager's "zero" time (year 1) means "not set".
    func events() throws -> [SignalEvent] {
        if let version, version != "4" {
            throw APIError.badRequest("version: Belay reads Alertmanager webhook version 4, got '\(version.prefix(20))'")
        }
        return try alerts.enumerated().map { index, alert in
            let field = "alerts[\(index)]"
            let action: SignalAction
            switch alert.status {
            case "firing": action = .trigger
            case "resolved": action = .resolve
            default: throw APIError.badRequest("\(field).status: expected firing or resolved, got '\(alert.status.prefix(40))'")
            }
            let startsAt = try Self.date(alert.startsAt, field: "\(field).startsAt")
            let endsAt = try Self.date(alert.endsAt, field: "\(field).endsAt")
            let annotations = alert.annotations ?? [:]
            let name = alert.labels["alertname"]
            let text = annotations["summary"] ?? annotations["description"] ?? annotations["message"]
            let summary = [name, text].compactMap { $0 }.joined(separator: ": ")
            var links: [SignalLink] = []
            if let url = alert.generatorURL, !url.isEmpty, url.count <= 2048 { links.append(SignalLink(href: url, text: "source")) }
            let details = annotations.isEmpty ? nil : (try? String(decoding: JSONEncoder.sorted.encode(annotations), as: UTF8.self))
            let event = SignalEvent(
                dedupKey: alert.fingerprint.flatMap { $0.isEmpty ? nil : $0 } ?? Self.fingerprint(alert.labels), action: action,
                summary: summary.isEmpty ? "Alert from Alertmanager" : String(summary.prefix(SignalEvent.maxSummary)),
                severity: alert.labels["severity"], source: alert.labels["instance"] ?? alert.labels["job"], component: alert.labels["component"],
                labels: alert.labels, startsAt: startsAt, endsAt: action == .resolve ? endsAt : nil, links: links, details: details)
            do { try event.validate(field: field + ".") } catch let error as DomainError { throw APIError.badRequest(error.message) }
            return event
        }
    }

    static func date(_ text: String?, field: String) throws -> Date? {
        guard let text, !text.isEmpty else { return nil }
        guard let date = BelayJSON.parseDate(text) else {
            throw APIError.badRequest("\(field): expected an RFC 3339 date-time, got '\(text.prefix(64))'")
        }
        return date.timeIntervalSince1970 <= 0 ? nil : date
    }

    /// Alertmanager always sends a fingerprint; without one, the sorted label set identifies the alert.
    static func fingerprint(_ labels: [String: String]) -> String {
        let text = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\u{1F}")
        return SHA256.hash(data: Data(text.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
