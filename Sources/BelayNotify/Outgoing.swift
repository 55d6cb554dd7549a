import BelayCore
import BelayEgress
import Foundation

/// A claimed delivery rendered for its destination, ready to send.
public struct Outgoing: Sendable {
    public var claimed: ClaimedDelivery
    /// The receiver's URL, or the email recipient.
    public var address: String
    public var body: Data
    public var headers: [(String, String)]
    /// The mail, for email deliveries.
    public var mail: OutgoingMail?
    /// Whose send rate this takes from: one URL, one address.
    var rateKey: String
    var policy: EgressPolicy
    /// Set by senders that time each message themselves.
    var latencyMilliseconds: Int?
}

/// An email ready for the SMTP client: one recipient, both parts, and its headers.
public struct OutgoingMail: Sendable, Equatable {
    /// One SMTP message per recipient, all with this content.
    public var recipients: [String]
    public var subject: String
    public var text: String
    public var html: String
    /// "<msg_12_s4@status.example.com>": the delivery's key, the same on every attempt.
    public var messageID: String
    public var headers: [(name: String, value: String)]

    public static func == (lhs: OutgoingMail, rhs: OutgoingMail) -> Bool {
        lhs.recipients == rhs.recipients && lhs.subject == rhs.subject && lhs.text == rhs.text && lhs.html == rhs.html && lhs.messageID == rhs.messageID
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }
}

/// The channels and subscribers a batch of deliveries goes to, read once per batch.
struct Destinations {
    var channels: [Int64: NotificationChannel]
    var subscribers: [Int64: Subscriber]

    static func load(for claimed: [ClaimedDelivery], store: any NotificationStore) async throws -> Destinations {
        var subscriberIDs: [Int64] = []
        var needsChannels = false
        for item in claimed {
            switch item.delivery.destination {
            case .channel: needsChannels = true
            case .subscriber(let id): subscriberIDs.append(id)
            }
        }
        let channels = needsChannels ? try await store.channels() : []
        let subscribers = subscriberIDs.isEmpty ? [] : try await store.subscribers(SubscriberQuery(ids: subscriberIDs))
        return Destinations(
            channels: Dictionary(channels.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }),
            subscribers: Dictionary(subscribers.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }))
    }

    /// The rendered message, or why it cannot go (the destination was removed or turned off).
    func resolve(_ item: ClaimedDelivery, settings: NotifySettings, now: Date) -> Result<Outgoing, Failure> {
        let links = Links(publicURL: settings.publicURL ?? "http://localhost")
        let message = item.message
        do {
            switch item.delivery.destination {
            case .channel(let id):
                guard let channel = channels[id] else { return .failure(Failure("the channel was deleted")) }
                guard channel.isEnabled || message.topic == .test else {
                    return .failure(Failure(channel.disabledReason.map { "the channel is turned off: \($0)" } ?? "the channel is turned off"))
                }
                let policy = settings.policy(allowing: channel.allowedNetworks)
                if channel.kind == .email {
                    let mail = MailComposer(links: links, settings: settings).channelMail(message, to: channel.recipients, key: item.delivery.key)
                    return .success(Outgoing(
                        claimed: item, address: channel.recipients.joined(separator: ", "), body: Data(), headers: [], mail: mail, rateKey: "mail",
                        policy: policy))
                }
                let text = ChatText(message: message, link: links.primary(for: message, audience: .team))
                let body: Data
                var headers: [(String, String)] = []
                switch channel.kind {
                case .webhook:
                    body = try WebhookPayload.body(message, links: links, audience: .team)
                    headers = Self.signed(key: item.delivery.key, body: body, secrets: channel.signingSecrets(at: now), now: now)
                case .slack: body = try SlackMessage.body(text)
                case .teams: body = try TeamsCard.body(text)
                case .discord: body = try DiscordMessage.body(text)
                case .email: body = Data()
                }
                return .success(Outgoing(claimed: item, address: channel.url, body: body, headers: headers, rateKey: channel.url, policy: policy))
            case .subscriber(let id):
                guard let subscriber = subscribers[id] else { return .failure(Failure("the subscriber was removed")) }
                let confirming = message.topic == .subscriptionConfirmation && subscriber.state == .pending
                guard subscriber.state == .confirmed || confirming else {
                    return .failure(Failure("the subscriber is \(subscriber.state.rawValue)"))
                }
                let policy = settings.publicPolicy
                switch subscriber.kind {
                case .email:
                    let mail = MailComposer(links: links, settings: settings).subscriberMail(message, to: subscriber, key: item.delivery.key)
                    return .success(Outgoing(claimed: item, address: subscriber.address, body: Data(), headers: [], mail: mail, rateKey: "mail", policy: policy))
                case .webhook:
                    let body = try WebhookPayload.body(message, links: links, audience: .subscriber, manageURL: links.manage(token: subscriber.token))
                    let headers = Self.signed(key: item.delivery.key, body: body, secrets: subscriber.secret.map { [$0] } ?? [], now: now)
                    return .success(Outgoing(claimed: item, address: subscriber.address, body: body, headers: headers, rateKey: subscriber.address, policy: policy))
                case .slack:
                    let body = try SlackMessage.body(ChatText(message: message, link: links.primary(for: message, audience: .subscriber)))
                    return .success(Outgoing(claimed: item, address: subscriber.address, body: body, headers: [], rateKey: subscriber.address, policy: policy))
                }
            }
        } catch {
            return .failure(Failure("the message could not be rendered (\(error))"))
        }
    }

    /// Standard Webhooks headers for this attempt: the id stays, the timestamp is now.
    static func signed(key: String, body: Data, secrets: [String], now: Date) -> [(String, String)] {
        let timestamp = Int(now.timeIntervalSince1970)
        var headers = [("webhook-id", key), ("webhook-timestamp", String(timestamp))]
        if !secrets.isEmpty { headers.append(("webhook-signature", WebhookSignature.header(id: key, timestamp: timestamp, body: body, secrets: secrets))) }
        return headers
    }

    struct Failure: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }
}
