import Foundation

/// Where a delivery goes.
public enum DeliveryDestination: Sendable, Equatable, Hashable, Codable {
    case channel(Int64)
    case subscriber(Int64)

    /// "c12", "s40": part of the idempotency key.
    public var tag: String {
        switch self {
        case .channel(let id): "c\(id)"
        case .subscriber(let id): "s\(id)"
        }
    }
}

/// How a delivery travels.
public enum Transport: String, Sendable, Codable, CaseIterable {
    case webhook, slack, teams, discord, email
}

/// A delivery's life: pending until claimed; sending while a dispatcher holds its lease; then delivered,
/// failed (waiting for its next attempt) or dead (no attempt left, or the destination is gone).
public enum DeliveryState: String, Sendable, Codable, CaseIterable {
    case pending, sending, delivered, failed, dead
}

/// One message to one destination.
public struct Delivery: Sendable, Equatable {
    public var id: Int64
    /// The idempotency key, the same on every attempt: `webhook-id`, and the email's Message-ID.
    public var key: String
    public var messageID: Int64
    public var destination: DeliveryDestination
    public var transport: Transport
    public var topic: NotificationTopic
    public var incidentID: Int64?
    public var state: DeliveryState
    public var attemptCount: Int
    /// When it may next be sent (pending and failed deliveries).
    public var nextAttemptAt: Date?
    public var lastError: String?
    public var createdAt: Date
    public var deliveredAt: Date?

    public init(
        id: Int64 = 0, key: String, messageID: Int64 = 0, destination: DeliveryDestination, transport: Transport, topic: NotificationTopic,
        incidentID: Int64? = nil, state: DeliveryState = .pending, attemptCount: Int = 0, nextAttemptAt: Date?, lastError: String? = nil,
        createdAt: Date, deliveredAt: Date? = nil
    ) {
        self.id = id
        self.key = key
        self.messageID = messageID
        self.destination = destination
        self.transport = transport
        self.topic = topic
        self.incidentID = incidentID
        self.state = state
        self.attemptCount = attemptCount
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.createdAt = createdAt
        self.deliveredAt = deliveredAt
    }

    /// The key for `message` to `destination`: stable across retries, restarts and replicas.
    public static func key(eventSequence: Int64, topic: NotificationTopic, destination: DeliveryDestination, nonce: String? = nil) -> String {
        let base = "msg_\(eventSequence)_\(destination.tag)"
        return nonce.map { "\(base)_\($0)" } ?? base
    }
}

/// One try at sending a delivery.
public struct DeliveryAttempt: Sendable, Equatable {
    public var deliveryID: Int64
    public var number: Int
    public var startedAt: Date
    public var latencyMilliseconds: Int
    /// The HTTP status or SMTP reply code, when the peer answered.
    public var statusCode: Int?
    /// What went wrong, in words ("connection refused", "HTTP 500"); nil when delivered.
    public var error: String?
    /// The delivery's state after this attempt.
    public var outcome: DeliveryState

    public init(deliveryID: Int64, number: Int, startedAt: Date, latencyMilliseconds: Int, statusCode: Int?, error: String?, outcome: DeliveryState) {
        self.deliveryID = deliveryID
        self.number = number
        self.startedAt = startedAt
        self.latencyMilliseconds = latencyMilliseconds
        self.statusCode = statusCode
        self.error = error
        self.outcome = outcome
    }
}

/// A delivery a dispatcher holds the lease on, with its message.
public struct ClaimedDelivery: Sendable, Equatable {
    public var delivery: Delivery
    public var message: NotificationMessage

    public init(delivery: Delivery, message: NotificationMessage) {
        self.delivery = delivery
        self.message = message
    }
}

/// What a dispatcher learned from one attempt, to be saved if it still holds the lease.
public struct AttemptResult: Sendable, Equatable {
    public var attempt: DeliveryAttempt
    public var nextAttemptAt: Date?
    /// Set when the destination must stop receiving: a channel answered 410, a subscriber's address bounced.
    public var stopDestination: String?

    public init(attempt: DeliveryAttempt, nextAttemptAt: Date?, stopDestination: String? = nil) {
        self.attempt = attempt
        self.nextAttemptAt = nextAttemptAt
        self.stopDestination = stopDestination
    }
}

/// A delivery deferred without an attempt (its destination's send rate is used up).
public struct DeferredDelivery: Sendable, Equatable {
    public var deliveryID: Int64
    public var until: Date

    public init(deliveryID: Int64, until: Date) {
        self.deliveryID = deliveryID
        self.until = until
    }
}
