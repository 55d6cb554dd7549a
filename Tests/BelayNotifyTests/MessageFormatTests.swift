import BelayCore
@testable import BelayNotify
import Foundation
import Testing

/// Signatures against the Standard Webhooks specification's own example, and each chat format's shape.
@Suite struct MessageFormatTests {
    @Test func signaturesMatchTheStandardWebhooksExampleAndRotationSignsTwice() throws {
        // The example in the specification's reference implementations.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        let header = WebhookSignature.header(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Data(#"{"test": 2432232314}"#.utf8), secrets: [secret])
        #expect(header == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        let other = WebhookSignature.newSecret()
        let both = WebhookSignature.header(id: "msg_1", timestamp: 1, body: Data("{}".utf8), secrets: [secret, other])
        #expect(both.split(separator: " ").count == 2)
        #expect(WebhookSignature.key("not-a-secret") == nil)

        var channel = NotificationChannel(name: "hook", kind: .webhook, url: "https://example.com", secret: secret, createdBy: "t", createdAt: Date(timeIntervalSince1970: 0))
        channel.rotate(to: other, now: Date(timeIntervalSince1970: 100))
        #expect(channel.signingSecrets(at: Date(timeIntervalSince1970: 100)) == [other, secret])
        #expect(channel.signingSecrets(at: Date(timeIntervalSince1970: 100 + NotificationChannel.rotationOverlap)) == [other])
    }

    static let hostile = NotificationMessage(
        topic: .incidentDeclared, eventSequence: 9, occurredAt: Date(timeIntervalSince1970: 1_790_000_000),
        title: "<!channel> @everyone " + String(repeating: "x", count: 500), status: "investigating", severity: .sev1, isPublic: true,
        components: [.init(slug: "api", name: "API & <b>", status: "major_outage")], body: "Look <https://evil.example|here>", incidentID: 12)

    static func json(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func slackTextEscapesMarkupSoATitleCannotPingARoom() throws {
        let body = try Self.json(try SlackMessage.body(ChatText(message: Self.hostile, link: "https://status.example.com/app/incidents/12")))
        let text = try #require(body["text"] as? String)
        #expect(!text.contains("<!channel>"))
        #expect(text.contains("&lt;!channel&gt;"))
        // Mattermost and Rocket.Chat would ping the room for a bare @everyone.
        #expect(!text.contains("@everyone"))
        let blocks = try #require(body["blocks"] as? [[String: Any]])
        #expect(blocks.map { $0["type"] as? String } == ["header", "section", "section", "actions"])
        let rendered = String(decoding: try JSONSerialization.data(withJSONObject: blocks, options: [.withoutEscapingSlashes]), as: UTF8.self)
        #expect(!rendered.contains("<https://evil.example"))
        #expect(!rendered.contains("@everyone"))
        #expect(rendered.contains("https://status.example.com/app/incidents/12"))
    }

    @Test func discordStaysWithinItsLimitsAndMentionsNobody() throws {
        let body = try Self.json(try DiscordMessage.body(ChatText(message: Self.hostile, link: "https://status.example.com/app/incidents/12")))
        #expect((body["allowed_mentions"] as? [String: Any])?["parse"] as? [String] == [])
        let embed = try #require((body["embeds"] as? [[String: Any]])?.first)
        #expect(try #require(embed["title"] as? String).count <= 256)
        #expect(try #require(body["content"] as? String).count <= 2000)
        #expect(embed["url"] as? String == "https://status.example.com/app/incidents/12")
        let fields = try #require(embed["fields"] as? [[String: Any]])
        #expect(fields.map { $0["name"] as? String } == ["Severity", "Status", "Components"])
    }

    @Test func teamsGetsAnAdaptiveCardWithTheFactsAndALink() throws {
        let body = try Self.json(try TeamsCard.body(ChatText(message: Self.hostile, link: "https://status.example.com/app/incidents/12")))
        #expect(body["type"] as? String == "message")
        let attachment = try #require((body["attachments"] as? [[String: Any]])?.first)
        #expect(attachment["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
        let card = try #require(attachment["content"] as? [String: Any])
        #expect(card["type"] as? String == "AdaptiveCard")
        #expect(card["version"] as? String == "1.4")
        let actions = try #require(card["actions"] as? [[String: Any]])
        #expect(actions.first?["url"] as? String == "https://status.example.com/app/incidents/12")
    }

    @Test func theWebhookPayloadIsVersionedAndNamesItsType() throws {
        let links = Links(publicURL: "https://status.example.com/")
        let body = try Self.json(try WebhookPayload.body(Self.hostile, links: links, audience: .team))
        #expect(body["type"] as? String == "incident.declared")
        #expect(body["version"] as? Int == 1)
        let incident = try #require((body["data"] as? [String: Any])?["incident"] as? [String: Any])
        #expect(incident["id"] as? String == "12")
        #expect(incident["url"] as? String == "https://status.example.com/app/incidents/12")
        let subscriber = try Self.json(try WebhookPayload.body(Self.hostile, links: links, audience: .subscriber, manageURL: "https://status.example.com/subscriptions/manage?token=t"))
        #expect(((subscriber["data"] as? [String: Any])?["incident"] as? [String: Any])?["url"] as? String == "https://status.example.com/incidents/12")
        #expect(subscriber["manageURL"] as? String != nil)
    }

    @Test func subscriberEmailsCarryOneClickUnsubscribeAndEscapeTheirHTML() throws {
        let settings = NotifySettings(publicURL: "https://status.example.com", egress: .init())
        let subscriber = Subscriber(kind: .email, address: "a@example.com", state: .confirmed, token: "tok_0123456789abcdefghij", source: "page", createdAt: Date())
        let mail = MailComposer(links: Links(publicURL: "https://status.example.com"), settings: settings).subscriberMail(Self.hostile, to: subscriber, key: "msg_9_s1")
        #expect(mail.messageID == "<msg_9_s1@status.example.com>")
        #expect(mail.headers.first { $0.name == "List-Unsubscribe" }?.value == "<https://status.example.com/subscriptions/unsubscribe?token=tok_0123456789abcdefghij>")
        #expect(mail.headers.first { $0.name == "List-Unsubscribe-Post" }?.value == "List-Unsubscribe=One-Click")
        #expect(mail.text.contains("https://status.example.com/subscriptions/manage?token=tok_0123456789abcdefghij"))
        #expect(!mail.html.contains("<b>"))
        #expect(mail.html.contains("API &amp; &lt;b&gt;"))
    }
}

@Suite struct MailComposerTests {
    @Test func aTitleWithLineBreaksMakesAOneLineSubjectThatRenders() throws {
        let settings = NotifySettings(publicURL: "https://status.example.com", egress: .init())
        var message = MessageFormatTests.hostile
        message.title = "Bad\r\ntitle\u{2028}here"
        let mail = MailComposer(links: Links(publicURL: "https://status.example.com"), settings: settings)
            .channelMail(message, to: ["ops@example.com"], key: "msg_1_c1")
        #expect(!mail.subject.contains("\n") && !mail.subject.contains("\r"))
        let rendered = try MailMessage(
            from: try MailAddress(parsing: "status@example.com"), to: try MailAddress(parsing: "ops@example.com"), subject: mail.subject,
            text: mail.text, html: mail.html, messageID: mail.messageID, extraHeaders: mail.headers
        ).rendered()
        #expect(rendered.contains("Message-ID: <msg_1_c1@status.example.com>"))
    }
}
