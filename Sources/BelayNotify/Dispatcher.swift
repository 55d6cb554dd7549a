import BelayCore
import BelayEgress
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// The outbox dispatcher: follows the event log, turns announced events into deliveries (in the same
/// transaction that moves its cursor), and sends what is due, each delivery under a lease so that several
/// dispatchers on one database never send one twice.
public actor Dispatcher: Service {
    public typealias Store = BelayStore
    /// Sends a batch of claimed deliveries; nil for one it did not get to (it goes back to wait). Tests
    /// replace the network with a script.
    public typealias Send = @Sendable (_ batch: [Outgoing]) async -> [SendOutcome?]

    let store: any Store
    let clock: any WallClock
    let settings: NotifySettings
    let planner: NotificationPlanner
    let logger: Logger
    /// This dispatcher's name on the leases it takes.
    public nonisolated let owner: String
    /// One bell per loop: the planner's, and each lane's.
    private let planBell = Doorbell()
    private let laneBells: [Lane: Doorbell] = Dictionary(uniqueKeysWithValues: Lane.allCases.map { ($0, Doorbell()) })
    private let rates = SendRates()
    private let sendHTTP: Send
    private let sendMail: Send
    private let random: @Sendable () -> Double
    /// Sending is a test's script, which takes email too.
    private let isScripted: Bool

    public init(
        store: any Store, clock: any WallClock, settings: NotifySettings, group: any EventLoopGroup, logger: Logger,
        send: Send? = nil, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.store = store
        self.clock = clock
        self.settings = settings
        self.planner = NotificationPlanner(dampingWindow: settings.dampingWindow)
        self.logger = logger
        self.owner = "dispatcher-" + String(UInt64.random(in: .min ... .max), radix: 36)
        self.random = random
        self.isScripted = send != nil
        if let send {
            sendHTTP = send
            sendMail = send
        } else {
            let http = HTTPSender(group: group, settings: settings)
            let mail = MailSender(group: group, settings: settings)
            sendHTTP = { await http.send($0) }
            sendMail = { await mail.send($0) }
        }
    }

    public func run() async throws {
        let changes = store.feed.committed()
        let planBell = self.planBell
        let listener = Task {
            for await _ in changes { planBell.ring() }
        }
        defer { listener.cancel() }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.loop(planBell, "turn events into deliveries") { try await self.plan() } }
                for lane in Lane.allCases {
                    guard let bell = self.laneBells[lane] else { continue }
                    group.addTask { await self.loop(bell, "send deliveries") { try await self.send(lane) } }
                }
            }
        }
    }

    /// Runs `work` until cancelled: again at once while it finds work, else at the next ring or poll.
    nonisolated func loop(_ bell: Doorbell, _ what: String, _ work: @Sendable () async throws -> Int) async {
        while !Task.isCancelled {
            var busy = false
            do {
                busy = try await work() > 0
            } catch is CancellationError {
                return
            } catch {
                logger.error("could not \(what)", metadata: ["error": "\(error)"])
            }
            if !busy { await bell.wait(upTo: settings.pollInterval) }
        }
    }

    /// Turns the next events after the cursor into deliveries; returns how many events it handled.
    @discardableResult
    public func plan() async throws -> Int {
        guard let cursor = try await store.outboxCursor() else {
            // First run: start at the head, so an upgraded install does not announce its history.
            let head = try await store.eventHead()
            _ = try await store.enqueue(OutboxBatch(), expected: nil, cursor: head)
            logger.info("outbox starts at the event log's head", metadata: ["sequence": "\(head)"])
            return 0
        }
        let events = try await store.events(after: cursor, limit: settings.eventBatch)
        guard let last = events.last else { return 0 }
        let now = clock.now
        let messages = planner.messages(for: events, facts: try await facts(for: events))
        var batch = OutboxBatch()
        if !messages.isEmpty {
            let channels = try await store.channels()
            let wantsSubscribers = messages.contains { $0.isPublic && NotificationTopic.forSubscribers.contains($0.topic) }
            let subscribers = wantsSubscribers ? try await store.subscribers(SubscriberQuery(state: .confirmed)) : []
            let announcements = try await store.subscriberAnnouncements(since: now.addingTimeInterval(-settings.dampingWindow))
            batch = planner.plan(messages, channels: channels, subscribers: subscribers, announcements: announcements, now: now)
        }
        if try await store.enqueue(batch, expected: cursor, cursor: last.sequence) {
            if batch.deliveryCount > 0 {
                for bell in laneBells.values { bell.ring() }
                logger.info("queued deliveries", metadata: ["messages": "\(batch.entries.count)", "deliveries": "\(batch.deliveryCount)"])
            }
        }
        // Lost the race to another dispatcher, which saved the same events: nothing to do but read on.
        return events.count
    }

    /// What the planner needs about the incidents, windows, monitors and changes `events` name.
    func facts(for events: [StoredEvent]) async throws -> NotificationFacts {
        let subjects = NotificationPlanner.subjects(of: events)
        var facts = NotificationFacts()
        guard !(subjects.incidents.isEmpty && subjects.maintenances.isEmpty && subjects.monitors.isEmpty && subjects.changes.isEmpty) else {
            return facts
        }
        for id in subjects.incidents { facts.incidents[id] = try await store.incident(id: id) }
        for id in subjects.maintenances { facts.maintenances[id] = try await store.maintenance(id: id) }
        for id in subjects.monitors { facts.monitors[id] = try await store.monitor(id: id) }
        for id in subjects.changes { facts.changes[id] = try await store.change(id: id) }
        if !subjects.changes.isEmpty { facts.openIncidents = try await store.incidents(IncidentQuery(openOnly: true)) }
        facts.componentNames = Dictionary(try await store.components().map { ($0.slug, $0.name) }, uniquingKeysWith: { first, _ in first })
        return facts
    }

    /// Claims due deliveries of every kind and sends them; returns how many it claimed.
    @discardableResult
    public func send() async throws -> Int {
        var claimed = 0
        for lane in Lane.allCases { claimed += try await send(lane) }
        return claimed
    }

    /// What sends on its own: the team's HTTP channels, subscribers' webhooks, and email. One lane never
    /// waits for another, so a hanging subscriber's URL or a slow relay delays nobody else.
    enum Lane: CaseIterable {
        case channels, subscribers, mail

        static let httpTransports: Set<Transport> = [.webhook, .slack, .teams, .discord]
    }

    /// Claims what is due in `lane` and sends it; returns how many it claimed.
    @discardableResult
    func send(_ lane: Lane) async throws -> Int {
        let now = clock.now
        let leaseUntil = now.addingTimeInterval(settings.lease)
        switch lane {
        case .channels, .subscribers:
            let batch = try await store.claimDeliveries(
                owner: owner, now: now, leaseUntil: leaseUntil, transports: Lane.httpTransports, scope: lane == .channels ? .channels : .subscribers,
                limit: settings.httpBatch)
            return try await deliver(batch, using: sendHTTP, now: now)
        case .mail:
            guard settings.smtp != nil || isScripted else { return 0 }
            let batch = try await store.claimDeliveries(
                owner: owner, now: now, leaseUntil: leaseUntil, transports: [.email], scope: .all, limit: settings.mailBatch)
            return try await deliver(batch, using: sendMail, now: now)
        }
    }

    /// Resolves destinations, holds back what a send rate does not allow yet, sends the rest and saves
    /// each attempt's result.
    private func deliver(_ claimed: [ClaimedDelivery], using send: Send, now: Date) async throws -> Int {
        guard !claimed.isEmpty else { return 0 }
        let destinations = try await Destinations.load(for: claimed, store: store)
        var outgoing: [Outgoing] = []
        var results: [AttemptResult] = []
        var deferred: [DeferredDelivery] = []
        for item in claimed {
            switch destinations.resolve(item, settings: settings, now: now) {
            case .failure(let failure):
                results.append(DeliveryPolicy.result(
                    of: .gone(statusCode: nil, reason: failure.reason), delivery: item.delivery, startedAt: now, latencyMilliseconds: 0, now: now,
                    random: random()).withoutStop)
            case .success(let next):
                if let until = rates.take(next.rateKey, transport: item.delivery.transport, now: now) {
                    deferred.append(DeferredDelivery(deliveryID: item.delivery.id, until: until))
                } else {
                    outgoing.append(next)
                }
            }
        }
        try await store.deferDeliveries(deferred, owner: owner)
        let started = clock.now
        let clockStart = ContinuousClock.now
        let outcomes = outgoing.isEmpty ? [] : await send(outgoing)
        let latency = Int((ContinuousClock.now - clockStart) / .milliseconds(1)) / max(1, outgoing.count)
        let finished = clock.now
        var unsent: [DeferredDelivery] = []
        for (index, item) in outgoing.enumerated() {
            guard index < outcomes.count, let outcome = outcomes[index] else {
                unsent.append(DeferredDelivery(deliveryID: item.claimed.delivery.id, until: finished))
                continue
            }
            let measured = item.latencyMilliseconds ?? latency
            results.append(DeliveryPolicy.result(
                of: outcome, delivery: item.claimed.delivery, startedAt: started, latencyMilliseconds: measured, now: finished, random: random()))
            if case .delivered = outcome {} else {
                logger.warning(
                    "delivery attempt failed",
                    metadata: ["delivery": "\(item.claimed.delivery.id)", "transport": "\(item.claimed.delivery.transport.rawValue)",
                               "reason": "\(outcome.reason ?? "")"])
            }
        }
        try await store.deferDeliveries(unsent, owner: owner)
        let saved = try await store.completeAttempts(results, owner: owner, now: finished)
        if saved < results.count {
            logger.warning("lost the lease on some deliveries; another dispatcher took them", metadata: ["lost": "\(results.count - saved)"])
        }
        return claimed.count
    }

    /// Queues a channel's test message now, outside the event log.
    public func test(channel: NotificationChannel) async throws -> Delivery {
        let now = clock.now
        let message = NotificationMessage.test(channelName: channel.name, now: now)
        let nonce = String(UInt64.random(in: .min ... .max), radix: 36)
        let delivery = Delivery(
            key: Delivery.key(eventSequence: 0, topic: .test, destination: .channel(channel.id), nonce: nonce), destination: .channel(channel.id),
            transport: Transport(channel.kind), topic: .test, nextAttemptAt: now, createdAt: now)
        let saved = try await store.enqueueDirect(message, deliveries: [delivery])
        wake()
        guard let first = saved.first else { throw DomainError.conflict(code: "not_queued", message: "the test message was not queued") }
        return first
    }

    /// Wakes the dispatcher (after a re-send, a subscriber's confirmation mail).
    public nonisolated func wake() {
        planBell.ring()
        for bell in laneBells.values { bell.ring() }
    }
}

extension AttemptResult {
    /// A destination that no longer exists or is turned off kills the delivery, but has nothing left to stop.
    var withoutStop: AttemptResult {
        var copy = self
        copy.stopDestination = nil
        return copy
    }
}
