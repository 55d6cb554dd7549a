import BelayCore
import Foundation
import Testing

extension StoreContract {
    static let outbox: [StoreContract] = [
        StoreContract("the outbox cursor moves only from the value a dispatcher read, with its deliveries") { store in
            #expect(try await store.outboxCursor() == nil)
            #expect(try await store.enqueue(OutboxBatch(), expected: nil, cursor: 5))
            let channel = try await store.createChannel(OutboxFixtures.channel())
            let batch = OutboxFixtures.batch(sequence: 6, to: [.channel(channel.id)])
            // Another dispatcher moved the cursor first: this one's batch is not saved.
            #expect(try await store.enqueue(batch, expected: 4, cursor: 6) == false)
            #expect(try await store.deliveries(DeliveryQuery()).isEmpty)
            #expect(try await store.enqueue(batch, expected: 5, cursor: 6))
            #expect(try await store.outboxCursor() == 6)
            let saved = try await store.deliveries(DeliveryQuery())
            #expect(saved.map(\.key) == ["msg_6_c\(channel.id)"])
            #expect(saved.first?.state == .pending)
            // The same key never makes a second delivery.
            #expect(try await store.enqueue(batch, expected: 6, cursor: 7))
            #expect(try await store.deliveries(DeliveryQuery()).count == 1)
        },
        StoreContract("a large fan-out is saved whole, and saving it again adds nothing") { (store: any BelayStore) async throws in
            let destinations = (1...1_234).map { DeliveryDestination.subscriber(Int64($0)) }
            let batch = OutboxFixtures.batch(sequence: 3, to: destinations, transport: .email)
            #expect(try await store.enqueue(batch, expected: nil, cursor: 3))
            #expect(try await store.deliveryCounts() == [.pending: 1_234])
            // A dispatcher that crashed after saving part of it plans the same events again.
            #expect(try await store.enqueue(batch, expected: 3, cursor: 3))
            #expect(try await store.deliveryCounts() == [.pending: 1_234])
            #expect(try await store.enqueue(batch, expected: 2, cursor: 3) == false)
        },
        StoreContract("a claimed delivery is leased to one dispatcher until the lease expires") { store in
            let channel = try await store.createChannel(OutboxFixtures.channel())
            _ = try await store.enqueue(OutboxFixtures.batch(sequence: 1, to: [.channel(channel.id)]), expected: nil, cursor: 1)
            let now = ContractFixtures.now
            let first = try await store.claimDeliveries(owner: "a", now: now, leaseUntil: now + 60, transports: [.webhook], limit: 10)
            #expect(first.count == 1)
            #expect(first.first?.message.title == "Checkout errors")
            #expect(try await store.claimDeliveries(owner: "b", now: now + 30, leaseUntil: now + 90, transports: [.webhook], limit: 10).isEmpty)
            #expect(try await store.claimDeliveries(owner: "b", now: now, leaseUntil: now + 60, transports: [.email], limit: 10).isEmpty)
            // "a" died mid-send: after the lease, "b" takes the same delivery, with the same key.
            let second = try await store.claimDeliveries(owner: "b", now: now + 61, leaseUntil: now + 121, transports: [.webhook], limit: 10)
            #expect(second.map(\.delivery.key) == first.map(\.delivery.key))
            // "a" comes back late: its result is dropped, because the lease is no longer its own.
            let late = OutboxFixtures.result(first[0].delivery, outcome: .delivered, at: now + 62)
            #expect(try await store.completeAttempts([late], owner: "a", now: now + 62) == 0)
            let done = OutboxFixtures.result(second[0].delivery, outcome: .delivered, at: now + 63)
            #expect(try await store.completeAttempts([done], owner: "b", now: now + 63) == 1)
            let stored = try #require(try await store.delivery(id: second[0].delivery.id))
            #expect(stored.state == .delivered)
            #expect(stored.attemptCount == 1)
            #expect(try await store.attempts(deliveryID: stored.id).map(\.number) == [1])
        },
        StoreContract("a failed attempt waits for its time, a 410 disables the channel, and a dead letter can be re-sent") { store in
            let channel = try await store.createChannel(OutboxFixtures.channel())
            _ = try await store.enqueue(
                OutboxFixtures.batch(sequence: 1, to: [.channel(channel.id)]) + OutboxFixtures.batch(sequence: 2, to: [.channel(channel.id)]),
                expected: nil, cursor: 2)
            let now = ContractFixtures.now
            let claimed = try await store.claimDeliveries(owner: "a", now: now, leaseUntil: now + 60, transports: [.webhook], limit: 1)
            var failed = OutboxFixtures.result(claimed[0].delivery, outcome: .failed, at: now)
            failed.nextAttemptAt = now + 300
            try await store.completeAttempts([failed], owner: "a", now: now)
            #expect(try await store.nextDueAt() == now)
            let other = try await store.claimDeliveries(owner: "a", now: now + 1, leaseUntil: now + 61, transports: [.webhook], limit: 10)
            #expect(other.count == 1)
            #expect(other[0].delivery.id != claimed[0].delivery.id)
            var gone = OutboxFixtures.result(other[0].delivery, outcome: .dead, at: now + 1)
            gone.stopDestination = "HTTP 410 Gone"
            try await store.completeAttempts([gone], owner: "a", now: now + 1)
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
        },
        StoreContract("a deferred delivery goes back to waiting without spending an attempt") { store in
            let channel = try await store.createChannel(OutboxFixtures.channel())
            _ = try await store.enqueue(OutboxFixtures.batch(sequence: 1, to: [.channel(channel.id)]), expected: nil, cursor: 1)
            let now = ContractFixtures.now
            let claimed = try await store.claimDeliveries(owner: "a", now: now, leaseUntil: now + 60, transports: [.webhook], limit: 1)
            try await store.deferDeliveries([DeferredDelivery(deliveryID: claimed[0].delivery.id, until: now + 2)], owner: "a")
            let stored = try #require(try await store.delivery(id: claimed[0].delivery.id))
            #expect(stored.state == .pending)
            #expect(stored.attemptCount == 0)
            #expect(try await store.claimDeliveries(owner: "b", now: now + 1, leaseUntil: now + 61, transports: [.webhook], limit: 1).isEmpty)
            #expect(try await store.claimDeliveries(owner: "b", now: now + 2, leaseUntil: now + 62, transports: [.webhook], limit: 1).count == 1)
        },
        StoreContract("subscribers are unique per kind and address, found by token, and counted by state") { store in
            let now = ContractFixtures.now
            let saved = try await store.saveSubscribers([
                Subscriber(kind: .email, address: "a@example.com", components: ["api"], state: .pending, token: "token-a-0123456789abcdef", source: "page", createdAt: now),
                Subscriber(kind: .email, address: "b@example.com", state: .confirmed, token: "token-b-0123456789abcdef", source: "page", createdAt: now),
            ])
            #expect(saved.map(\.id).allSatisfy { $0 > 0 })
            await #expect(throws: DomainError.self) {
                _ = try await store.saveSubscribers([
                    Subscriber(kind: .email, address: "a@example.com", state: .pending, token: "token-c-0123456789abcdef", source: "page", createdAt: now),
                ])
            }
            #expect(try await store.subscriber(token: "token-a-0123456789abcdef")?.components == ["api"])
            #expect(try await store.subscriber(kind: .email, address: "b@example.com")?.state == .confirmed)
            #expect(try await store.subscribers(SubscriberQuery(state: .confirmed)).map(\.address) == ["b@example.com"])
            #expect(try await store.subscribers(SubscriberQuery(ids: [saved[0].id])).map(\.address) == ["a@example.com"])
            #expect(try await store.subscriberCounts() == [.pending: 1, .confirmed: 1])
            // An opt-in never followed is deleted after a while; confirmed subscribers stay.
            #expect(try await store.prunePendingSubscribers(before: now) == 0)
            #expect(try await store.prunePendingSubscribers(before: now + 1) == 1)
            #expect(try await store.subscriberCounts() == [.confirmed: 1])
        },
        StoreContract("a bounce stops the subscriber and ends what else was waiting for it") { store in
            let now = ContractFixtures.now
            let subscriber = try #require(try await store.saveSubscribers([
                Subscriber(kind: .email, address: "a@example.com", state: .confirmed, token: "token-a-0123456789abcdef", source: "page", createdAt: now),
            ]).first)
            _ = try await store.enqueue(
                OutboxFixtures.batch(sequence: 1, to: [.subscriber(subscriber.id)], transport: .email)
                    + OutboxFixtures.batch(sequence: 2, to: [.subscriber(subscriber.id)], transport: .email),
                expected: nil, cursor: 2)
            let claimed = try await store.claimDeliveries(owner: "a", now: now, leaseUntil: now + 60, transports: [.email], limit: 1)
            var bounced = OutboxFixtures.result(claimed[0].delivery, outcome: .dead, at: now)
            bounced.stopDestination = "SMTP 550 no such user"
            try await store.completeAttempts([bounced], owner: "a", now: now)
            #expect(try await store.subscriber(id: subscriber.id)?.state == .stopped)
            #expect(try await store.deliveryCounts() == [.dead: 2])
        },
        StoreContract("announcements to subscribers are kept for damping") { store in
            let now = ContractFixtures.now
            var batch = OutboxFixtures.batch(sequence: 1, to: [])
            batch.entries[0].announcement = SubscriberAnnouncement(incidentID: 7, components: ["api"], at: now, damped: false)
            _ = try await store.enqueue(batch, expected: nil, cursor: 1)
            #expect(try await store.subscriberAnnouncements(since: now - 60) == [SubscriberAnnouncement(incidentID: 7, components: ["api"], at: now, damped: false)])
            #expect(try await store.subscriberAnnouncements(since: now + 60).isEmpty)
        },
    ]
}

/// Values the outbox contracts share.
enum OutboxFixtures {
    static func channel() -> NotificationChannel {
        NotificationChannel(name: "hook", kind: .webhook, url: "https://hooks.example.com/in", secret: "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=", createdBy: "a", createdAt: ContractFixtures.now)
    }

    static func batch(sequence: Int64, to destinations: [DeliveryDestination], transport: Transport = .webhook) -> OutboxBatch {
        let now = ContractFixtures.now
        let message = NotificationMessage(
            topic: .incidentDeclared, eventSequence: sequence, occurredAt: now, title: "Checkout errors", status: "investigating", severity: .sev2,
            isPublic: true, incidentID: 1)
        let deliveries = destinations.map {
            Delivery(
                key: Delivery.key(eventSequence: sequence, topic: .incidentDeclared, destination: $0), destination: $0, transport: transport,
                topic: .incidentDeclared, incidentID: 1, nextAttemptAt: now, createdAt: now)
        }
        return OutboxBatch(entries: [OutboxBatch.Entry(message: message, deliveries: deliveries)])
    }

    static func result(_ delivery: Delivery, outcome: DeliveryState, at: Date) -> AttemptResult {
        AttemptResult(attempt: DeliveryAttempt(
            deliveryID: delivery.id, number: delivery.attemptCount + 1, startedAt: at, latencyMilliseconds: 5, statusCode: outcome == .delivered ? 200 : 500,
            error: outcome == .delivered ? nil : "HTTP 500", outcome: outcome), nextAttemptAt: nil)
    }
}

extension OutboxBatch {
    static func + (lhs: OutboxBatch, rhs: OutboxBatch) -> OutboxBatch { OutboxBatch(entries: lhs.entries + rhs.entries) }
}
