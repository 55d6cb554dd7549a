import BelayCore
import Foundation
import GRDB

/// The outbox: its cursor on the event log, messages, deliveries with their leases, and attempts.
extension AppDatabase: NotificationStore {
    static func delivery(_ row: Row) throws -> Delivery {
        let id: Int64 = row["destinationId"]
        let destination: DeliveryDestination = (row["destinationKind"] as String) == "channel" ? .channel(id) : .subscriber(id)
        return Delivery(
            id: row["id"], key: row["key"], messageID: row["messageId"], destination: destination,
            transport: try decode(Transport.self, row["transport"]), topic: try decode(NotificationTopic.self, row["topic"]),
            incidentID: row["incidentId"], state: try decode(DeliveryState.self, row["state"]), attemptCount: row["attemptCount"],
            nextAttemptAt: row.date("nextAttemptAt"), lastError: row["lastError"], createdAt: row.date("createdAt") ?? .distantPast,
            deliveredAt: row.date("deliveredAt"))
    }

    public func outboxCursor() async throws -> Int64? {
        try await read { db in try Int64.fetchOne(db, sql: "SELECT sequence FROM outbox_cursor WHERE id = 1") }
    }

    /// Deliveries inserted per transaction: a fan-out to 10,000 subscribers is a hundred short writes, so a
    /// request's write never waits long behind one.
    static let enqueueChunk = 100

    public func enqueue(_ batch: OutboxBatch, expected: Int64?, cursor: Int64) async throws -> Bool {
        // Small batches go in the cursor's own transaction. A large one goes in chunks first, which is safe
        // because a delivery's key is unique: after a crash, planning the same events again adds nothing twice.
        var chunks: [[OutboxBatch.Entry]] = [[]]
        var rows = 0
        for entry in batch.entries {
            var remaining = entry.deliveries[...]
            repeat {
                let room = Self.enqueueChunk - rows
                let part = remaining.prefix(max(1, room))
                remaining = remaining.dropFirst(part.count)
                chunks[chunks.count - 1].append(OutboxBatch.Entry(message: entry.message, deliveries: Array(part), announcement: entry.announcement))
                rows += part.count
                if rows >= Self.enqueueChunk {
                    chunks.append([])
                    rows = 0
                }
            } while !remaining.isEmpty
        }
        let last = chunks.removeLast()
        if !chunks.isEmpty {
            guard try await outboxCursor() == expected else { return false }
            for chunk in chunks { try await quietWrite { db in try Self.insert(chunk, db) } }
        }
        return try await quietWrite { db in
            let current = try Int64.fetchOne(db, sql: "SELECT sequence FROM outbox_cursor WHERE id = 1")
            guard current == expected else { return false }
            try db.execute(
                sql: "INSERT INTO outbox_cursor (id, sequence) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET sequence = excluded.sequence",
                arguments: [cursor])
            try Self.insert(last, db)
            return true
        }
    }

    /// Messages with their deliveries (a message split across chunks is saved once per chunk; each
    /// delivery points at one copy) and announcements.
    static func insert(_ entries: [OutboxBatch.Entry], _ db: Database) throws {
        let now = Date().timeIntervalSince1970
        let insertDelivery = try db.cachedStatement(sql: """
            INSERT INTO delivery (key, messageId, destinationKind, destinationId, transport, topic, incidentId, state, nextAttemptAt, createdAt)
            VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (key) DO NOTHING
            """)
        for entry in entries {
            if let announcement = entry.announcement {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO subscriber_announcement (incidentId, components, at, damped) VALUES (?, ?, ?, ?)",
                    arguments: [announcement.incidentID, try JSONColumn.encode(announcement.components), announcement.at.timeIntervalSince1970,
                                announcement.damped])
            }
            guard !entry.deliveries.isEmpty else { continue }
            try Self.insertMessage(entry.message, db)
            let messageID = db.lastInsertedRowID
            for delivery in entry.deliveries {
                let (kind, id) = Self.columns(delivery.destination)
                try insertDelivery.execute(arguments: [
                    delivery.key, messageID, kind, id, delivery.transport.rawValue, delivery.topic.rawValue, delivery.incidentID,
                    delivery.nextAttemptAt?.timeIntervalSince1970 ?? now, delivery.createdAt.timeIntervalSince1970,
                ])
            }
        }
    }

    static func insertMessage(_ message: NotificationMessage, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO notify_message (eventSequence, topic, incidentId, body, createdAt) VALUES (?, ?, ?, ?, ?)",
            arguments: [message.eventSequence, message.topic.rawValue, message.incidentID, try JSONColumn.encode(message),
                        Date().timeIntervalSince1970])
    }

    static func columns(_ destination: DeliveryDestination) -> (String, Int64) {
        switch destination {
        case .channel(let id): ("channel", id)
        case .subscriber(let id): ("subscriber", id)
        }
    }

    /// Saves a message with deliveries made outside the event log (a channel's test); returns them.
    public func enqueueDirect(_ message: NotificationMessage, deliveries: [Delivery]) async throws -> [Delivery] {
        try await quietWrite { db in
            try Self.insertMessage(message, db)
            let messageID = db.lastInsertedRowID
            return try deliveries.map { delivery in
                let (kind, id) = Self.columns(delivery.destination)
                try db.execute(sql: """
                    INSERT INTO delivery (key, messageId, destinationKind, destinationId, transport, topic, incidentId, state, nextAttemptAt, createdAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)
                    """, arguments: [delivery.key, messageID, kind, id, delivery.transport.rawValue, delivery.topic.rawValue, delivery.incidentID,
                                     delivery.nextAttemptAt?.timeIntervalSince1970, delivery.createdAt.timeIntervalSince1970])
                var saved = delivery
                saved.id = db.lastInsertedRowID
                saved.messageID = messageID
                return saved
            }
        }
    }

    public func claimDeliveries(
        owner: String, now: Date, leaseUntil: Date, transports: Set<Transport>, scope: ClaimScope, limit: Int
    ) async throws -> [ClaimedDelivery] {
        guard !transports.isEmpty, limit > 0 else { return [] }
        let kinds = transports.map(\.rawValue)
        let destination = switch scope {
        case .all: ""
        case .channels: " AND destinationKind = 'channel'"
        case .subscribers: " AND destinationKind = 'subscriber'"
        }
        return try await quietWrite { db in
            let marks = databaseQuestionMarks(count: kinds.count)
            let t = now.timeIntervalSince1970
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM (
                  SELECT * FROM delivery WHERE state IN ('pending', 'failed') AND nextAttemptAt <= ? AND transport IN (\(marks))\(destination)
                  UNION ALL
                  SELECT * FROM delivery WHERE state = 'sending' AND leaseUntil <= ? AND transport IN (\(marks))\(destination))
                ORDER BY nextAttemptAt, id LIMIT ?
                """, arguments: StatementArguments([t] + kinds.map { $0 as any DatabaseValueConvertible } + [t] + kinds + [limit]))
            guard !rows.isEmpty else { return [] }
            var claimed: [ClaimedDelivery] = []
            var messages: [Int64: NotificationMessage] = [:]
            let lease = try db.cachedStatement(sql: "UPDATE delivery SET state = 'sending', leaseOwner = ?, leaseUntil = ? WHERE id = ?")
            for row in rows {
                var delivery = try Self.delivery(row)
                try lease.execute(arguments: [owner, leaseUntil.timeIntervalSince1970, delivery.id])
                delivery.state = .sending
                if messages[delivery.messageID] == nil,
                   let body = try String.fetchOne(db, sql: "SELECT body FROM notify_message WHERE id = ?", arguments: [delivery.messageID]) {
                    messages[delivery.messageID] = try JSONColumn.decode(NotificationMessage.self, body)
                }
                guard let message = messages[delivery.messageID] else { continue }
                claimed.append(ClaimedDelivery(delivery: delivery, message: message))
            }
            return claimed
        }
    }

    @discardableResult
    public func completeAttempts(_ results: [AttemptResult], owner: String, now: Date) async throws -> Int {
        // In chunks, each its own short transaction (a lost result only means one more attempt later).
        var saved = 0
        for start in stride(from: 0, to: results.count, by: Self.enqueueChunk) {
            saved += try await completeChunk(Array(results[start..<min(start + Self.enqueueChunk, results.count)]), owner: owner, now: now)
        }
        return saved
    }

    private func completeChunk(_ results: [AttemptResult], owner: String, now: Date) async throws -> Int {
        try await quietWrite { db in
            var saved = 0
            let update = try db.cachedStatement(sql: """
                UPDATE delivery SET state = ?, attemptCount = attemptCount + 1, nextAttemptAt = ?, lastError = ?, deliveredAt = ?,
                  leaseOwner = NULL, leaseUntil = NULL
                WHERE id = ? AND state = 'sending' AND leaseOwner = ?
                """)
            let insert = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO delivery_attempt (deliveryId, number, startedAt, latencyMs, statusCode, error, outcome)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            for result in results {
                let attempt = result.attempt
                try update.execute(arguments: [
                    attempt.outcome.rawValue, result.nextAttemptAt?.timeIntervalSince1970, attempt.error,
                    attempt.outcome == .delivered ? now.timeIntervalSince1970 : nil, attempt.deliveryID, owner,
                ])
                guard db.changesCount > 0 else { continue }
                saved += 1
                let number = try Int.fetchOne(db, sql: "SELECT attemptCount FROM delivery WHERE id = ?", arguments: [attempt.deliveryID]) ?? attempt.number
                try insert.execute(arguments: [
                    attempt.deliveryID, number, attempt.startedAt.timeIntervalSince1970, attempt.latencyMilliseconds, attempt.statusCode,
                    attempt.error, attempt.outcome.rawValue,
                ])
                if let reason = result.stopDestination,
                   let row = try Row.fetchOne(db, sql: "SELECT destinationKind, destinationId FROM delivery WHERE id = ?", arguments: [attempt.deliveryID]) {
                    try Self.stop(kind: row["destinationKind"], id: row["destinationId"], reason: reason, now: now, db)
                }
            }
            return saved
        }
    }

    /// Turns a destination off: a channel that answered 410, a subscriber whose address bounced. Its other
    /// waiting deliveries die with the same reason.
    static func stop(kind: String, id: Int64, reason: String, now: Date, _ db: Database) throws {
        if kind == "channel" {
            try db.execute(
                sql: "UPDATE notify_channel SET isEnabled = 0, disabledReason = ?, updatedAt = ? WHERE id = ?",
                arguments: [reason, now.timeIntervalSince1970, id])
        } else {
            try db.execute(
                sql: "UPDATE subscriber SET state = 'stopped', stopReason = ?, updatedAt = ? WHERE id = ?",
                arguments: [reason, now.timeIntervalSince1970, id])
        }
        try db.execute(sql: """
            UPDATE delivery SET state = 'dead', lastError = ? WHERE destinationKind = ? AND destinationId = ? AND state IN ('pending', 'failed')
            """, arguments: [reason, kind, id])
    }

    public func deferDeliveries(_ deferred: [DeferredDelivery], owner: String) async throws {
        guard !deferred.isEmpty else { return }
        try await quietWrite { db in
            let statement = try db.cachedStatement(sql: """
                UPDATE delivery SET state = CASE WHEN attemptCount = 0 THEN 'pending' ELSE 'failed' END, nextAttemptAt = ?,
                  leaseOwner = NULL, leaseUntil = NULL
                WHERE id = ? AND state = 'sending' AND leaseOwner = ?
                """)
            for item in deferred { try statement.execute(arguments: [item.until.timeIntervalSince1970, item.deliveryID, owner]) }
        }
    }

    public func nextDueAt() async throws -> Date? {
        try await read { db in
            let due = try Double.fetchOne(db, sql: "SELECT min(nextAttemptAt) FROM delivery WHERE state IN ('pending', 'failed')")
            let lease = try Double.fetchOne(db, sql: "SELECT min(leaseUntil) FROM delivery WHERE state = 'sending'")
            return [due, lease].compactMap { $0 }.min().map(Date.init(timeIntervalSince1970:))
        }
    }

    public func deliveries(_ query: DeliveryQuery) async throws -> [Delivery] {
        try await read { db in
            var sql = "SELECT * FROM delivery WHERE id < ?"
            var arguments: StatementArguments = [query.beforeID ?? Int64.max]
            if !query.states.isEmpty {
                sql += " AND state IN (\(databaseQuestionMarks(count: query.states.count)))"
                arguments += StatementArguments(query.states.map(\.rawValue))
            }
            if let destination = query.destination {
                let (kind, id) = Self.columns(destination)
                sql += " AND destinationKind = ? AND destinationId = ?"
                arguments += [kind, id]
            }
            if let incident = query.incidentID {
                sql += " AND incidentId = ?"
                arguments += [incident]
            }
            sql += " ORDER BY id DESC LIMIT ?"
            arguments += [max(0, min(query.limit, 1000))]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.delivery)
        }
    }

    public func delivery(id: Int64) async throws -> Delivery? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM delivery WHERE id = ?", arguments: [id]).map(Self.delivery) }
    }

    public func attempts(deliveryID: Int64) async throws -> [DeliveryAttempt] {
        try await read { db in try Self.attempts(deliveryID, db) }
    }

    public func deliveryWithAttempts(id: Int64) async throws -> (Delivery, [DeliveryAttempt])? {
        try await read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM delivery WHERE id = ?", arguments: [id]) else { return nil }
            return (try Self.delivery(row), try Self.attempts(id, db))
        }
    }

    static func attempts(_ deliveryID: Int64, _ db: Database) throws -> [DeliveryAttempt] {
        try Row.fetchAll(db, sql: "SELECT * FROM delivery_attempt WHERE deliveryId = ? ORDER BY number", arguments: [deliveryID]).map { row in
            DeliveryAttempt(
                deliveryID: row["deliveryId"], number: row["number"], startedAt: row.date("startedAt") ?? .distantPast,
                latencyMilliseconds: row["latencyMs"], statusCode: row["statusCode"], error: row["error"],
                outcome: try decode(DeliveryState.self, row["outcome"]))
        }
    }

    public func message(id: Int64) async throws -> NotificationMessage? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT body FROM notify_message WHERE id = ?", arguments: [id]).map {
                try JSONColumn.decode(NotificationMessage.self, $0)
            }
        }
    }

    public func resend(deliveryID: Int64, now: Date) async throws -> Delivery {
        try await quietWrite { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM delivery WHERE id = ?", arguments: [deliveryID]) else {
                throw DomainError.notFound(what: "delivery", id: String(deliveryID))
            }
            var delivery = try Self.delivery(row)
            guard delivery.state == .dead || delivery.state == .failed else {
                throw DomainError.conflict(code: "not_resendable", message: "only a failed or dead delivery can be re-sent; this one is \(delivery.state.rawValue)")
            }
            try db.execute(
                sql: "UPDATE delivery SET state = 'failed', nextAttemptAt = ?, leaseOwner = NULL, leaseUntil = NULL WHERE id = ?",
                arguments: [now.timeIntervalSince1970, deliveryID])
            delivery.state = .failed
            delivery.nextAttemptAt = now
            return delivery
        }
    }

    public func deliveryCounts() async throws -> [DeliveryState: Int] {
        try await read { db in
            var counts: [DeliveryState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, count(*) AS n FROM delivery GROUP BY state") {
                if let state = DeliveryState(rawValue: row["state"]) { counts[state] = row["n"] }
            }
            return counts
        }
    }

    public func subscriberAnnouncements(since: Date) async throws -> [SubscriberAnnouncement] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM subscriber_announcement WHERE at >= ? OR damped = 1 ORDER BY at", arguments: [since.timeIntervalSince1970])
                .map { row in
                    SubscriberAnnouncement(
                        incidentID: row["incidentId"], components: try JSONColumn.decode([String].self, row["components"]),
                        at: row.date("at") ?? .distantPast, damped: row["damped"])
                }
        }
    }
}
