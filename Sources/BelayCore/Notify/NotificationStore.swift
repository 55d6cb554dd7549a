import Foundation

/// The outbox and its destinations. Only storage: which events become which messages and deliveries,
/// and what an attempt's outcome means, is decided in `NotificationPlanner` and `DeliveryPolicy`.
public protocol NotificationStore: Sendable {
    func channels() async throws -> [NotificationChannel]
    func channel(id: Int64) async throws -> NotificationChannel?
    func createChannel(_ channel: NotificationChannel) async throws -> NotificationChannel
    /// Loads the channel, applies `change` and saves it.
    func updateChannel(id: Int64, _ change: @escaping @Sendable (inout NotificationChannel) throws -> Void) async throws -> NotificationChannel
    /// Deletes the channel; its deliveries stay, for the record.
    func deleteChannel(id: Int64) async throws

    func subscribers(_ query: SubscriberQuery) async throws -> [Subscriber]
    func subscriber(id: Int64) async throws -> Subscriber?
    func subscriber(token: String) async throws -> Subscriber?
    func subscriber(kind: Subscriber.Kind, address: String) async throws -> Subscriber?
    /// Inserts (id 0) or replaces a subscriber; one subscriber per kind and address.
    func saveSubscribers(_ subscribers: [Subscriber]) async throws -> [Subscriber]
    func deleteSubscriber(id: Int64) async throws
    /// Deletes subscriptions never confirmed whose opt-in was sent before `before`; returns how many.
    func prunePendingSubscribers(before: Date) async throws -> Int
    func subscriberCounts() async throws -> [Subscriber.State: Int]

    /// The last event sequence turned into deliveries; nil before the dispatcher first ran.
    func outboxCursor() async throws -> Int64?
    /// Saves the messages and their deliveries and moves the cursor to `cursor` if the cursor still is
    /// `expected` (another dispatcher may have handled the same events); returns whether it did. The cursor
    /// moves in the same transaction as the last deliveries; a large batch may save its first deliveries
    /// before, which is safe because keys are unique: planning the same events again adds nothing twice.
    func enqueue(_ batch: OutboxBatch, expected: Int64?, cursor: Int64) async throws -> Bool
    /// Saves a message and its deliveries outside the event log (a channel's "send test"); returns them with ids.
    func enqueueDirect(_ message: NotificationMessage, deliveries: [Delivery]) async throws -> [Delivery]
    /// Takes up to `limit` deliveries due at `now` (pending or failed with their time come, or sending with
    /// an expired lease), marks them sending with a lease for `owner` until `leaseUntil`, and returns them.
    func claimDeliveries(
        owner: String, now: Date, leaseUntil: Date, transports: Set<Transport>, scope: ClaimScope, limit: Int
    ) async throws -> [ClaimedDelivery]
    /// Saves attempts for deliveries `owner` still holds; a result whose lease was lost is dropped, so a
    /// slow dispatcher cannot overwrite a newer one. Returns how many were saved.
    @discardableResult
    func completeAttempts(_ results: [AttemptResult], owner: String, now: Date) async throws -> Int
    /// Puts leased deliveries back without an attempt, due at their `until`.
    func deferDeliveries(_ deferred: [DeferredDelivery], owner: String) async throws
    /// When the next delivery falls due, if any is waiting.
    func nextDueAt() async throws -> Date?

    func deliveries(_ query: DeliveryQuery) async throws -> [Delivery]
    func delivery(id: Int64) async throws -> Delivery?
    func attempts(deliveryID: Int64) async throws -> [DeliveryAttempt]
    /// A delivery with its attempts, read together (so the state and the log agree).
    func deliveryWithAttempts(id: Int64) async throws -> (Delivery, [DeliveryAttempt])?
    func message(id: Int64) async throws -> NotificationMessage?
    /// Makes a failed or dead delivery due again at `now`, with its attempts kept and its key unchanged.
    func resend(deliveryID: Int64, now: Date) async throws -> Delivery
    func deliveryCounts() async throws -> [DeliveryState: Int]
    /// Incidents announced to subscribers since `since` (for damping) and incidents whose announcement was damped.
    func subscriberAnnouncements(since: Date) async throws -> [SubscriberAnnouncement]
}

/// Whose deliveries a claim takes: the team's channels and the public's subscriptions are sent apart, so
/// neither waits for the other.
public enum ClaimScope: Sendable {
    case all, channels, subscribers
}

extension NotificationStore {
    public func claimDeliveries(owner: String, now: Date, leaseUntil: Date, transports: Set<Transport>, limit: Int) async throws -> [ClaimedDelivery] {
        try await claimDeliveries(owner: owner, now: now, leaseUntil: leaseUntil, transports: transports, scope: .all, limit: limit)
    }
}

/// Messages and deliveries to save together.
public struct OutboxBatch: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var message: NotificationMessage
        public var deliveries: [Delivery]
        /// How subscribers were treated, recorded for damping later messages.
        public var announcement: SubscriberAnnouncement?

        public init(message: NotificationMessage, deliveries: [Delivery], announcement: SubscriberAnnouncement? = nil) {
            self.message = message
            self.deliveries = deliveries
            self.announcement = announcement
        }
    }

    public var entries: [Entry]

    public init(entries: [Entry] = []) { self.entries = entries }

    public var deliveryCount: Int { entries.reduce(0) { $0 + $1.deliveries.count } }
}

/// An incident's declaration as subscribers saw it (or did not, when damped).
public struct SubscriberAnnouncement: Sendable, Equatable {
    public var incidentID: Int64
    public var components: [String]
    public var at: Date
    public var damped: Bool

    public init(incidentID: Int64, components: [String], at: Date, damped: Bool) {
        self.incidentID = incidentID
        self.components = components
        self.at = at
        self.damped = damped
    }
}

public struct DeliveryQuery: Sendable, Equatable {
    public var states: Set<DeliveryState>
    public var destination: DeliveryDestination?
    public var incidentID: Int64?
    public var limit: Int
    public var beforeID: Int64?

    public init(states: Set<DeliveryState> = [], destination: DeliveryDestination? = nil, incidentID: Int64? = nil, limit: Int = 100, beforeID: Int64? = nil) {
        self.states = states
        self.destination = destination
        self.incidentID = incidentID
        self.limit = limit
        self.beforeID = beforeID
    }
}
