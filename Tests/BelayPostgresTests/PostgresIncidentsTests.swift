import BelayCore
import Foundation
import PostgresNIO
import Testing

@testable import BelayPostgres

/// Incidents and maintenance on PostgreSQL: the row helpers ingestion shares, and the store methods through
/// the protocols, checked as Tests/BelaySQLiteTests and the store contract check them on SQLite.
@Suite(.enabled(if: TestDatabase.isAvailable, "needs BELAY_TEST_POSTGRES_URL"))
struct PostgresIncidentsTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    /// Components written as rows, so these tests need nothing but the row helpers.
    static func insertComponents(_ slugs: [String], publicAutomatic: Set<String> = [], _ store: PostgresStore) async throws {
        for (position, slug) in slugs.enumerated() {
            try await store.client.query(
                """
                INSERT INTO component (slug, name, description, isPublic, automaticIncidentsPublic, position, createdAt, updatedAt)
                VALUES (\(slug), \(slug), '', true, \(publicAutomatic.contains(slug)), \(position), 0, 0)
                """, logger: TestDatabase.logger)
        }
    }

    @Test func savedIncidentReadsBackWithItsImpactsUpdatesAndEntryIDs() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await Self.insertComponents(["api", "db"], publicAutomatic: ["db"], store)
        let draft = IncidentDraft(
            title: "Errors", severity: .sev2,
            impacts: [ComponentImpact(slug: "db", impact: .majorOutage), ComponentImpact(slug: "api", impact: .partialOutage)],
            message: "Looking into it")
        let logger = TestDatabase.logger
        let (saved, entries) = try await store.quietWrite { connection -> (Incident, [TimelineEntry]) in
            let known = try await PostgresStore.knownComponents(connection, logger: logger)
            #expect(known == ["api", "db"])
            #expect(try await PostgresStore.publicAutomaticComponents(connection, logger: logger) == ["db"])
            var (incident, entries) = try Incident.declare(draft, author: "ana", knownComponents: known, now: Self.now)
            let before = try await PostgresStore.openIncidents(connection, logger: logger)
            entries = try await PostgresStore.saveIncident(&incident, entries: entries, connection, logger: logger)
            let events = try await PostgresStore.statusEvents(
                before: before, changed: incident, slugs: incident.impacts.map(\.slug), now: Self.now, connection, logger: logger)
            #expect(events.map(\.type) == ["component.status_changed", "component.status_changed"])
            return (incident, entries)
        }
        #expect(saved.id > 0)
        #expect(saved.updates.count == 1 && saved.updates[0].id > 0)
        #expect(entries.map(\.kind) == [.declared, .update])
        #expect(entries.allSatisfy { $0.incidentID == saved.id })
        #expect(entries[0].id > 0 && entries[1].id > entries[0].id)

        let (fetched, open) = try await store.read { connection in
            (try await PostgresStore.fetchIncident(saved.id, connection, logger: logger), try await PostgresStore.openIncidents(connection, logger: logger))
        }
        #expect(fetched == saved)
        #expect(fetched?.impacts.map(\.slug) == ["db", "api"])
        #expect(open == [saved])
        #expect(try await store.read { try await PostgresStore.fetchIncident(saved.id + 100, $0, logger: logger) } == nil)
        #expect(try await store.timeline(incidentID: saved.id) == entries)
    }

    @Test func savingAgainUpdatesInPlaceAndAddsOnlyNewUpdates() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await Self.insertComponents(["api", "db"], store)
        let logger = TestDatabase.logger
        let first = try await store.quietWrite { connection -> Incident in
            var (incident, entries) = try Incident.declare(
                IncidentDraft(title: "Slow", severity: .sev3, impacts: [ComponentImpact(slug: "api", impact: .degradedPerformance)], message: "Slow"),
                author: "ana", knownComponents: ["api", "db"], now: Self.now)
            _ = try await PostgresStore.saveIncident(&incident, entries: entries, connection, logger: logger)
            return incident
        }
        let later = Self.now.addingTimeInterval(60)
        let second = try await store.quietWrite { connection -> Incident in
            guard var incident = try await PostgresStore.fetchIncident(first.id, connection, logger: logger) else { throw DomainError.notFound(what: "incident", id: "") }
            let entries = try incident.postUpdate(
                status: .resolved, message: "Fixed", impacts: [ComponentImpact(slug: "db", impact: .degradedPerformance)], knownComponents: ["api", "db"],
                author: "ana", now: later)
            let saved = try await PostgresStore.saveIncident(&incident, entries: entries, connection, logger: logger)
            #expect(saved.count == entries.count)
            return incident
        }
        #expect(second.id == first.id)
        #expect(second.updates.count == 2 && second.updates[0].id == first.updates[0].id && second.updates[1].id > first.updates[0].id)
        let fetched = try await store.read { try await PostgresStore.fetchIncident(first.id, $0, logger: logger) }
        #expect(fetched == second)
        #expect(fetched?.status == .resolved)
        #expect(fetched?.impacts == [ComponentImpact(slug: "db", impact: .degradedPerformance)])
        #expect(try await store.read { try await PostgresStore.openIncidents($0, logger: logger) }.isEmpty)
    }

    @Test func updatingAnIncidentThatIsNotStoredIsNotFound() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let logger = TestDatabase.logger
        let now = Self.now
        await #expect(throws: DomainError.self) {
            try await store.quietWrite { connection in
                var ghost = Incident(id: 77, title: "Ghost", severity: .sev3, createdAt: now, updatedAt: now)
                _ = try await PostgresStore.saveIncident(&ghost, entries: [], connection, logger: logger)
            }
        }
    }
}
