import BelayCore
import Foundation
import Logging
import PostgresNIO

extension NotifyRows {
    static let deliveryColumns = """
        id, key, messageId, destinationKind, destinationId, transport, topic, incidentId, state, attemptCount, nextAttemptAt, lastError,
        createdAt, deliveredAt
        """

    static func delivery(_ row: PostgresRow) throws -> Delivery {
        let (
            id, key, messageID, destinationKind, destinationID, transport, topic, incidentID, state, attemptCount, nextAttemptAt, lastError,
            createdAt, deliveredAt
        ) = try row.decode((Int64, String, Int64, String, Int64, String, String, Int64?, String, Int, Double?, String?, Double, Double?).self)
        return Delivery(
            id: id, key: key, messageID: messageID,
            destination: destinationKind == "channel" ? .channel(destinationID) : .subscriber(destinationID),
            transport: try value(Transport.self, transport, column: "delivery.transport"),
            topic: try value(NotificationTopic.self, topic, column: "delivery.topic"), incidentID: incidentID,
            state: try value(DeliveryState.self, state, column: "delivery.state"), attemptCount: attemptCount,
            nextAttemptAt: nextAttemptAt.map(date), lastError: lastError, createdAt: date(createdAt), deliveredAt: deliveredAt.map(date))
    }

    static func deliveries(_ query: PostgresQuery, _ connection: PostgresConnection, logger: Logger) async throws -> [Delivery] {
        var deliveries: [Delivery] = []
        for try await row in try await connection.query(query, logger: logger) { deliveries.append(try delivery(row)) }
        return deliveries
    }

    static func attempts(_ deliveryID: Int64, _ connection: PostgresConnection, logger: Logger) async throws -> [DeliveryAttempt] {
        let rows = try await connection.query(
            """
            SELECT deliveryId, number, startedAt, latencyMs, statusCode, error, outcome FROM delivery_attempt
            WHERE deliveryId = \(deliveryID) ORDER BY number
            """, logger: logger)
        var attempts: [DeliveryAttempt] = []
        for try await (deliveryID, number, startedAt, latency, statusCode, error, outcome) in rows.decode(
            (Int64, Int, Double, Int, Int?, String?, String).self)
        {
            attempts.append(
                DeliveryAttempt(
                    deliveryID: deliveryID, number: number, startedAt: date(startedAt), latencyMilliseconds: latency, statusCode: statusCode,
                    error: error, outcome: try value(DeliveryState.self, outcome, column: "delivery_attempt.outcome")))
        }
        return attempts
    }

    static func columns(_ destination: DeliveryDestination) -> (String, Int64) {
        switch destination {
        case .channel(let id): ("channel", id)
        case .subscriber(let id): ("subscriber", id)
        }
    }

    /// One new delivery as a `json_to_recordset` row (see `recordset`).
    struct DeliveryRecord: Encodable {
        var key: String
        var kind: String
        var destination: Int64
        var transport: String
        var topic: String
        var incident: Int64?
        var due: Double?
        var created: Double

        init(_ delivery: Delivery, due: Date?) {
            key = delivery.key
            (kind, destination) = NotifyRows.columns(delivery.destination)
            transport = delivery.transport.rawValue
            topic = delivery.topic.rawValue
            incident = delivery.incidentID
            self.due = due?.timeIntervalSince1970
            created = delivery.createdAt.timeIntervalSince1970
        }
    }

    static let deliveryRecord = """
        r(key text, kind text, destination bigint, transport text, topic text, incident bigint, due double precision, created double precision)
        """

    static func insertMessage(_ message: NotificationMessage, _ connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        let body = try column(message)
        let rows = try await connection.query(
            """
            INSERT INTO notify_message (eventSequence, topic, incidentId, body, createdAt)
            VALUES (\(message.eventSequence), \(message.topic.rawValue), \(message.incidentID), \(body), \(Date().timeIntervalSince1970))
            RETURNING id
            """, logger: logger)
        var id: Int64 = 0
        for try await value in rows.decode(Int64.self) { id = value }
        return id
    }

    /// Messages with their deliveries (a message split across chunks is saved once per chunk; each delivery
    /// points at one copy) and announcements, as SQLite's `insert` does; a delivery whose key exists is skipped.
    static func insert(_ entries: [OutboxBatch.Entry], _ connection: PostgresConnection, logger: Logger) async throws {
        let now = Date()
        for entry in entries {
            if let announcement = entry.announcement {
                try await connection.query(
                    """
                    INSERT INTO subscriber_announcement (incidentId, components, at, damped)
                    VALUES (\(announcement.incidentID), \(try column(announcement.components)), \(announcement.at.timeIntervalSince1970),
                      \(announcement.damped))
                    ON CONFLICT (incidentId) DO UPDATE SET components = excluded.components, at = excluded.at, damped = excluded.damped
                    """, logger: logger)
            }
            guard !entry.deliveries.isEmpty else { continue }
            let messageID = try await insertMessage(entry.message, connection, logger: logger)
            let rows = try recordset(entry.deliveries.map { DeliveryRecord($0, due: $0.nextAttemptAt ?? now) })
            try await connection.query(
                """
                INSERT INTO delivery (key, messageId, destinationKind, destinationId, transport, topic, incidentId, state, nextAttemptAt, createdAt)
                SELECT key, \(messageID), kind, destination, transport, topic, incident, 'pending', due, created
                FROM json_to_recordset(\(rows)::json) AS \(unescaped: deliveryRecord)
                ON CONFLICT (key) DO NOTHING
                """, logger: logger)
        }
    }

    /// One attempt's outcome for the lease-checked update, as a `json_to_recordset` row.
    struct OutcomeRecord: Encodable {
        var id: Int64
        var outcome: String
        var retry: Double?
        var error: String?
    }

    /// One saved attempt, numbered by the delivery's new attempt count.
    struct AttemptRecord: Encodable {
        var delivery: Int64
        var number: Int
        var started: Double
        var latency: Int
        var status: Int?
        var error: String?
        var outcome: String
    }

    /// Saves `results` in one update and one insert; returns the destination of each saved one by delivery id.
    static func complete(
        _ results: [AttemptResult], owner: String, now: Date, _ connection: PostgresConnection, logger: Logger
    ) async throws -> [Int64: (kind: String, id: Int64)] {
        let outcomes = try recordset(results.map {
            OutcomeRecord(id: $0.attempt.deliveryID, outcome: $0.attempt.outcome.rawValue, retry: $0.nextAttemptAt?.timeIntervalSince1970, error: $0.attempt.error)
        })
        let updated = try await connection.query(
            """
            UPDATE delivery d SET state = r.outcome, attemptCount = d.attemptCount + 1, nextAttemptAt = r.retry, lastError = r.error,
              deliveredAt = CASE WHEN r.outcome = 'delivered' THEN \(now.timeIntervalSince1970) END, leaseOwner = NULL, leaseUntil = NULL
            FROM json_to_recordset(\(outcomes)::json) AS r(id bigint, outcome text, retry double precision, error text)
            WHERE d.id = r.id AND d.state = 'sending' AND d.leaseOwner = \(owner)
            RETURNING d.id, d.attemptCount, d.destinationKind, d.destinationId
            """, logger: logger)
        var saved: [Int64: (number: Int, kind: String, id: Int64)] = [:]
        for try await (id, number, kind, destination) in updated.decode((Int64, Int, String, Int64).self) {
            saved[id] = (number, kind, destination)
        }
        let attempts = results.compactMap { result -> AttemptRecord? in
            let attempt = result.attempt
            guard let number = saved[attempt.deliveryID]?.number else { return nil }
            return AttemptRecord(
                delivery: attempt.deliveryID, number: number, started: attempt.startedAt.timeIntervalSince1970, latency: attempt.latencyMilliseconds,
                status: attempt.statusCode, error: attempt.error, outcome: attempt.outcome.rawValue)
        }
        if !attempts.isEmpty {
            try await connection.query(
                """
                INSERT INTO delivery_attempt (deliveryId, number, startedAt, latencyMs, statusCode, error, outcome)
                SELECT delivery, number, started, latency, status, error, outcome
                FROM json_to_recordset(\(try recordset(attempts))::json)
                  AS r(delivery bigint, number bigint, started double precision, latency bigint, status bigint, error text, outcome text)
                ON CONFLICT (deliveryId, number) DO UPDATE SET startedAt = excluded.startedAt, latencyMs = excluded.latencyMs,
                  statusCode = excluded.statusCode, error = excluded.error, outcome = excluded.outcome
                """, logger: logger)
        }
        return saved.mapValues { ($0.kind, $0.id) }
    }

    /// Turns a destination off: a channel that answered 410, a subscriber whose address bounced. Its other
    /// waiting deliveries die with the same reason.
    static func stop(kind: String, id: Int64, reason: String, now: Date, _ connection: PostgresConnection, logger: Logger) async throws {
        let at = now.timeIntervalSince1970
        if kind == "channel" {
            try await connection.query(
                "UPDATE notify_channel SET isEnabled = false, disabledReason = \(reason), updatedAt = \(at) WHERE id = \(id)", logger: logger)
        } else {
            try await connection.query(
                "UPDATE subscriber SET state = 'stopped', stopReason = \(reason), updatedAt = \(at) WHERE id = \(id)", logger: logger)
        }
        try await connection.query(
            """
            UPDATE delivery SET state = 'dead', lastError = \(reason)
            WHERE destinationKind = \(kind) AND destinationId = \(id) AND state IN ('pending', 'failed')
            """, logger: logger)
    }
}

/// The outbox: its cursor on the event log, messages, deliveries with their leases, and attempts.
extension PostgresStore: NotificationStore {
    /// Deliveries inserted (and results saved) per transaction, as in SQLite: a fan-out to 10,000 subscribers
    /// is a hundred short writes, so a request's write never waits long behind one.
    static let enqueueChunk = 100

    public func outboxCursor() async throws -> Int64? {
        let logger = logger
        return try await read { connection in try await Self.cursor(connection, logger: logger) }
    }

    static func cursor(_ connection: PostgresConnection, logger: Logger) async throws -> Int64? {
        var cursor: Int64?
        for try await value in try await connection.query("SELECT sequence FROM outbox_cursor WHERE id = 1", logger: logger).decode(Int64.self) {
            cursor = value
        }
        return cursor
    }

    public func enqueue(_ batch: OutboxBatch, expected: Int64?, cursor: Int64) async throws -> Bool {
        let logger = logger
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
            for chunk in chunks { try await quietWrite { connection in try await NotifyRows.insert(chunk, connection, logger: logger) } }
        }
        return try await quietWrite { connection in
            // The compare-and-set: under the writer lock, so no other dispatcher moves the cursor in between.
            guard try await Self.cursor(connection, logger: logger) == expected else { return false }
            try await connection.query(
                "INSERT INTO outbox_cursor (id, sequence) VALUES (1, \(cursor)) ON CONFLICT (id) DO UPDATE SET sequence = excluded.sequence",
                logger: logger)
            try await NotifyRows.insert(last, connection, logger: logger)
            return true
        }
    }

    public func enqueueDirect(_ message: NotificationMessage, deliveries: [Delivery]) async throws -> [Delivery] {
        let logger = logger
        return try await quietWrite { connection in
            let messageID = try await NotifyRows.insertMessage(message, connection, logger: logger)
            guard !deliveries.isEmpty else { return [] }
            // No ON CONFLICT: a test's key carries a nonce, so a duplicate is a bug to report, as in SQLite.
            let rows = try NotifyRows.recordset(deliveries.map { NotifyRows.DeliveryRecord($0, due: $0.nextAttemptAt) })
            let inserted = try await connection.query(
                """
                INSERT INTO delivery (key, messageId, destinationKind, destinationId, transport, topic, incidentId, state, nextAttemptAt, createdAt)
                SELECT key, \(messageID), kind, destination, transport, topic, incident, 'pending', due, created
                FROM json_to_recordset(\(rows)::json) AS \(unescaped: NotifyRows.deliveryRecord)
                RETURNING id, key
                """, logger: logger)
            var ids: [String: Int64] = [:]
            for try await (id, key) in inserted.decode((Int64, String).self) { ids[key] = id }
            return deliveries.map { delivery in
                var saved = delivery
                saved.id = ids[delivery.key] ?? 0
                saved.messageID = messageID
                return saved
            }
        }
    }

    public func claimDeliveries(
        owner: String, now: Date, leaseUntil: Date, transports: Set<Transport>, scope: ClaimScope, limit: Int
    ) async throws -> [ClaimedDelivery] {
        guard !transports.isEmpty, limit > 0 else { return [] }
        let logger = logger
        let kinds = transports.map(\.rawValue).sorted()
        let destinations = switch scope {
        case .all: ["channel", "subscriber"]
        case .channels: ["channel"]
        case .subscribers: ["subscriber"]
        }
        let t = now.timeIntervalSince1970, lease = leaseUntil.timeIntervalSince1970
        return try await quietWrite { connection in
            // SKIP LOCKED: a delivery another transaction is claiming is left to it rather than waited for, and
            // a row it claimed meanwhile is re-checked against the due condition before this one takes it.
            // (The writer lock already serializes claims; this keeps them apart without relying on it.)
            let claimed = try await NotifyRows.deliveries(
                """
                WITH due AS MATERIALIZED (
                  SELECT id FROM delivery
                  WHERE ((state IN ('pending', 'failed') AND nextAttemptAt <= \(t)) OR (state = 'sending' AND leaseUntil <= \(t)))
                    AND transport = ANY(\(kinds)) AND destinationKind = ANY(\(destinations))
                  ORDER BY nextAttemptAt NULLS FIRST, id LIMIT \(limit)
                  FOR UPDATE SKIP LOCKED),
                leased AS (
                  UPDATE delivery SET state = 'sending', leaseOwner = \(owner), leaseUntil = \(lease) WHERE id IN (SELECT id FROM due)
                  RETURNING \(unescaped: NotifyRows.deliveryColumns))
                SELECT \(unescaped: NotifyRows.deliveryColumns) FROM leased ORDER BY nextAttemptAt NULLS FIRST, id
                """, connection, logger: logger)
            guard !claimed.isEmpty else { return [] }
            let messageIDs = Array(Set(claimed.map(\.messageID)))
            var messages: [Int64: NotificationMessage] = [:]
            let rows = try await connection.query("SELECT id, body FROM notify_message WHERE id = ANY(\(messageIDs))", logger: logger)
            for try await (id, body) in rows.decode((Int64, String).self) {
                messages[id] = try NotifyRows.column(NotificationMessage.self, body)
            }
            return claimed.compactMap { delivery in messages[delivery.messageID].map { ClaimedDelivery(delivery: delivery, message: $0) } }
        }
    }

    @discardableResult
    public func completeAttempts(_ results: [AttemptResult], owner: String, now: Date) async throws -> Int {
        // One result per delivery, the first: once it is saved the lease is gone, so SQLite drops later ones.
        var seen: Set<Int64> = []
        let results = results.filter { seen.insert($0.attempt.deliveryID).inserted }
        // In chunks, each its own short transaction (a lost result only means one more attempt later).
        var saved = 0
        for start in stride(from: 0, to: results.count, by: Self.enqueueChunk) {
            saved += try await completeChunk(Array(results[start..<min(start + Self.enqueueChunk, results.count)]), owner: owner, now: now)
        }
        return saved
    }

    private func completeChunk(_ results: [AttemptResult], owner: String, now: Date) async throws -> Int {
        let logger = logger
        return try await quietWrite { connection in
            // A result that stops its destination ends that destination's waiting deliveries before the
            // results after it are saved, as SQLite's one-by-one loop does: so save in runs that end at one.
            var saved = 0
            var start = 0
            while start < results.count {
                let end = (results[start...].firstIndex { $0.stopDestination != nil } ?? results.count - 1) + 1
                let run = Array(results[start..<end])
                let destinations = try await NotifyRows.complete(run, owner: owner, now: now, connection, logger: logger)
                saved += destinations.count
                if let last = run.last, let reason = last.stopDestination, let destination = destinations[last.attempt.deliveryID] {
                    try await NotifyRows.stop(kind: destination.kind, id: destination.id, reason: reason, now: now, connection, logger: logger)
                }
                start = end
            }
            return saved
        }
    }

    public func deferDeliveries(_ deferred: [DeferredDelivery], owner: String) async throws {
        guard !deferred.isEmpty else { return }
        let logger = logger
        // The first per delivery, as one by one: once put back, it is no longer leased.
        var seen: Set<Int64> = []
        let unique = deferred.filter { seen.insert($0.deliveryID).inserted }
        let ids = unique.map(\.deliveryID), dues = unique.map(\.until.timeIntervalSince1970)
        try await quietWrite { connection in
            try await connection.query(
                """
                UPDATE delivery d SET state = CASE WHEN d.attemptCount = 0 THEN 'pending' ELSE 'failed' END, nextAttemptAt = r.due,
                  leaseOwner = NULL, leaseUntil = NULL
                FROM UNNEST(\(ids)::bigint[], \(dues)::double precision[]) AS r(id, due)
                WHERE d.id = r.id AND d.state = 'sending' AND d.leaseOwner = \(owner)
                """, logger: logger)
        }
    }

    public func nextDueAt() async throws -> Date? {
        let logger = logger
        return try await read { connection in
            // One statement, so both minimums come from one snapshot (LEAST skips a NULL).
            let rows = try await connection.query(
                """
                SELECT LEAST((SELECT min(nextAttemptAt) FROM delivery WHERE state IN ('pending', 'failed')),
                             (SELECT min(leaseUntil) FROM delivery WHERE state = 'sending'))
                """, logger: logger)
            var due: Double?
            for try await value in rows.decode(Double?.self) { due = value }
            return due.map(NotifyRows.date)
        }
    }

    public func deliveries(_ query: DeliveryQuery) async throws -> [Delivery] {
        let logger = logger
        let before = query.beforeID ?? Int64.max
        let states = query.states.map(\.rawValue).sorted()
        let destination = query.destination.map(NotifyRows.columns)
        let kind = destination?.0, destinationID = destination?.1
        let incident = query.incidentID
        let limit = max(0, min(query.limit, 1000))
        return try await read { connection in
            try await NotifyRows.deliveries(
                """
                SELECT \(unescaped: NotifyRows.deliveryColumns) FROM delivery
                WHERE id < \(before) AND (cardinality(\(states)::text[]) = 0 OR state = ANY(\(states)))
                  AND (\(kind)::text IS NULL OR (destinationKind = \(kind) AND destinationId = \(destinationID)))
                  AND (\(incident)::bigint IS NULL OR incidentId = \(incident))
                ORDER BY id DESC LIMIT \(limit)
                """, connection, logger: logger)
        }
    }

    public func delivery(id: Int64) async throws -> Delivery? {
        let logger = logger
        return try await read { connection in
            try await NotifyRows.deliveries("SELECT \(unescaped: NotifyRows.deliveryColumns) FROM delivery WHERE id = \(id)", connection, logger: logger).first
        }
    }

    public func attempts(deliveryID: Int64) async throws -> [DeliveryAttempt] {
        let logger = logger
        return try await read { connection in try await NotifyRows.attempts(deliveryID, connection, logger: logger) }
    }

    public func deliveryWithAttempts(id: Int64) async throws -> (Delivery, [DeliveryAttempt])? {
        let logger = logger
        return try await consistentRead { connection in
            guard let delivery = try await NotifyRows.deliveries(
                "SELECT \(unescaped: NotifyRows.deliveryColumns) FROM delivery WHERE id = \(id)", connection, logger: logger
            ).first else { return nil }
            return (delivery, try await NotifyRows.attempts(id, connection, logger: logger))
        }
    }

    public func message(id: Int64) async throws -> NotificationMessage? {
        let logger = logger
        return try await read { connection in
            var message: NotificationMessage?
            for try await body in try await connection.query("SELECT body FROM notify_message WHERE id = \(id)", logger: logger).decode(String.self) {
                message = try NotifyRows.column(NotificationMessage.self, body)
            }
            return message
        }
    }

    public func resend(deliveryID: Int64, now: Date) async throws -> Delivery {
        let logger = logger
        return try await quietWrite { connection in
            guard var delivery = try await NotifyRows.deliveries(
                "SELECT \(unescaped: NotifyRows.deliveryColumns) FROM delivery WHERE id = \(deliveryID)", connection, logger: logger
            ).first else {
                throw DomainError.notFound(what: "delivery", id: String(deliveryID))
            }
            guard delivery.state == .dead || delivery.state == .failed else {
                throw DomainError.conflict(code: "not_resendable", message: "only a failed or dead delivery can be re-sent; this one is \(delivery.state.rawValue)")
            }
            try await connection.query(
                """
                UPDATE delivery SET state = 'failed', nextAttemptAt = \(now.timeIntervalSince1970), leaseOwner = NULL, leaseUntil = NULL
                WHERE id = \(deliveryID)
                """, logger: logger)
            delivery.state = .failed
            delivery.nextAttemptAt = now
            return delivery
        }
    }

    public func deliveryCounts() async throws -> [DeliveryState: Int] {
        let logger = logger
        return try await read { connection in
            var counts: [DeliveryState: Int] = [:]
            let rows = try await connection.query("SELECT state, count(*) FROM delivery GROUP BY state", logger: logger)
            for try await (state, count) in rows.decode((String, Int).self) {
                if let state = DeliveryState(rawValue: state) { counts[state] = count }
            }
            return counts
        }
    }

    public func subscriberAnnouncements(since: Date) async throws -> [SubscriberAnnouncement] {
        let logger = logger
        return try await read { connection in
            let rows = try await connection.query(
                "SELECT incidentId, components, at, damped FROM subscriber_announcement WHERE at >= \(since.timeIntervalSince1970) OR damped ORDER BY at",
                logger: logger)
            var announcements: [SubscriberAnnouncement] = []
            for try await (incidentID, components, at, damped) in rows.decode((Int64, String, Double, Bool).self) {
                announcements.append(
                    SubscriberAnnouncement(
                        incidentID: incidentID, components: try NotifyRows.column([String].self, components), at: NotifyRows.date(at), damped: damped))
            }
            return announcements
        }
    }
}
