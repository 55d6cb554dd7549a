import BelayCore
@testable import BelayNotify
import BelaySQLite
import BelayTestSupport
import Foundation
import Logging
import NIOPosix
import Synchronization
import Testing

/// The dispatcher against a real (in-memory) SQLite store, a fixed clock and a scripted receiver: the retry
/// schedule, dead letters, disabled destinations, leases and idempotency keys, without waiting on real time.
@Suite struct DispatcherTests {
    /// Answers each send from a script, in order (the last answer repeats), and records what was sent.
    final class Receiver: Sendable {
        private let state: Mutex<(script: [SendOutcome], sent: [Outgoing])>

        init(_ script: [SendOutcome] = [.delivered(statusCode: 200)]) { state = Mutex((script, [])) }

        var sent: [Outgoing] { state.withLock { $0.sent } }

        func send(_ batch: [Outgoing]) -> [SendOutcome] {
            state.withLock { state in
                batch.map { item in
                    state.sent.append(item)
                    return state.script.count > 1 ? state.script.removeFirst() : state.script[0]
                }
            }
        }
    }

    struct Setup {
        let store: AppDatabase
        let clock: FixedClock
        let receiver: Receiver
        let dispatcher: Dispatcher
        let channel: NotificationChannel
    }

    static func setup(_ script: [SendOutcome] = [.delivered(statusCode: 200)], kind: NotificationChannel.Kind = .webhook) async throws -> Setup {
        let store = try AppDatabase.inMemory()
        let clock = FixedClock()
        let receiver = Receiver(script)
        let channel = try await store.createChannel(NotificationChannel(
            name: "hook", kind: kind, url: "https://hooks.example.com/in", secret: kind == .webhook ? WebhookSignature.newSecret() : nil,
            createdBy: "test", createdAt: clock.now))
        let dispatcher = dispatcher(store, clock, receiver)
        // The first run only notes where the log is.
        try await dispatcher.plan()
        return Setup(store: store, clock: clock, receiver: receiver, dispatcher: dispatcher, channel: channel)
    }

    static func dispatcher(_ store: AppDatabase, _ clock: FixedClock, _ receiver: Receiver) -> Dispatcher {
        Dispatcher(
            store: store, clock: clock, settings: NotifySettings(publicURL: "https://status.example.com", egress: .init()),
            group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"), send: { receiver.send($0) }, random: { 0 })
    }

    static func declare(_ store: AppDatabase, _ clock: FixedClock, title: String = "Checkout errors", isPublic: Bool = true) async throws -> Incident {
        try await store.declareIncident(
            IncidentDraft(title: title, severity: .sev2, isPublic: isPublic, message: "Looking into it"), author: "dana", now: clock.now).0
    }

    @Test func aReceiverAnswering429Then500Then410GetsTheDocumentedScheduleAndEndsDisabled() async throws {
        let s = try await Self.setup([
            .http(status: 429, retryAfter: "120", now: Date()), .http(status: 500, retryAfter: nil, now: Date()),
            .http(status: 410, retryAfter: nil, now: Date()),
        ])
        _ = try await Self.declare(s.store, s.clock)
        try await s.dispatcher.plan()
        #expect(try await s.dispatcher.send() == 1)
        let id = try #require(try await s.store.deliveries(DeliveryQuery()).first?.id)
        var delivery = try #require(try await s.store.delivery(id: id))
        #expect(delivery.state == .failed)
        // Retry-After 120 s beats the schedule's 5 s.
        #expect(delivery.nextAttemptAt == s.clock.now.addingTimeInterval(120))
        s.clock.advance(by: 119)
        #expect(try await s.dispatcher.send() == 0)
        s.clock.advance(by: 1)
        #expect(try await s.dispatcher.send() == 1)
        delivery = try #require(try await s.store.delivery(id: id))
        #expect(delivery.state == .failed)
        #expect(delivery.nextAttemptAt == s.clock.now.addingTimeInterval(300))
        s.clock.advance(by: 300)
        #expect(try await s.dispatcher.send() == 1)
        delivery = try #require(try await s.store.delivery(id: id))
        #expect(delivery.state == .dead)
        let attempts = try await s.store.attempts(deliveryID: id)
        #expect(attempts.map(\.statusCode) == [429, 500, 410])
        #expect(attempts.map(\.outcome) == [.failed, .failed, .dead])
        let channel = try #require(try await s.store.channel(id: s.channel.id))
        #expect(channel.isEnabled == false)
        #expect(channel.disabledReason?.contains("410") == true)
        // Every attempt carried the same idempotency key.
        #expect(Set(s.receiver.sent.map(\.claimed.delivery.key)).count == 1)
        // A disabled channel gets nothing more.
        _ = try await Self.declare(s.store, s.clock, title: "Second")
        try await s.dispatcher.plan()
        #expect(try await s.store.deliveries(DeliveryQuery()).count == 1)
    }

    @Test func aReceiverThatAlwaysFailsIsTriedOnTheStandardWebhooksScheduleThenDeadAndCanBeResent() async throws {
        let s = try await Self.setup([.http(status: 503, retryAfter: nil, now: Date())])
        _ = try await Self.declare(s.store, s.clock)
        try await s.dispatcher.plan()
        let start = s.clock.now
        var times: [TimeInterval] = []
        for _ in 0..<40 where times.count < 10 {
            if try await s.dispatcher.send() == 1 { times.append(s.clock.now.timeIntervalSince(start)) }
            guard let due = try await s.store.nextDueAt() else { break }
            s.clock.set(max(due, s.clock.now))
        }
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        #expect(gaps == [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400])
        let delivery = try #require(try await s.store.deliveries(DeliveryQuery()).first)
        #expect(delivery.state == .dead)
        #expect(delivery.attemptCount == 10)
        #expect(try await s.store.nextDueAt() == nil)
        // An admin re-sends the dead letter: the same key goes out once more.
        _ = try await s.store.resend(deliveryID: delivery.id, now: s.clock.now)
        #expect(try await s.dispatcher.send() == 1)
        #expect(s.receiver.sent.count == 11)
        #expect(Set(s.receiver.sent.map(\.claimed.delivery.key)) == [delivery.key])
    }

    @Test func aDispatcherThatDiesMidSendLeavesTheDeliveryToTheNextOneWithTheSameKey() async throws {
        let s = try await Self.setup()
        _ = try await Self.declare(s.store, s.clock)
        try await s.dispatcher.plan()
        // Another dispatcher claimed it and died before saving the outcome.
        let taken = try await s.store.claimDeliveries(
            owner: "crashed", now: s.clock.now, leaseUntil: s.clock.now.addingTimeInterval(60), transports: [.webhook], limit: 10)
        #expect(taken.count == 1)
        #expect(try await s.dispatcher.send() == 0)
        s.clock.advance(by: 61)
        #expect(try await s.dispatcher.send() == 1)
        #expect(s.receiver.sent.map(\.claimed.delivery.key) == taken.map(\.delivery.key))
        // The webhook-id header is that key, so the receiver can tell a repeat.
        #expect(s.receiver.sent.first?.headers.first { $0.0 == "webhook-id" }?.1 == taken.first?.delivery.key)
        #expect(try await s.store.delivery(id: taken[0].delivery.id)?.state == .delivered)
    }

    @Test func twoDispatchersOnOneDatabaseNeverSendADeliveryTwice() async throws {
        let s = try await Self.setup()
        let other = Self.dispatcher(s.store, s.clock, s.receiver)
        for index in 0..<40 { _ = try await Self.declare(s.store, s.clock, title: "Incident \(index)") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for dispatcher in [s.dispatcher, other] {
                group.addTask {
                    for _ in 0..<30 {
                        try await dispatcher.plan()
                        try await dispatcher.send()
                        // Each dispatcher's send rate refills as time passes.
                        s.clock.advance(by: 1)
                    }
                }
            }
            try await group.waitForAll()
        }
        let keys = s.receiver.sent.map(\.claimed.delivery.key)
        #expect(keys.count == 40)
        #expect(Set(keys).count == 40)
        #expect(try await s.store.deliveryCounts() == [.delivered: 40])
    }

    @Test func historyBeforeTheFirstRunAndReplayedEventsAreNeverAnnounced() async throws {
        let store = try AppDatabase.inMemory()
        let clock = FixedClock()
        _ = try await store.createChannel(NotificationChannel(name: "hook", kind: .slack, url: "https://hooks.example.com/in", createdBy: "t", createdAt: clock.now))
        _ = try await Self.declare(store, clock, title: "Before Belay could notify")
        let receiver = Receiver()
        let dispatcher = Self.dispatcher(store, clock, receiver)
        try await dispatcher.plan()
        try await dispatcher.plan()
        try await WriteContext.unannounced { _ = try await Self.declare(store, clock, title: "Replayed") }
        try await dispatcher.plan()
        #expect(try await store.deliveries(DeliveryQuery()).isEmpty)
        _ = try await Self.declare(store, clock, title: "Now")
        try await dispatcher.plan()
        try await dispatcher.send()
        #expect(receiver.sent.map(\.claimed.message.title) == ["Now"])
    }

    @Test func aBurstToOneChatWebhookQueuesAtItsRateInsteadOfFailing() async throws {
        let s = try await Self.setup(kind: .slack)
        for index in 0..<6 { _ = try await Self.declare(s.store, s.clock, title: "Incident \(index)") }
        try await s.dispatcher.plan()
        #expect(try await s.dispatcher.send() == 6)
        // Three go at once (the burst); the rest wait their turn without spending an attempt.
        #expect(s.receiver.sent.count == 3)
        let waiting = try await s.store.deliveries(DeliveryQuery(states: [.pending]))
        #expect(waiting.count == 3)
        #expect(waiting.allSatisfy { $0.attemptCount == 0 })
        for _ in 0..<3 {
            s.clock.advance(by: 1)
            try await s.dispatcher.send()
        }
        #expect(s.receiver.sent.count == 6)
        #expect(try await s.store.deliveryCounts() == [.delivered: 6])
    }

    @Test func subscribersHearOnlyPublicNewsAboutWhatTheyFollowAndAFlappingComponentOncePerWindow() async throws {
        let s = try await Self.setup()
        _ = try await s.store.createComponent(Fixtures.component("api", at: s.clock.now))
        _ = try await s.store.createComponent(Fixtures.component("web", at: s.clock.now))
        let subscribers = try await s.store.saveSubscribers([
            Subscriber(kind: .email, address: "all@example.com", state: .confirmed, token: "t-all-0123456789abcdefgh", source: "page", createdAt: s.clock.now),
            Subscriber(kind: .email, address: "web@example.com", components: ["web"], state: .confirmed, token: "t-web-0123456789abcdefgh", source: "page", createdAt: s.clock.now),
            Subscriber(kind: .email, address: "new@example.com", state: .pending, token: "t-new-0123456789abcdefgh", source: "page", createdAt: s.clock.now),
        ])
        func declare(_ title: String, on slug: String, isPublic: Bool = true) async throws -> Incident {
            try await s.store.declareIncident(
                IncidentDraft(title: title, severity: .sev2, isPublic: isPublic, impacts: [ComponentImpact(slug: slug, impact: .majorOutage)], message: "Looking"),
                author: "dana", now: s.clock.now).0
        }
        func subscriberDeliveries() async throws -> [Int64: Int] {
            var counts: [Int64: Int] = [:]
            for delivery in try await s.store.deliveries(DeliveryQuery(limit: 1000)) {
                if case .subscriber(let id) = delivery.destination { counts[id, default: 0] += 1 }
            }
            return counts
        }
        let first = try await declare("API down", on: "api")
        _ = try await declare("Internal only", on: "api", isPublic: false)
        try await s.dispatcher.plan()
        #expect(try await subscriberDeliveries() == [subscribers[0].id: 1])
        // Resolved a minute later, then the same component breaks again: the flap is not announced.
        _ = try await s.store.updateIncident(id: first.id) { incident, known in
            try incident.postUpdate(status: .resolved, message: "Fixed", knownComponents: known, author: "dana", now: s.clock.now)
        }
        s.clock.advance(by: 60)
        let flap = try await declare("API down again", on: "api")
        _ = try await s.store.updateIncident(id: flap.id) { incident, known in
            try incident.postUpdate(status: .identified, message: "Same cause", knownComponents: known, author: "dana", now: s.clock.now)
        }
        try await s.dispatcher.plan()
        #expect(try await subscriberDeliveries() == [subscribers[0].id: 2])
        // An update posted without notifying subscribers reaches channels only.
        _ = try await s.store.updateIncident(id: first.id) { incident, _ in
            [try incident.note("unrelated", occurredAt: nil, author: "dana", now: s.clock.now)]
        }
        let web = try await declare("Web down", on: "web")
        _ = try await s.store.updateIncident(id: web.id) { incident, known in
            try incident.postUpdate(status: .identified, message: "Quiet", knownComponents: known, notifySubscribers: false, author: "dana", now: s.clock.now)
        }
        try await s.dispatcher.plan()
        #expect(try await subscriberDeliveries() == [subscribers[0].id: 3, subscribers[1].id: 1])
        // Past the window, a new outage on the API is announced again.
        s.clock.advance(by: NotificationPlanner.defaultDampingWindow)
        _ = try await declare("API down a third time", on: "api")
        try await s.dispatcher.plan()
        #expect(try await subscriberDeliveries() == [subscribers[0].id: 4, subscribers[1].id: 1])
    }
}
