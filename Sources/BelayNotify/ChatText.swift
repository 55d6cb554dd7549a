import BelayCore
import Foundation

/// The words every chat message shares, whatever its format.
struct ChatText {
    let message: NotificationMessage
    let link: String

    var title: String { message.title }
    var severity: String? { message.severity?.rawValue }
    var status: String? { message.status.map(Self.words) }
    var components: String { message.components.map { c in c.status.map { "\(c.name) (\(Self.words($0)))" } ?? c.name }.joined(separator: ", ") }
    var heading: String { message.topic.label }
    var linkLabel: String { message.incidentID != nil ? "Open the war room" : "Open in Belay" }

    /// "major_outage" reads "major outage".
    static func words(_ raw: String) -> String { raw.replacingOccurrences(of: "_", with: " ") }

    /// The facts as label and value, in the order people scan them.
    var facts: [(String, String)] {
        var facts: [(String, String)] = []
        if let severity { facts.append(("Severity", severity)) }
        if let status { facts.append(("Status", status)) }
        if !components.isEmpty { facts.append(("Components", components)) }
        if let start = message.startsAt, let end = message.endsAt {
            facts.append(("Window", "\(RFC3339.format(start)) to \(RFC3339.format(end))"))
        }
        return facts
    }
}

extension String {
    /// At most `limit` characters, cut with an ellipsis: vendors reject longer fields outright.
    func clipped(_ limit: Int) -> String {
        count <= limit ? self : String(prefix(max(0, limit - 1))) + "…"
    }
}
