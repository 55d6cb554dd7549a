import BelayCore
import Foundation

/// A Microsoft Teams Workflows webhook body: one Adaptive Card (version 1.4) as a message attachment.
enum TeamsCard {
    static func body(_ text: ChatText) throws -> Data {
        var body: [[String: Any]] = [
            ["type": "TextBlock", "text": text.heading, "size": "Small", "weight": "Lighter", "wrap": true],
            ["type": "TextBlock", "text": text.title.clipped(300), "size": "Large", "weight": "Bolder", "wrap": true],
        ]
        if !text.facts.isEmpty {
            body.append(["type": "FactSet", "facts": text.facts.map { ["title": $0.0, "value": $0.1.clipped(1000)] }])
        }
        if let update = text.message.body, !update.isEmpty {
            body.append(["type": "TextBlock", "text": update.clipped(4000), "wrap": true])
        }
        let card: [String: Any] = [
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4", "body": body,
            "actions": [["type": "Action.OpenUrl", "title": text.linkLabel, "url": text.link]],
        ]
        let message: [String: Any] = [
            "type": "message",
            "attachments": [["contentType": "application/vnd.microsoft.card.adaptive", "content": card]],
        ]
        return try JSONSerialization.data(withJSONObject: message, options: [.sortedKeys, .withoutEscapingSlashes])
    }
}
