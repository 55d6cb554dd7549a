import BelayCore
import Foundation
import GRDB

extension AppDatabase: EventStore {
    /// Appends `events` inside the current transaction; returns the sequence of the last one (nil for none).
    static func append(_ events: [DomainEvent], context: WriteContext, _ db: Database) throws -> Int64? {
        guard !events.isEmpty else { return nil }
        let now = Date()
        let statement = try db.cachedStatement(sql: """
            INSERT INTO event (recordedAt, type, subjectKind, subjectId, actorKind, actorId, actorName, announce, payload)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for event in events {
            let r = try EventRecord(event, context: context, at: now)
            try statement.execute(arguments: [
                r.recordedAt.timeIntervalSince1970, r.type, r.subjectKind, r.subjectId, r.actorKind, r.actorId, r.actorName, r.announce, r.payload,
            ])
        }
        return db.lastInsertedRowID
    }

    public func events(after: Int64, limit: Int) async throws -> [StoredEvent] {
        try await read { db in
            try EventRecord.filter(Column("sequence") > after).order(Column("sequence")).limit(max(0, limit)).fetchAll(db).map { try $0.domain() }
        }
    }

    public func eventHead() async throws -> Int64 {
        try await read { db in
            // The AUTOINCREMENT counter survives pruning, so the head stays where it was when the log is empty.
            try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'event'") ?? 0
        }
    }

    public func prunedThrough() async throws -> Int64 {
        try await read { db in try Int64.fetchOne(db, sql: "SELECT through FROM event_pruned WHERE id = 1") ?? 0 }
    }

    public func pruneEvents(before: Date) async throws -> Int {
        // In batches, each its own short transaction, so a lowered retention never holds the writer for long.
        var total = 0
        while true {
            let deleted = try await quietWrite { db -> Int in
                // Oldest first along the primary key, stopping at the first event young enough to keep.
                let oldest = try Row.fetchAll(db, sql: "SELECT sequence, recordedAt FROM event ORDER BY sequence LIMIT 5000")
                let doomed = oldest.prefix { ($0["recordedAt"] as Double) < before.timeIntervalSince1970 }.map { $0["sequence"] as Int64 }
                guard let last = doomed.last else { return 0 }
                // The kept log stays one run of sequence numbers: nothing below the watermark survives.
                try db.execute(sql: "DELETE FROM event WHERE sequence <= ?", arguments: [last])
                try db.execute(
                    sql: "INSERT INTO event_pruned (id, through) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET through = max(through, excluded.through)",
                    arguments: [last])
                return db.changesCount > 0 ? doomed.count : 0
            }
            total += deleted
            if deleted < 5000 { return total }
        }
    }
}
