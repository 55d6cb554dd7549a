import BelayCore
import Foundation
import Logging
import PostgresNIO

extension PostgresStore: EventStore {
    /// Appends `events` inside the current transaction (which holds the writer lock, so sequence numbers are
    /// handed out in commit order); returns the sequence of the last one (nil for none).
    static func append(_ events: [DomainEvent], context: WriteContext, _ connection: PostgresConnection, logger: Logger) async throws -> Int64? {
        guard !events.isEmpty else { return nil }
        let now = Date().timeIntervalSince1970
        var last: Int64?
        for event in events {
            let payload = try DomainEvent.encode(event)
            let rows = try await connection.query(
                """
                INSERT INTO event (recordedAt, type, subjectKind, subjectId, actorKind, actorId, actorName, announce, payload)
                VALUES (\(now), \(event.type), \(event.subject.kind.rawValue), \(event.subject.id), \(context.actor.kind.rawValue),
                        \(context.actor.id), \(context.actor.name), \(context.announce), \(payload))
                RETURNING sequence
                """, logger: logger)
            for try await sequence in rows.decode(Int64.self) { last = sequence }
        }
        return last
    }

    public func events(after: Int64, limit: Int) async throws -> [StoredEvent] {
        let logger = logger
        return try await read { connection in
            let rows = try await connection.query(
                """
                SELECT sequence, recordedAt, actorKind, actorId, actorName, announce, payload FROM event
                WHERE sequence > \(after) ORDER BY sequence LIMIT \(max(0, limit))
                """, logger: logger)
            var events: [StoredEvent] = []
            for try await (sequence, recordedAt, actorKind, actorID, actorName, announce, payload) in rows.decode(
                (Int64, Double, String, Int64?, String, Bool, String).self)
            {
                guard let kind = Actor.Kind(rawValue: actorKind) else { throw StoredValueInvalid(column: "event.actorKind", value: actorKind) }
                events.append(
                    StoredEvent(
                        sequence: sequence, recordedAt: Date(timeIntervalSince1970: recordedAt),
                        actor: Actor(kind: kind, id: actorID, name: actorName), announce: announce, event: try DomainEvent.decode(payload)))
            }
            return events
        }
    }

    public func eventHead() async throws -> Int64 {
        let logger = logger
        return try await read { connection in
            // Pruning never removes the newest event's number from the record: when the log is empty, the
            // watermark is the last number handed out.
            let rows = try await connection.query(
                "SELECT GREATEST(COALESCE((SELECT MAX(sequence) FROM event), 0), COALESCE((SELECT through FROM event_pruned WHERE id = 1), 0))",
                logger: logger)
            var head: Int64 = 0
            for try await value in rows.decode(Int64.self) { head = value }
            return head
        }
    }

    public func prunedThrough() async throws -> Int64 {
        let logger = logger
        return try await read { connection in
            var through: Int64 = 0
            for try await value in try await connection.query("SELECT through FROM event_pruned WHERE id = 1", logger: logger).decode(Int64.self) {
                through = value
            }
            return through
        }
    }

    public func pruneEvents(before: Date) async throws -> Int {
        // In batches, each its own short transaction, so a lowered retention never holds the writer for long.
        let logger = logger
        let cutoff = before.timeIntervalSince1970
        var total = 0
        while true {
            let deleted = try await quietWrite { connection -> Int in
                // Oldest first along the primary key, stopping at the first event young enough to keep, so
                // the kept log stays one run of sequence numbers.
                let rows = try await connection.query(
                    "SELECT sequence, recordedAt FROM event ORDER BY sequence LIMIT 5000", logger: logger)
                var doomed: [Int64] = []
                var stopped = false
                for try await (sequence, recordedAt) in rows.decode((Int64, Double).self) {
                    if stopped || recordedAt >= cutoff { stopped = true; continue }
                    doomed.append(sequence)
                }
                guard let last = doomed.last else { return 0 }
                try await connection.query("DELETE FROM event WHERE sequence <= \(last)", logger: logger)
                try await connection.query(
                    """
                    INSERT INTO event_pruned (id, through) VALUES (1, \(last))
                    ON CONFLICT (id) DO UPDATE SET through = GREATEST(event_pruned.through, excluded.through)
                    """, logger: logger)
                return doomed.count
            }
            total += deleted
            if deleted < 5000 { return total }
        }
    }
}

/// A stored value this binary cannot read back (a hand-edited row, say): a 500 naming the column, not a trap.
public struct StoredValueInvalid: Error, CustomStringConvertible {
    public var column: String
    public var value: String
    public var description: String { "stored \(column) has an unknown value \"\(value)\"" }
}
