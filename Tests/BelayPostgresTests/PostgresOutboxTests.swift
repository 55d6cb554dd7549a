import BelayCore
import BelayPostgres
import Foundation
import PostgresNIO
import Testing

/// The outbox on PostgreSQL: what StoreContract+Outbox checks on SQLite, and what replicas add (two
/// dispatchers claiming at once).
@Suite(.enabled(if: TestDatabase.isAvailable, "needs BELAY_TEST_POSTGRES_URL"))
struct PostgresOutboxTests {
    /// A fraction of a second, so times must come back exactly.
    static let now = Date(timeIntervalSince1970: 1_790_000_000.125)

    static func channel(name: String = "hook") -> NotificationChannel {
        NotificationChannel(
            name: name, kind: .webhook, url: "https://hooks.example.com/in", rule: NotificationRule(severities: [.sev1], components: ["api"]),
            allowedNetworks: ["10.0.0.0/8"], secret: "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=", createdBy: "a", createdAt: now)
    }

    static func batch(sequence: Int64, to destinations: [DeliveryDestination], transport: Transport = .webhook, incidentID: Int64? = 1) -> OutboxBatch {
        let message = NotificationMessage(
            topic: .incidentDeclared, eventSequence: sequence, occurredAt: now, title: "Checkout errors", status: "investigating", severity: .sev2,
            isPublic: true, incidentID: incidentID)
        let deliveries = destinations.map {
            Delivery(
                key: Delivery.key(eventSequence: sequence, topic: .incidentDeclared, destination: $0), destination: $0, transport: transport,
                topic: .incidentDeclared, incidentID: incidentID, nextAttemptAt: now, createdAt: now)
        }
        return OutboxBatch(entries: [OutboxBatch.Entry(message: message, deliveries: deliveries)])
    }

    static func result(_ delivery: Delivery, outcome: DeliveryState, at: Date, stop: String? = nil) -> AttemptResult {
        AttemptResult(
            attempt: DeliveryAttempt(
                deliveryID: delivery.id, number: delivery.attemptCount + 1, startedAt: at, latencyMilliseconds: 5,
                statusCode: outcome == .delivered ? 200 : nil, error: outcome == .delivered ? nil : "HTTP 500", outcome: outcome),
            nextAttemptAt: nil, stopDestination: stop)
    }

    static func subscriber(_ address: String, state: Subscriber.State = .confirmed, components: [String] = []) -> Subscriber {
        Subscriber(
            kind: .email, address: address, components: components, state: state, token: "token-\(address)-0123456789abcdef", source: "page",
            createdAt: now)
    }

    // MARK: Channels

    @Test func channelsKeepEveryColumnAndDeletingOneEndsWhatWaitsForIt() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        var channel = try await store.createChannel(Self.channel())
        #expect(channel.id > 0)
        #expect(try await store.channel(id: channel.id) == channel)
        channel = try await store.updateChannel(id: channel.id) { $0.rotate(to: "whsec_bmV3LXNlY3JldC1uZXctc2VjcmV0", now: Self.now) }
        let stored = try #require(try await store.channel(id: channel.id))
        #expect(stored == channel)
        #expect(stored.previousSecretUntil == Self.now.addingTimeInterval(NotificationChannel.rotationOverlap))
        #expect(stored.rule.components == ["api"])
        let second = try await store.createChannel(Self.channel(name: "second"))
        #expect(try await store.channels().map(\.name) == ["hook", "second"])
        await #expect(throws: DomainError.self) { _ = try await store.updateChannel(id: 999) { $0.name = "x" } }

        _ = try await store.enqueue(Self.batch(sequence: 1, to: [.channel(channel.id), .channel(second.id)]), expected: nil, cursor: 1)
        try await store.deleteChannel(id: channel.id)
        await #expect(throws: DomainError.self) { try await store.deleteChannel(id: channel.id) }
        #expect(try await store.channel(id: channel.id) == nil)
        let dead = try await store.deliveries(DeliveryQuery(states: [.dead]))
        #expect(dead.map(\.destination) == [.channel(channel.id)])
        #expect(dead.first?.lastError == "the channel was deleted")
        #expect(try await store.deliveryCounts() == [.pending: 1, .dead: 1])
    }

    // MARK: Subscribers

    @Test func subscribersAreUniquePerKindAndAddressFoundByTokenCountedAndPruned() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let saved = try await store.saveSubscribers([
            Self.subscriber("a@example.com", state: .pending, components: ["api"]), Self.subscriber("b@example.com"),
        ])
        #expect(saved.map(\.id).allSatisfy { $0 > 0 })
        #expect(Set(saved.map(\.id)).count == 2)
        await #expect(throws: DomainError.self) { _ = try await store.saveSubscribers([Self.subscriber("a@example.com")]) }
        #expect(try await store.subscriber(token: "token-a@example.com-0123456789abcdef")?.components == ["api"])
        #expect(try await store.subscriber(kind: .email, address: "b@example.com")?.state == .confirmed)
        #expect(try await store.subscriber(id: saved[1].id) == saved[1])
        #expect(try await store.subscribers(SubscriberQuery(state: .confirmed)).map(\.address) == ["b@example.com"])
        #expect(try await store.subscribers(SubscriberQuery(ids: [saved[0].id])).map(\.address) == ["a@example.com"])
        #expect(try await store.subscribers(SubscriberQuery(ids: [])).isEmpty)
        #expect(try await store.subscribers(SubscriberQuery(limit: 1)).map(\.address) == ["a@example.com"])
        #expect(try await store.subscribers(SubscriberQuery(afterID: saved[0].id)).map(\.address) == ["b@example.com"])
        #expect(try await store.subscribers(SubscriberQuery(kind: .webhook)).isEmpty)
        #expect(try await store.subscriberCounts() == [.pending: 1, .confirmed: 1])

        // An update and an insert together, in order: the update frees an address the insert then takes.
        var moved = saved[1]
        moved.address = "c@example.com"
        var newcomer = Self.subscriber("b@example.com", state: .pending)
        newcomer.token = "token-newcomer-0123456789abcdef"
        let next = try await store.saveSubscribers([moved, newcomer])
        #expect(next[0].id == saved[1].id)
        #expect(next[1].id > saved[1].id)
        #expect(try await store.subscriber(id: saved[1].id)?.address == "c@example.com")
        var ghost = moved
        ghost.id = 999
        await #expect(throws: DomainError.self) { _ = try await store.saveSubscribers([ghost]) }

        // An opt-in never followed is deleted after a while; confirmed subscribers stay.
        #expect(try await store.prunePendingSubscribers(before: Self.now) == 0)
        #expect(try await store.prunePendingSubscribers(before: Self.now + 1) == 2)
        #expect(try await store.subscriberCounts() == [.confirmed: 1])

        _ = try await store.enqueue(Self.batch(sequence: 1, to: [.subscriber(moved.id)], transport: .email), expected: nil, cursor: 1)
        try await store.deleteSubscriber(id: moved.id)
        await #expect(throws: DomainError.self) { try await store.deleteSubscriber(id: moved.id) }
        #expect(try await store.deliveries(DeliveryQuery()).map(\.lastError) == ["the subscriber was removed"])
    }

    @Test func aBounceStopsTheSubscriberAndEndsWhatElseWaitedForIt() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let subscriber = try #require(try await store.saveSubscribers([Self.subscriber("a@example.com")]).first)
        _ = try await store.enqueue(
            Self.batch(sequence: 1, to: [.subscriber(subscriber.id)], transport: .email)
                + Self.batch(sequence: 2, to: [.subscriber(subscriber.id)], transport: .email),
            expected: nil, cursor: 2)
        let claimed = try await store.claimDeliveries(owner: "a", now: Self.now, leaseUntil: Self.now + 60, transports: [.email], limit: 1)
        try await store.completeAttempts([Self.result(claimed[0].delivery, outcome: .dead, at: Self.now, stop: "SMTP 550 no such user")], owner: "a", now: Self.now)
        let stopped = try #require(try await store.subscriber(id: subscriber.id))
        #expect(stopped.state == .stopped)
        #expect(stopped.stopReason == "SMTP 550 no such user")
        #expect(try await store.deliveryCounts() == [.dead: 2])
    }

    // MARK: The cursor and enqueue

    @Test func theCursorMovesOnlyFromTheValueADispatcherReadWithItsDeliveries() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        #expect(try await store.outboxCursor() == nil)
        #expect(try await store.enqueue(OutboxBatch(), expected: nil, cursor: 5))
        #expect(try await store.outboxCursor() == 5)
        let channel = try await store.createChannel(Self.channel())
        let batch = Self.batch(sequence: 6, to: [.channel(channel.id)])
        #expect(try await store.enqueue(batch, expected: 4, cursor: 6) == false)
        #expect(try await store.deliveries(DeliveryQuery()).isEmpty)
        #expect(try await store.enqueue(batch, expected: 5, cursor: 6))
        #expect(try await store.outboxCursor() == 6)
        let saved = try await store.deliveries(DeliveryQuery())
        #expect(saved.map(\.key) == ["msg_6_c\(channel.id)"])
        #expect(saved.first?.state == .pending)
        #expect(saved.first?.nextAttemptAt == Self.now)
        #expect(try await store.message(id: try #require(saved.first).messageID) == batch.entries[0].message)
        // The same key never makes a second delivery.
        #expect(try await store.enqueue(batch, expected: 6, cursor: 7))
        #expect(try await store.deliveries(DeliveryQuery()).count == 1)
        #expect(try await store.outboxCursor() == 7)
    }

    @Test func aLargeFanOutIsSavedWholeAndSavingItAgainAddsNothing() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let batch = Self.batch(sequence: 3, to: (1...1_234).map { .subscriber(Int64($0)) }, transport: .email)
        #expect(try await store.enqueue(batch, expected: nil, cursor: 3))
        #expect(try await store.deliveryCounts() == [.pending: 1_234])
        // A dispatcher that crashed after saving part of it plans the same events again.
        #expect(try await store.enqueue(batch, expected: 3, cursor: 3))
        #expect(try await store.deliveryCounts() == [.pending: 1_234])
        #expect(try await store.enqueue(batch, expected: 2, cursor: 3) == false)
        let page = try await store.deliveries(DeliveryQuery(limit: 10))
        #expect(page.count == 10)
        let older = try await store.deliveries(DeliveryQuery(limit: 10, beforeID: try #require(page.last).id))
        #expect(older.map(\.id) == page.map { $0.id - 10 })
        #expect(try await store.deliveries(DeliveryQuery(limit: 5_000)).count == 1_000)
    }

    @Test func announcementsToSubscribersAreKeptForDamping() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        var batch = Self.batch(sequence: 1, to: [])
        batch.entries[0].announcement = SubscriberAnnouncement(incidentID: 7, components: ["api"], at: Self.now, damped: false)
        var damped = Self.batch(sequence: 2, to: [])
        damped.entries[0].announcement = SubscriberAnnouncement(incidentID: 8, components: ["web"], at: Self.now - 3_600, damped: true)
        _ = try await store.enqueue(batch + damped, expected: nil, cursor: 2)
        #expect(try await store.subscriberAnnouncements(since: Self.now - 60) == [
            damped.entries[0].announcement, batch.entries[0].announcement,
        ].compactMap { $0 })
        #expect(try await store.subscriberAnnouncements(since: Self.now + 60).map(\.incidentID) == [8])
        // Announcing the same incident again replaces its record.
        var again = Self.batch(sequence: 3, to: [])
        again.entries[0].announcement = SubscriberAnnouncement(incidentID: 8, components: ["web"], at: Self.now, damped: false)
        _ = try await store.enqueue(again, expected: 2, cursor: 3)
        #expect(try await store.subscriberAnnouncements(since: Self.now + 60).isEmpty)
    }

    // MARK: Claims, leases and attempts

    @Test func aClaimedDeliveryIsLeasedToOneDispatcherUntilTheLeaseExpires() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let channel = try await store.createChannel(Self.channel())
        _ = try await store.enqueue(Self.batch(sequence: 1, to: [.channel(channel.id)]), expected: nil, cursor: 1)
        let now = Self.now
        let first = try await store.claimDeliveries(owner: "a", now: now, leaseUntil: now + 60, transports: [.webhook], limit: 10)
        #expect(first.count == 1)
        #expect(first.first?.delivery.state == .sending)
        #expect(first.first?.message.title == "Checkout errors")
        #expect(try await store.nextDueAt() == now + 60)
        #expect(try await store.claimDeliveries(owner: "b", now: now + 30, leaseUntil: now + 90, transports: [.webhook], limit: 10).isEmpty)
        #expect(try await store.claimDeliveries(owner: "b", now: now, leaseUntil: now + 60, transports: [.email], limit: 10).isEmpty)
        #expect(try await store.claimDeliveries(owner: "b", now: now + 61, leaseUntil: now + 121, transports: [.webhook], scope: .subscribers, limit: 10).isEmpty)
        // "a" died mid-send: after the lease, "b" takes the same delivery, with the same key.
        let second = try await store.claimDeliveries(owner: "b", now: now + 61, leaseUntil: now + 121, transports: [.webhook], scope: .channels, limit: 10)
        #expect(second.map(\.delivery.key) == first.map(\.delivery.key))
        // "a" comes back late: its result is dropped, because the lease is no longer its own.
        #expect(try await store.completeAttempts([Self.result(first[0].delivery, outcome: .delivered, at: now + 62)], owner: "a", now: now + 62) == 0)
        let done = Self.result(second[0].delivery, outcome: .delivered, at: now + 63)
        // A result given twice is saved once.
        #expect(try await store.completeAttempts([done, done], owner: "b", now: now + 63) == 1)
        let (stored, attempts) = try #require(try await store.deliveryWithAttempts(id: second[0].delivery.id))
        #expect(stored.state == .delivered)
        #expect(stored.attemptCount == 1)
        #expect(stored.deliveredAt == now + 63)
        #expect(attempts == [DeliveryAttempt(deliveryID: stored.id, number: 1, startedAt: now + 63, latencyMilliseconds: 5, statusCode: 200, error: nil, outcome: .delivered)])
        #expect(try await store.attempts(deliveryID: stored.id) == attempts)
        #expect(try await store.nextDueAt() == nil)
        await #expect(throws: DomainError.self) { _ = try await store.resend(deliveryID: stored.id, now: now + 64) }
        await #expect(throws: DomainError.self) { _ = try await store.resend(deliveryID: 999, now: now + 64) }
    }

    @Test func aFailedAttemptWaitsForItsTimeA410DisablesTheChannelAndADeadLetterCanBeResent() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let channel = try await store.createChannel(Self.channel())
        _ = try await store.enqueue(
            Self.batch(sequence: 1, to: [.channel(channel.id)]) + Self.batch(sequence: 2, to: [.channel(channel.id)]), expected: nil, cursor: 2)
        let now = Self.now
        let claimed = try await store.claimDeliveries(owner: "a", now: now, leaseUntil: now + 60, transports: [.webhook], limit: 1)
        var failed = Self.result(claimed[0].delivery, outcome: .failed, at: now)
        failed.nextAttemptAt = now + 300
        try await store.completeAttempts([failed], owner: "a", now: now)
        #expect(try await store.delivery(id: claimed[0].delivery.id)?.nextAttemptAt == now + 300)
        #expect(try await store.nextDueAt() == now)
        let other = try await store.claimDeliveries(owner: "a", now: now + 1, leaseUntil: now + 61, transports: [.webhook], limit: 10)
        #expect(other.count == 1)
        #expect(other[0].delivery.id != claimed[0].delivery.id)
        try await store.completeAttempts([Self.result(other[0].delivery, outcome: .dead, at: now + 1, stop: "HTTP 410 Gone")], owner: "a", now: now + 1)
        let disabled = try #require(try await store.channel(id: channel.id))
        #expect(disabled.isEnabled == false)
        #expect(disabled.disabledReason == "HTTP 410 Gone")
        // The first delivery was waiting for its retry: the channel's end ends it too.
        #expect(try await store.delivery(id: claimed[0].delivery.id)?.state == .dead)
        let again = try await store.resend(deliveryID: other[0].delivery.id, now: now + 2)
        #expect(again.state == .failed)
        #expect(again.key == other[0].delivery.key)
        #expect(try await store.claimDeliveries(owner: "a", now: now + 2, leaseUntil: now + 62, transports: [.webhook], limit: 10).count == 1)
        #expect(try await store.deliveryCounts() == [.sending: 1, .dead: 1])
        #expect(try await store.attempts(deliveryID: other[0].delivery.id).map(\.number) == [1])
    }

    @Test func aStopEndsOnlyWhatWaitsWhenItIsSavedAsOneByOne() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let channel = try await store.createChannel(Self.channel())
        _ = try await store.enqueue(
            Self.batch(sequence: 1, to: [.channel(channel.id)]) + Self.batch(sequence: 2, to: [.channel(channel.id)])
                + Self.batch(sequence: 3, to: [.channel(channel.id)]),
            expected: nil, cursor: 3)
        let now = Self.now
        let claimed = try await store.claimDeliveries(owner: "a", now: now, leaseUntil: now + 60, transports: [.webhook], limit: 10)
        #expect(claimed.map(\.delivery.key) == ["msg_1_c\(channel.id)", "msg_2_c\(channel.id)", "msg_3_c\(channel.id)"])
        // Failed before the 410 is saved: ended by it. Failed after: saved after the stop, so it waits.
        var before = Self.result(claimed[0].delivery, outcome: .failed, at: now)
        before.nextAttemptAt = now + 300
        var after = Self.result(claimed[2].delivery, outcome: .failed, at: now)
        after.nextAttemptAt = now + 300
        let gone = Self.result(claimed[1].delivery, outcome: .dead, at: now, stop: "HTTP 410 Gone")
        #expect(try await store.completeAttempts([before, gone, after], owner: "a", now: now) == 3)
        #expect(try await store.delivery(id: claimed[0].delivery.id)?.state == .dead)
        #expect(try await store.delivery(id: claimed[2].delivery.id)?.state == .failed)
    }

    @Test func aDeferredDeliveryGoesBackToWaitingWithoutSpendingAnAttempt() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let channel = try await store.createChannel(Self.channel())
        _ = try await store.enqueue(Self.batch(sequence: 1, to: [.channel(channel.id)]), expected: nil, cursor: 1)
        let now = Self.now
        let claimed = try await store.claimDeliveries(owner: "a", now: now, leaseUntil: now + 60, transports: [.webhook], limit: 1)
        // Only the holder of the lease can put it back.
        try await store.deferDeliveries([DeferredDelivery(deliveryID: claimed[0].delivery.id, until: now + 1)], owner: "b")
        #expect(try await store.delivery(id: claimed[0].delivery.id)?.state == .sending)
        try await store.deferDeliveries([DeferredDelivery(deliveryID: claimed[0].delivery.id, until: now + 2)], owner: "a")
        let stored = try #require(try await store.delivery(id: claimed[0].delivery.id))
        #expect(stored.state == .pending)
        #expect(stored.attemptCount == 0)
        #expect(stored.nextAttemptAt == now + 2)
        #expect(try await store.claimDeliveries(owner: "b", now: now + 1, leaseUntil: now + 61, transports: [.webhook], limit: 1).isEmpty)
        #expect(try await store.claimDeliveries(owner: "b", now: now + 2, leaseUntil: now + 62, transports: [.webhook], limit: 1).count == 1)
    }

    @Test func aDirectMessageGetsItsIdsAndTheQueriesFilterByStateDestinationAndIncident() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let channel = try await store.createChannel(Self.channel())
        _ = try await store.enqueue(
            Self.batch(sequence: 1, to: [.channel(channel.id), .subscriber(5)]) + Self.batch(sequence: 2, to: [.channel(channel.id)], incidentID: 2),
            expected: nil, cursor: 2)
        let test = Self.batch(sequence: 0, to: [], incidentID: nil).entries[0].message
        let destination = DeliveryDestination.channel(channel.id)
        let direct = try await store.enqueueDirect(test, deliveries: [
            Delivery(
                key: Delivery.key(eventSequence: 0, topic: .incidentDeclared, destination: destination, nonce: "test1"), destination: destination,
                transport: .webhook, topic: .incidentDeclared, nextAttemptAt: Self.now, createdAt: Self.now),
        ])
        let sent = try #require(direct.first)
        #expect(sent.id > 0)
        #expect(try await store.delivery(id: sent.id) == sent)
        #expect(try await store.message(id: sent.messageID) == test)
        #expect(try await store.message(id: 999) == nil)
        #expect(try await store.deliveries(DeliveryQuery(destination: destination)).count == 3)
        #expect(try await store.deliveries(DeliveryQuery(destination: .subscriber(5))).map(\.key) == ["msg_1_s5"])
        #expect(try await store.deliveries(DeliveryQuery(incidentID: 2)).map(\.key) == ["msg_2_c\(channel.id)"])
        #expect(try await store.deliveries(DeliveryQuery(states: [.pending, .failed])).count == 4)
        #expect(try await store.deliveries(DeliveryQuery(states: [.delivered])).isEmpty)
        // Each scope takes only its own.
        let subscribers = try await store.claimDeliveries(owner: "a", now: Self.now, leaseUntil: Self.now + 60, transports: [.webhook], scope: .subscribers, limit: 10)
        #expect(subscribers.map(\.delivery.destination) == [.subscriber(5)])
        let channels = try await store.claimDeliveries(owner: "a", now: Self.now, leaseUntil: Self.now + 60, transports: Set(Transport.allCases), scope: .channels, limit: 10)
        #expect(channels.count == 3)
        #expect(channels.first { $0.delivery.id == sent.id }?.message == test)
    }

    /// Two replicas, each its own pool on one database, claiming at once: every delivery goes to exactly one.
    @Test func twoConcurrentClaimersNeverGetTheSameDelivery() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let replica = try await Self.replica(of: store)
        defer { replica.close() }
        let total = 300
        _ = try await store.enqueue(Self.batch(sequence: 1, to: (1...total).map { .subscriber(Int64($0)) }, transport: .email), expected: nil, cursor: 1)
        let now = Self.now
        async let first = Self.drain(store, owner: "a", now: now)
        async let second = Self.drain(replica, owner: "b", now: now)
        let (a, b) = try await (first, second)
        #expect(a.count + b.count == total)
        #expect(Set(a).isDisjoint(with: Set(b)))
        #expect(Set(a + b).count == total)
        #expect(try await store.deliveryCounts() == [.sending: total])
    }

    /// A delivery whose row another transaction holds (a replica mid-claim) is passed over, not waited for.
    @Test func aClaimSkipsADeliveryAnotherTransactionHoldsInsteadOfWaiting() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let channel = try await store.createChannel(Self.channel())
        _ = try await store.enqueue(
            Self.batch(sequence: 1, to: [.channel(channel.id)]) + Self.batch(sequence: 2, to: [.channel(channel.id)]), expected: nil, cursor: 2)
        let waiting = try await store.deliveries(DeliveryQuery()).map(\.id).sorted()
        let held = try #require(waiting.first)
        let now = Self.now
        let claimed = try await store.client.withTransaction(logger: TestDatabase.logger) { connection in
            // Were the claim to wait for this row, it would wait for this transaction, which waits for the
            // claim: the server ends this idle transaction instead, so the test fails rather than hangs.
            try await connection.query("SET LOCAL idle_in_transaction_session_timeout = '30s'", logger: TestDatabase.logger)
            try await connection.query("SELECT id FROM delivery WHERE id = \(held) FOR UPDATE", logger: TestDatabase.logger)
            return try await store.claimDeliveries(owner: "a", now: now, leaseUntil: now + 60, transports: [.webhook], limit: 10)
        }
        #expect(claimed.map(\.delivery.id) == Array(waiting.dropFirst()))
        #expect(try await store.delivery(id: held)?.state == .pending)
    }

    /// Claims in small batches until nothing is left; returns the ids it got.
    static func drain(_ store: PostgresStore, owner: String, now: Date) async throws -> [Int64] {
        var ids: [Int64] = []
        while true {
            let batch = try await store.claimDeliveries(owner: owner, now: now, leaseUntil: now + 600, transports: [.email], limit: 7)
            if batch.isEmpty { return ids }
            ids += batch.map(\.delivery.id)
            await Task.yield()
        }
    }

    /// A second store on `store`'s schema, as another replica would have.
    static func replica(of store: PostgresStore) async throws -> PostgresStore {
        var schema = ""
        for try await name in try await store.client.query("SELECT current_schema()", logger: TestDatabase.logger).decode(String.self) { schema = name }
        let url = try #require(TestDatabase.url)
        var configuration = try PostgresURL.parse(url).configuration
        configuration.options.additionalStartupParameters = [("search_path", schema)]
        configuration.options.maximumConnections = 4
        return PostgresStore(configuration: configuration, logger: TestDatabase.logger, operationTimeout: TestDatabase.operationTimeout)
    }
}

extension OutboxBatch {
    static func + (lhs: OutboxBatch, rhs: OutboxBatch) -> OutboxBatch { OutboxBatch(entries: lhs.entries + rhs.entries) }
}
