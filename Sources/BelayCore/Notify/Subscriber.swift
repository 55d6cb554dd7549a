import Foundation

/// Someone following the status page without an account: an email address (confirmed by a link), or a
/// webhook a program receives.
public struct Subscriber: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case email
        /// Signed like a webhook channel, with the public payload.
        case webhook
        /// A Slack-compatible incoming webhook.
        case slack

        public var transport: Transport {
            switch self {
            case .email: .email
            case .webhook: .webhook
            case .slack: .slack
            }
        }
    }

    public enum State: String, Sendable, Codable, CaseIterable {
        /// Waiting for the person to follow the confirmation link.
        case pending
        case confirmed
        case unsubscribed
        /// The address bounced or complained: nothing more is sent.
        case stopped
    }

    public var id: Int64
    public var kind: Kind
    /// The email address or the URL. Never shown on a public page.
    public var address: String
    /// The components followed; empty follows everything.
    public var components: [String]
    public var state: State
    /// The secret in manage and unsubscribe links (and the confirmation link while pending).
    public var token: String
    /// Signing secret of a webhook subscriber.
    public var secret: String?
    public var confirmationSentAt: Date?
    public var confirmedAt: Date?
    /// Why sending stopped (a bounce's reply, "unsubscribed").
    public var stopReason: String?
    /// Where the subscription came from: "page", "admin", "import".
    public var source: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64 = 0, kind: Kind, address: String, components: [String] = [], state: State, token: String, secret: String? = nil,
        confirmationSentAt: Date? = nil, confirmedAt: Date? = nil, stopReason: String? = nil, source: String, createdAt: Date, updatedAt: Date? = nil
    ) {
        self.id = id
        self.kind = kind
        self.address = address
        self.components = components
        self.state = state
        self.token = token
        self.secret = secret
        self.confirmationSentAt = confirmationSentAt
        self.confirmedAt = confirmedAt
        self.stopReason = stopReason
        self.source = source
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }

    /// How long a confirmation link works.
    public static let confirmationLifetime: TimeInterval = 48 * 3600
    /// How long an unconfirmed subscription is kept (so a mistyped address can still be found), then deleted.
    public static let pendingRetention: TimeInterval = 7 * 86400

    /// Whether the confirmation link sent at `confirmationSentAt` still works at `now`.
    public func canConfirm(now: Date) -> Bool {
        guard state == .pending, let sent = confirmationSentAt else { return false }
        return now.timeIntervalSince(sent) <= Self.confirmationLifetime
    }

    /// Whether `message` goes to this subscriber: confirmed, a public message on a subscriber topic the
    /// poster chose to announce, and about a component followed (a message naming no component goes to all).
    public func wants(_ message: NotificationMessage) -> Bool {
        guard state == .confirmed, message.isPublic, message.notifySubscribers,
              NotificationTopic.forSubscribers.contains(message.topic)
        else { return false }
        if components.isEmpty || message.components.isEmpty { return true }
        return !Set(components).isDisjoint(with: message.componentSlugs)
    }

    /// Checks the address for the kind and the component list against the components that exist.
    public static func validate(kind: Kind, address: String, components: [String], known: Set<String>) throws {
        switch kind {
        case .email:
            guard EmailAddress.isValid(address) else { throw DomainError.invalid(field: "email", message: "not an email address") }
        case .webhook, .slack:
            try NotificationChannel.validateURL(address, field: "url")
        }
        guard components.count <= 500 else { throw DomainError.invalid(field: "components", message: "at most 500") }
        if let unknown = components.first(where: { !known.contains($0) }) {
            throw DomainError.invalid(field: "components", message: "no component '\(unknown.prefix(64))'")
        }
    }
}

/// Which subscribers to list.
public struct SubscriberQuery: Sendable, Equatable {
    public var state: Subscriber.State?
    public var kind: Subscriber.Kind?
    public var limit: Int?
    public var afterID: Int64?
    /// Only these subscribers.
    public var ids: [Int64]?

    public init(state: Subscriber.State? = nil, kind: Subscriber.Kind? = nil, limit: Int? = nil, afterID: Int64? = nil, ids: [Int64]? = nil) {
        self.ids = ids
        self.state = state
        self.kind = kind
        self.limit = limit
        self.afterID = afterID
    }
}
