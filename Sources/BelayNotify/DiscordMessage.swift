import BelayCore
import Foundation

/// A Discord webhook body: a short `content` line and one embed, within Discord's documented limits, and
/// no mentions (a title holding "@everyone" must not ping a server).
enum DiscordMessage {
    static func body(_ text: ChatText) throws -> Data {
        var embed: [String: Any] = [
            "title": text.title.clipped(256), "url": text.link, "color": color(text.message),
            "timestamp": RFC3339.format(text.message.occurredAt),
            "fields": text.facts.prefix(25).map { ["name": $0.0, "value": $0.1.clipped(1024), "inline": true] },
        ]
        var description = text.message.body ?? ""
        description += (description.isEmpty ? "" : "\n\n") + "[\(text.linkLabel)](\(text.link))"
        embed["description"] = description.clipped(4096)
        let body: [String: Any] = [
            "content": "\(text.heading): \(text.message.headline)".clipped(2000), "embeds": [embed], "allowed_mentions": ["parse": [String]()],
        ]
        return try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// Red while broken, green when resolved or up, blue for maintenance and tests.
    static func color(_ message: NotificationMessage) -> Int {
        switch message.topic {
        case .incidentResolved, .monitorUp, .maintenanceCompleted: 0x2E7D32
        case .maintenanceScheduled, .maintenanceStarted, .test: 0x1565C0
        default: 0xC62828
        }
    }
}
