import BelayCore
import BelayFormats
import Foundation

/// Writes the emails: to a team's email channel, to a status page subscriber (with manage and one-click
/// unsubscribe links, RFC 8058), and the double opt-in confirmation.
struct MailComposer {
    let links: Links
    let settings: NotifySettings

    var pageName: String { settings.smtp?.pageName ?? "Status" }

    /// A subject is one line: any line break or control character in a title becomes a space.
    static func subject(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { CharacterSet.controlCharacters.contains($0) || $0 == "\u{2028}" || $0 == "\u{2029}" ? " " : $0 }))
    }

    /// "<msg_12_s4@status.example.com>": the delivery's key, so a retried email is recognisably the same.
    func messageID(_ key: String) -> String {
        let host = URLComponents(string: links.base)?.host ?? "belay.invalid"
        return "<\(key)@\(host)>"
    }

    func channelMail(_ message: NotificationMessage, to recipients: [String], key: String) -> OutgoingMail {
        let link = links.primary(for: message, audience: .team)
        let text = ChatText(message: message, link: link)
        var lines = [message.topic.label, "", message.title, ""]
        lines += text.facts.map { "\($0.0): \($0.1)" }
        if let body = message.body, !body.isEmpty { lines += ["", body] }
        lines += ["", "\(text.linkLabel): \(link)"]
        let html = Self.html(heading: message.topic.label, title: message.title, facts: text.facts, body: message.body, links: [(text.linkLabel, link)], footer: nil)
        return OutgoingMail(
            recipients: recipients, subject: Self.subject("[\(message.severity?.rawValue ?? "belay")] \(message.topic.label): \(message.title)"),
            text: lines.joined(separator: "\n"), html: html, messageID: messageID(key), headers: [])
    }

    func subscriberMail(_ message: NotificationMessage, to subscriber: Subscriber, key: String) -> OutgoingMail {
        let manage = links.manage(token: subscriber.token)
        let unsubscribe = links.unsubscribe(token: subscriber.token)
        let headers = [
            (name: "List-Unsubscribe", value: "<\(unsubscribe)>"),
            (name: "List-Unsubscribe-Post", value: "List-Unsubscribe=One-Click"),
            (name: "Auto-Submitted", value: "auto-generated"),
        ]
        if message.topic == .subscriptionConfirmation {
            let confirm = links.confirm(token: subscriber.token)
            let text = """
                Someone (we hope you) asked to follow \(pageName) at \(links.statusPage).

                Confirm the subscription: \(confirm)

                The link works for 48 hours. If you did not ask for this, ignore this email and nothing more will be sent.
                """
            let html = Self.html(
                heading: "Confirm your subscription", title: pageName, facts: [],
                body: "Someone (we hope you) asked to follow \(pageName). The link works for 48 hours; if you did not ask for this, ignore this email.",
                links: [("Confirm the subscription", confirm)], footer: nil)
            return OutgoingMail(
                recipients: [subscriber.address], subject: Self.subject("Confirm your subscription to \(pageName)"), text: text, html: html,
                messageID: messageID(key), headers: [])
        }
        let link = links.primary(for: message, audience: .subscriber)
        let text = ChatText(message: message, link: link)
        let facts = text.facts.filter { $0.0 != "Severity" }
        var lines = [message.topic.label, "", message.title, ""]
        lines += facts.map { "\($0.0): \($0.1)" }
        if let body = message.body, !body.isEmpty { lines += ["", body] }
        lines += ["", "Details: \(link)", "", "--", "Manage your subscription: \(manage)", "Unsubscribe: \(unsubscribe)"]
        let html = Self.html(
            heading: message.topic.label, title: message.title, facts: facts, body: message.body, links: [("Details", link)],
            footer: [("Manage your subscription", manage), ("Unsubscribe", unsubscribe)])
        return OutgoingMail(
            recipients: [subscriber.address], subject: Self.subject("[\(pageName)] \(message.topic.label): \(message.title)"), text: lines.joined(separator: "\n"),
            html: html, messageID: messageID(key), headers: headers)
    }

    /// A plain, inline-styled HTML body (mail clients drop style sheets); every value escaped.
    static func html(heading: String, title: String, facts: [(String, String)], body: String?, links: [(String, String)], footer: [(String, String)]?) -> String {
        var html = "<!DOCTYPE html><html><body style=\"font-family: sans-serif; color: #1b1f24;\">"
        html += "<p style=\"color: #57606a; margin: 0;\">\(Markup.escape(heading))</p>"
        html += "<h2 style=\"margin: 4px 0 12px;\">\(Markup.escape(title))</h2>"
        if !facts.isEmpty {
            html += "<table>" + facts.map { "<tr><th align=\"left\" style=\"padding-right: 12px;\">\(Markup.escape($0.0))</th><td>\(Markup.escape($0.1))</td></tr>" }.joined() + "</table>"
        }
        if let body, !body.isEmpty {
            html += "<p>" + Markup.escape(body).replacingOccurrences(of: "\n", with: "<br>") + "</p>"
        }
        html += links.map { "<p><a href=\"\(Markup.escape($0.1))\">\(Markup.escape($0.0))</a></p>" }.joined()
        if let footer {
            html += "<hr><p style=\"font-size: 12px; color: #57606a;\">"
            html += footer.map { "<a href=\"\(Markup.escape($0.1))\">\(Markup.escape($0.0))</a>" }.joined(separator: " · ") + "</p>"
        }
        return html + "</body></html>"
    }
}
