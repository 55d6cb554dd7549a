import BelayCore
import BelayNotify
import Foundation
import Hummingbird

struct ChannelDTO: ResponseEncodable {
    var id: String
    var name: String
    var kind: NotificationChannel.Kind
    var url: String?
    var recipients: [String]?
    var topics: [String]
    var severities: [String]
    var components: [String]
    var allowedNetworks: [String]
    /// Who allowed them.
    var allowedBy: String?
    var enabled: Bool
    var disabledReason: String?
    /// The start of the signing secret, to tell secrets apart without showing one.
    var secretHint: String?
    var rotatingUntil: Date?
    var createdBy: String
    var createdAt: Date
    var updatedAt: Date

    init(_ c: NotificationChannel, now: Date) {
        id = String(c.id)
        name = c.name
        kind = c.kind
        url = c.kind.isHTTP ? ChannelDTO.redactedURL(c.url) : nil
        recipients = c.kind == .email ? c.recipients : nil
        topics = c.rule.topics.map(\.rawValue).sorted()
        severities = c.rule.severities.map(\.rawValue).sorted()
        components = c.rule.components.sorted()
        allowedNetworks = c.allowedNetworks
        allowedBy = c.allowedBy
        enabled = c.isEnabled
        disabledReason = c.disabledReason
        secretHint = c.secret.map { String($0.prefix(WebhookSignature.secretPrefix.count + 4)) + "…" }
        rotatingUntil = c.previousSecretUntil.flatMap { $0 > now ? $0 : nil }
        createdBy = c.createdBy
        createdAt = c.createdAt
        updatedAt = c.updatedAt
    }

    /// Chat webhook URLs are the credential (anyone holding a Slack webhook URL can post): the path is cut
    /// to its first segment.
    static func redactedURL(_ text: String) -> String {
        guard let components = URLComponents(string: text), let scheme = components.scheme, let host = components.host else { return "redacted" }
        let port = components.port.map { ":\($0)" } ?? ""
        let first = components.path.split(separator: "/").first.map { "/\($0)" } ?? ""
        let rest = components.path.split(separator: "/").count > 1 || components.query != nil ? "/…" : ""
        return "\(scheme)://\(host)\(port)\(first)\(rest)"
    }
}

struct ChannelListDTO: ResponseEncodable {
    var channels: [ChannelDTO]
}

/// A channel just made or given a new secret: the only time the secret is shown.
struct ChannelSecretDTO: ResponseEncodable {
    var channel: ChannelDTO
    var secret: String?
}

struct ChannelInput: Decodable {
    var name: String
    var kind: NotificationChannel.Kind
    var url: String?
    var recipients: [String]?
    var topics: [NotificationTopic]?
    var severities: [Severity]?
    var components: [String]?
    var allowedNetworks: [String]?
    var enabled: Bool?
}

struct ChannelPatch: Decodable {
    var name: String?
    var url: String?
    var recipients: [String]?
    var topics: [NotificationTopic]?
    var severities: [Severity]?
    var components: [String]?
    var allowedNetworks: [String]?
    var enabled: Bool?
}

struct DeliveryDTO: ResponseEncodable {
    struct Attempt: Encodable {
        var number: Int
        var startedAt: Date
        var latencyMs: Int
        var statusCode: Int?
        var error: String?
        var outcome: DeliveryState
    }

    var id: String
    var key: String
    var state: DeliveryState
    var topic: String
    var transport: Transport
    var channel: String?
    var subscriber: String?
    var incident: String?
    var attemptCount: Int
    var nextAttemptAt: Date?
    var lastError: String?
    var createdAt: Date
    var deliveredAt: Date?
    var attempts: [Attempt]?

    init(_ d: Delivery, attempts: [DeliveryAttempt]? = nil) {
        id = String(d.id)
        key = d.key
        state = d.state
        topic = d.topic.rawValue
        transport = d.transport
        switch d.destination {
        case .channel(let id): channel = String(id)
        case .subscriber(let id): subscriber = String(id)
        }
        incident = d.incidentID.map(String.init)
        attemptCount = d.attemptCount
        nextAttemptAt = d.state == .delivered || d.state == .dead ? nil : d.nextAttemptAt
        lastError = d.lastError
        createdAt = d.createdAt
        deliveredAt = d.deliveredAt
        self.attempts = attempts?.map {
            Attempt(number: $0.number, startedAt: $0.startedAt, latencyMs: $0.latencyMilliseconds, statusCode: $0.statusCode, error: $0.error, outcome: $0.outcome)
        }
    }
}

struct DeliveryListDTO: ResponseEncodable {
    var deliveries: [DeliveryDTO]
}

struct NotificationHealthDTO: ResponseEncodable {
    struct FailingChannel: Encodable {
        var id: String
        var name: String
        var reason: String
    }

    var status: String
    var publicURLConfigured: Bool
    var emailConfigured: Bool
    var failingChannels: [FailingChannel]
    var deadLetters: Int
    var failed: Int
    var pending: Int
    var delivered: Int
    var subscribers: [String: Int]
}

struct SubscriberDTO: ResponseEncodable {
    var id: String
    var kind: Subscriber.Kind
    var address: String
    var components: [String]
    var state: Subscriber.State
    var stopReason: String?
    var source: String
    var confirmedAt: Date?
    var createdAt: Date

    init(_ s: Subscriber) {
        id = String(s.id)
        kind = s.kind
        address = s.kind == .email ? s.address : ChannelDTO.redactedURL(s.address)
        components = s.components
        state = s.state
        stopReason = s.stopReason
        source = s.source
        confirmedAt = s.confirmedAt
        createdAt = s.createdAt
    }
}

struct SubscriberListDTO: ResponseEncodable {
    var subscribers: [SubscriberDTO]
}

/// A subscriber an admin added; a webhook subscriber's signing secret is shown this once.
struct SubscriberSecretDTO: ResponseEncodable {
    var subscriber: SubscriberDTO
    var secret: String?
}

struct SubscriberInput: Decodable {
    var kind: Subscriber.Kind?
    var address: String
    var components: [String]?
    /// Admin-added email subscribers are confirmed only when the admin says the person agreed.
    var confirmed: Bool?
}

struct BounceInput: Decodable {
    var address: String
    var reason: String?
}

struct BounceResultDTO: ResponseEncodable {
    /// False when no subscriber had the address, or it already receives nothing.
    var stopped: Bool
}

struct ImportResultDTO: ResponseEncodable {
    var imported: Int
    var confirmed: Int
    var pendingConfirmation: Int
    var skipped: Int
    var errors: [String]
}
