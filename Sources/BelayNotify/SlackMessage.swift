import BelayCore
import Foundation

/// A Slack-compatible incoming webhook body (Slack, Mattermost, Rocket.Chat): `text` for notifications
/// and clients without blocks, and Block Kit `blocks`.
enum SlackMessage {
    static func body(_ text: ChatText) throws -> Data {
        var lines = ["*<\(escape(text.link))|\(escape(text.title.clipped(200)))>*"]
        lines += text.facts.map { "*\($0.0):* \(escape($0.1))" }
        var blocks: [[String: Any]] = [
            ["type": "header", "text": ["type": "plain_text", "text": text.heading.clipped(150)]],
            ["type": "section", "text": ["type": "mrkdwn", "text": lines.joined(separator: "\n").clipped(3000)]],
        ]
        if let body = text.message.body, !body.isEmpty {
            blocks.append(["type": "section", "text": ["type": "mrkdwn", "text": escape(body).clipped(3000)]])
        }
        blocks.append([
            "type": "actions",
            "elements": [["type": "button", "text": ["type": "plain_text", "text": text.linkLabel], "url": text.link]],
        ])
        // Mattermost and Rocket.Chat show `text` and ignore blocks, and Slack uses it in notifications: it
        // carries the whole message too.
        var summary = ["\(text.heading): " + lines.joined(separator: "\n")]
        if let body = text.message.body, !body.isEmpty { summary.append(escape(body)) }
        summary.append("<\(escape(text.link))|\(text.linkLabel)>")
        return try JSONSerialization.data(
            withJSONObject: ["text": summary.joined(separator: "\n").clipped(3000), "blocks": blocks], options: [.sortedKeys])
    }

    /// Slack reads `<`, `>` and `&` as markup ("<!channel>" would ping a whole room), so they are escaped;
    /// Mattermost and Rocket.Chat ping a room for a plain "@channel", "@here", "@all" or "@everyone", so a
    /// word joiner goes after the @.
    static func escape(_ text: String) -> String {
        var escaped = text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
        for word in ["channel", "here", "all", "everyone"] {
            escaped = escaped.replacingOccurrences(of: "@" + word, with: "@\u{2060}" + word, options: .caseInsensitive)
        }
        return escaped
    }
}
