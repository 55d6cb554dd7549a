import BelayCore
import Foundation
import Logging
import PostgresNIO

extension NotifyRows {
    static let subscriberColumns = """
        id, kind, address, components, state, token, secret, confirmationSentAt, confirmedAt, stopReason, source, createdAt, updatedAt
        """

    static func subscriber(_ row: PostgresRow) throws -> Subscriber {
        let (id, kind, address, components, state, token, secret, confirmationSentAt, confirmedAt, stopReason, source, createdAt, updatedAt) =
            try row.decode((Int64, String, String, String, String, String, String?, Double?, Double?, String?, String, Double, Double).self)
        return Subscriber(
            id: id, kind: try value(Subscriber.Kind.self, kind, column: "subscriber.kind"), address: address,
            components: try column([String].self, components), state: try value(Subscriber.State.self, state, column: "subscriber.state"),
            token: token, secret: secret, confirmationSentAt: confirmationSentAt.map(date), confirmedAt: confirmedAt.map(date),
            stopReason: stopReason, source: source, createdAt: date(createdAt), updatedAt: date(updatedAt))
    }

    static func subscribers(_ query: PostgresQuery, _ connection: PostgresConnection, logger: Logger) async throws -> [Subscriber] {
        var subscribers: [Subscriber] = []
        for try await row in try await connection.query(query, logger: logger) { subscribers.append(try subscriber(row)) }
        return subscribers
    }

    /// One subscriber as a `json_to_recordset` row (see `recordset`).
    struct SubscriberRecord: Encodable {
        var id: Int64
        var kind: String
        var address: String
        var components: String
        var state: String
        var token: String
        var secret: String?
        var sent: Double?
        var confirmed: Double?
        var reason: String?
        var source: String
        var created: Double
        var updated: Double

        init(_ subscriber: Subscriber) throws {
            id = subscriber.id
            kind = subscriber.kind.rawValue
            address = subscriber.address
            components = try NotifyRows.column(subscriber.components)
            state = subscriber.state.rawValue
            token = subscriber.token
            secret = subscriber.secret
            sent = subscriber.confirmationSentAt?.timeIntervalSince1970
            confirmed = subscriber.confirmedAt?.timeIntervalSince1970
            reason = subscriber.stopReason
            source = subscriber.source
            created = subscriber.createdAt.timeIntervalSince1970
            updated = subscriber.updatedAt.timeIntervalSince1970
        }
    }

    static let subscriberRecord = """
        r(id bigint, kind text, address text, components text, state text, token text, secret text, sent double precision,
          confirmed double precision, reason text, source text, created double precision, updated double precision)
        """

    /// Inserts new subscribers in one statement; returns their ids by kind and address (unique).
    static func insertSubscribers(_ subscribers: [Subscriber], _ connection: PostgresConnection, logger: Logger) async throws -> [String: Int64] {
        let rows = try recordset(try subscribers.map(SubscriberRecord.init))
        var ids: [String: Int64] = [:]
        do {
            let inserted = try await connection.query(
                """
                INSERT INTO subscriber (kind, address, components, state, token, secret, confirmationSentAt, confirmedAt, stopReason, source,
                  createdAt, updatedAt)
                SELECT kind, address, components, state, token, secret, sent, confirmed, reason, source, created, updated
                FROM json_to_recordset(\(rows)::json) AS \(unescaped: subscriberRecord)
                RETURNING id, kind, address
                """, logger: logger)
            for try await (id, kind, address) in inserted.decode((Int64, String, String).self) { ids[kind + "\n" + address] = id }
        } catch let error where StorageFault.uniqueViolation(error) != nil {
            throw DomainError.conflict(code: "subscriber_exists", message: "that address is already subscribed")
        }
        return ids
    }

    /// Replaces existing subscribers in one statement; every one must exist.
    static func updateSubscribers(_ subscribers: [Subscriber], _ connection: PostgresConnection, logger: Logger) async throws {
        let rows = try recordset(try subscribers.map(SubscriberRecord.init))
        let updated = try await connection.query(
            """
            UPDATE subscriber s SET kind = r.kind, address = r.address, components = r.components, state = r.state, token = r.token,
              secret = r.secret, confirmationSentAt = r.sent, confirmedAt = r.confirmed, stopReason = r.reason, source = r.source,
              createdAt = r.created, updatedAt = r.updated
            FROM json_to_recordset(\(rows)::json) AS \(unescaped: subscriberRecord)
            WHERE s.id = r.id
            RETURNING s.id
            """, logger: logger)
        var found: Set<Int64> = []
        for try await id in updated.decode(Int64.self) { found.insert(id) }
        if let missing = subscribers.first(where: { !found.contains($0.id) }) {
            throw DomainError.notFound(what: "subscriber", id: String(missing.id))
        }
    }
}

/// Subscribers.
extension PostgresStore {
    public func subscribers(_ query: SubscriberQuery) async throws -> [Subscriber] {
        if let ids = query.ids, ids.isEmpty { return [] }
        let logger = logger
        let after = query.afterID ?? 0
        let state = query.state?.rawValue, kind = query.kind?.rawValue
        let ids = query.ids ?? [], filtersIDs = query.ids != nil
        // A NULL limit is no limit.
        let limit = query.limit.map { max(0, $0) }
        return try await read { connection in
            try await NotifyRows.subscribers(
                """
                SELECT \(unescaped: NotifyRows.subscriberColumns) FROM subscriber
                WHERE id > \(after) AND (\(state)::text IS NULL OR state = \(state)) AND (\(kind)::text IS NULL OR kind = \(kind))
                  AND (NOT \(filtersIDs) OR id = ANY(\(ids)))
                ORDER BY id LIMIT \(limit)::bigint
                """, connection, logger: logger)
        }
    }

    public func subscriber(id: Int64) async throws -> Subscriber? {
        let logger = logger
        return try await read { connection in
            try await NotifyRows.subscribers(
                "SELECT \(unescaped: NotifyRows.subscriberColumns) FROM subscriber WHERE id = \(id)", connection, logger: logger
            ).first
        }
    }

    public func subscriber(token: String) async throws -> Subscriber? {
        let logger = logger
        return try await read { connection in
            try await NotifyRows.subscribers(
                "SELECT \(unescaped: NotifyRows.subscriberColumns) FROM subscriber WHERE token = \(token)", connection, logger: logger
            ).first
        }
    }

    public func subscriber(kind: Subscriber.Kind, address: String) async throws -> Subscriber? {
        let logger = logger
        return try await read { connection in
            try await NotifyRows.subscribers(
                "SELECT \(unescaped: NotifyRows.subscriberColumns) FROM subscriber WHERE kind = \(kind.rawValue) AND address = \(address)",
                connection, logger: logger
            ).first
        }
    }

    public func saveSubscribers(_ subscribers: [Subscriber]) async throws -> [Subscriber] {
        guard !subscribers.isEmpty else { return [] }
        let logger = logger
        return try await quietWrite { connection in
            // In the given order, a run of inserts or of updates per statement: an update that frees an
            // address before an insert that takes it works as it does one by one in SQLite.
            var saved = subscribers
            var start = 0
            while start < saved.count {
                let inserting = saved[start].id == 0
                var end = start
                while end < saved.count, (saved[end].id == 0) == inserting { end += 1 }
                let run = Array(saved[start..<end])
                if inserting {
                    let ids = try await NotifyRows.insertSubscribers(run, connection, logger: logger)
                    for index in start..<end {
                        saved[index].id = ids[saved[index].kind.rawValue + "\n" + saved[index].address] ?? 0
                    }
                } else {
                    try await NotifyRows.updateSubscribers(run, connection, logger: logger)
                }
                start = end
            }
            return saved
        }
    }

    public func deleteSubscriber(id: Int64) async throws {
        let logger = logger
        try await quietWrite { connection in
            let deleted = try await NotifyRows.count(
                "WITH gone AS (DELETE FROM subscriber WHERE id = \(id) RETURNING id) SELECT count(*) FROM gone", connection, logger: logger)
            guard deleted > 0 else { throw DomainError.notFound(what: "subscriber", id: String(id)) }
            try await connection.query(
                """
                UPDATE delivery SET state = 'dead', lastError = 'the subscriber was removed', leaseOwner = NULL, leaseUntil = NULL
                WHERE destinationKind = 'subscriber' AND destinationId = \(id) AND state IN ('pending', 'failed', 'sending')
                """, logger: logger)
        }
    }

    public func prunePendingSubscribers(before: Date) async throws -> Int {
        let logger = logger
        let cutoff = before.timeIntervalSince1970
        return try await quietWrite { connection in
            try await NotifyRows.count(
                """
                WITH gone AS (DELETE FROM subscriber WHERE state = 'pending' AND coalesce(confirmationSentAt, createdAt) < \(cutoff) RETURNING id)
                SELECT count(*) FROM gone
                """, connection, logger: logger)
        }
    }

    public func subscriberCounts() async throws -> [Subscriber.State: Int] {
        let logger = logger
        return try await read { connection in
            var counts: [Subscriber.State: Int] = [:]
            let rows = try await connection.query("SELECT state, count(*) FROM subscriber GROUP BY state", logger: logger)
            for try await (state, count) in rows.decode((String, Int).self) {
                if let state = Subscriber.State(rawValue: state) { counts[state] = count }
            }
            return counts
        }
    }
}
