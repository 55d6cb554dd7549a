import BelayCore
import Foundation

/// The limits and character rules every ingestion format shares, applied to the normalized event, so
/// Alertmanager, PagerDuty and the generic format accept exactly the same things.
public enum IngestRules {
    public static let maxSource = 255
    public static let maxComponent = 255
    public static let maxDetails = 65_536
    public static let maxLinks = 20
    public static let maxLinkText = 200
    /// Alerts in one delivery; more is refused whole (Alertmanager's `max_alerts` keeps groups under it).
    public static let defaultMaxAlerts = 1000

    /// Throws `MalformedInput` naming the first field that breaks a rule. Field names are prefixed
    /// (`alerts[3].`) so the sender can find the alert.
    public static func check(_ event: SignalEvent, field prefix: String = "") throws(MalformedInput) {
        do {
            try event.validate(field: prefix)
            if let source = event.source { try Validate.text(source, field: prefix + "source", max: maxSource) }
            if let component = event.component { try Validate.text(component, field: prefix + "component", max: maxComponent) }
            if let severity = event.severity { try Validate.text(severity, field: prefix + "severity", max: 64) }
            if let details = event.details { try Validate.text(details, field: prefix + "details", max: maxDetails, allowEmpty: true) }
            guard event.links.count <= maxLinks else { throw DomainError.invalid(field: prefix + "links", message: "at most \(maxLinks)") }
            for (index, link) in event.links.enumerated() {
                guard ExternalLink.validated(link.href) != nil else {
                    throw DomainError.invalid(field: prefix + "links[\(index)].href", message: "expected an http or https URL")
                }
                if let text = link.text { try Validate.text(text, field: prefix + "links[\(index)].text", max: maxLinkText, allowEmpty: true) }
            }
        } catch let error as DomainError {
            throw MalformedInput(error.message)
        } catch {
            throw MalformedInput("\(prefix)event: could not be checked")
        }
    }

    /// Links a sender generated (Alertmanager's generatorURL, PagerDuty's links and client_url) that are not
    /// http(s) are left out rather than refusing the alert: a misconfigured Prometheus must still page.
    public static func safeLinks(_ links: [SignalLink]) -> [SignalLink] {
        Array(links.filter { ExternalLink.validated($0.href) != nil }.prefix(maxLinks))
    }
}

/// A delivery with more alerts than the limit: refused whole with 413.
public struct TooManyAlerts: Error, Equatable, CustomStringConvertible {
    public var count: Int
    public var limit: Int
    public var description: String {
        "the delivery holds \(count) alerts; the limit is \(limit) per delivery (set max_alerts in Alertmanager's webhook_config, or send fewer per request)"
    }
}
