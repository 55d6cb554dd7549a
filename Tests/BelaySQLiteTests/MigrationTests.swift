import BelayCore
@testable import BelaySQLite
import Foundation
import GRDB
import Testing

@Suite struct MigrationTests {
    /// What `/readyz` reads: a database one migration behind this binary has that one pending.
    @Test func aDatabaseBehindTheBinaryHasItsMissingMigrationsPending() async throws {
        let known = AppDatabase.migrator.migrations
        let queue = try DatabaseQueue()
        try AppDatabase.migrator.migrate(queue, upTo: known[known.count - 2])
        let behind = try await AppDatabase(queue).migrationStatus()
        #expect(behind.pending == [known[known.count - 1]])
        #expect(behind.unknown.isEmpty)
        #expect(!behind.isUpToDate)
        try await queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v999-from-the-future')") }
        #expect(try await AppDatabase(queue).migrationStatus().unknown == ["v999-from-the-future"])
    }

    /// A database made by the previous release (schema v5) migrates without losing a row, and the timeline it
    /// stored as kinds and strings reads back as typed facts.
    @Test func aV5DatabaseMigratesAndItsTimelineReadsAsTypedFacts() async throws {
        let queue = try DatabaseQueue()
        try AppDatabase.migrator.migrate(queue, upTo: "v5-hashed-heartbeat-tokens")
        try await queue.write { db in
            try db.execute(sql: """
                INSERT INTO incident (id, title, severity, status, isPublic, reopenCount, createdAt, updatedAt, detectedAt)
                VALUES (1, 'Old outage', 'sev2', 'identified', 1, 0, 1000, 1000, 1000)
                """)
            let rows: [(String, String)] = [
                ("declared", #"{"severity":"sev2","status":"investigating"}"#),
                ("status_change", #"{"from":"investigating","to":"identified"}"#),
                ("milestone", #"{"milestone":"acknowledgedAt","at":"2026-11-21T16:21:00Z","backdated":"true"}"#),
                ("signal", #"{"signal":"7","dedupKey":"disk","status":"firing","severity":"sev1","components":"api,db"}"#),
                ("note", "{}"),
            ]
            for (index, (kind, details)) in rows.enumerated() {
                try db.execute(
                    sql: "INSERT INTO timeline_entry (incidentId, kind, author, occurredAt, recordedAt, text, details) VALUES (1, ?, 'a', ?, ?, 'text', ?)",
                    arguments: [kind, 1000 + index, 1000 + index, details])
            }
        }
        let database = AppDatabase(queue)
        try database.migrate()
        let facts = try await database.timeline(incidentID: 1).map(\.fact)
        #expect(facts == [
            .declared(severity: .sev2, status: .investigating, signalID: nil),
            .statusChanged(from: .investigating, to: .identified),
            .milestoneSet(milestone: .acknowledgedAt, at: try #require(RFC3339.parse("2026-11-21T16:21:00Z")), previous: nil, backdated: true),
            .signal(SignalFact(transition: .fired, signalID: 7, dedupKey: "disk", status: .firing, severity: .sev1, components: ["api", "db"], link: nil)),
            .note,
        ])
        #expect(try await database.incident(id: 1)?.title == "Old outage")
        // The log starts empty: an upgrade does not invent a history.
        #expect(try await database.eventHead() == 0)
        // Migrating again changes nothing.
        try database.migrate()
        #expect(try await database.timeline(incidentID: 1).count == 5)
    }

    /// The first default severity words promised paging; an upgrade rewords the ones nobody edited and keeps the rest.
    @Test func severityWordsThatPromisedPagingAreRewordedUnlessATeamWroteItsOwn() async throws {
        let queue = try DatabaseQueue()
        try AppDatabase.migrator.migrate(queue, upTo: "v8-outbox")
        try await queue.write { db in
            try db.execute(sql: """
                UPDATE severity_level SET definition = 'A core feature is broken or badly degraded for many customers, with no workaround. Page the on-call responder now.'
                WHERE level = 'sev2'
                """)
            try db.execute(sql: "UPDATE severity_level SET definition = 'Ours: page Kim. All hands; page now, any hour.' WHERE level = 'sev1'")
        }
        let database = AppDatabase(queue)
        try database.migrate()
        let words = Dictionary(uniqueKeysWithValues: try await database.severityDefinitions().map { ($0.level, $0.definition) })
        #expect(words[.sev2] == SeverityDefinition.defaults[1].definition)
        #expect(words[.sev2]?.contains("Page") == false)
        #expect(words[.sev1] == "Ours: page Kim. All hands; page now, any hour.")
    }

    @Test func aDatabaseFromANewerBelayIsRefused() throws {
        let queue = try DatabaseQueue()
        try AppDatabase.migrator.migrate(queue)
        try queue.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
        }
        #expect(throws: StorageUnavailable.self) { try AppDatabase(queue).migrate() }
    }
}
