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

    // MARK: Through the protocols

    static func component(_ slug: String, dependsOn: [String] = []) -> Component {
        Component(slug: slug, name: slug.capitalized, dependsOn: dependsOn, createdAt: now, updatedAt: now)
    }

    static func draft(_ title: String, on slugs: [String] = []) -> IncidentDraft {
        IncidentDraft(
            title: title, severity: .sev2, impacts: slugs.map { ComponentImpact(slug: $0, impact: .partialOutage) }, message: "Looking into it")
    }

    @Test func anIncidentRoundTripsWithItsMilestonesRolesUpdatesAndTimeline() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        for component in [Self.component("database"), Self.component("api", dependsOn: ["database"]), Self.component("exports")] {
            _ = try await store.createComponent(component)
        }
        let now = Self.now
        let draft = IncidentDraft(
            title: "Exports failing", severity: .sev2,
            impacts: [ComponentImpact(slug: "exports", impact: .majorOutage), ComponentImpact(slug: "api", impact: .degradedPerformance)],
            message: "Investigating", roles: Roles(commander: "Dana"), milestones: Milestones(impactStartedAt: now.addingTimeInterval(-3600)))
        let (declared, entries) = try await store.declareIncident(draft, author: "alice", now: now)
        #expect(declared.id > 0)
        #expect(entries.allSatisfy { $0.id > 0 && $0.incidentID == declared.id })
        let (updated, saved) = try await store.updateIncident(id: declared.id) { incident, known in
            try incident.postUpdate(status: .identified, message: "Found the cause", knownComponents: known, author: "bob", now: now.addingTimeInterval(60))
        }
        #expect(saved.allSatisfy { $0.id > 0 && $0.incidentID == declared.id })
        let loaded = try #require(try await store.incident(id: declared.id))
        #expect(loaded == updated)
        #expect(loaded.status == .identified)
        #expect(loaded.impacts == draft.impacts)
        #expect(loaded.milestones.impactStartedAt == now.addingTimeInterval(-3600))
        #expect(loaded.roles.commander == "Dana")
        #expect(loaded.updates.map(\.body) == ["Investigating", "Found the cause"])
        #expect(loaded.updates[0].affectedComponents.count == 2)
        let timeline = try await store.timeline(incidentID: declared.id)
        #expect(timeline.first?.kind == .milestone)  // the backdated impact start sorts first, by when it happened
        #expect(Set(timeline.map(\.id)) == Set((entries + saved).map(\.id)))
        #expect(timeline.map(\.occurredAt) == timeline.map(\.occurredAt).sorted())
        #expect(try await store.incident(id: declared.id + 1000) == nil)
        await #expect(throws: DomainError.self) { _ = try await store.timeline(incidentID: declared.id + 1000) }
        await #expect(throws: DomainError.self) { _ = try await store.updateIncident(id: declared.id + 1000) { _, _ in [] } }
    }

    @Test func aWriteThatThrowsLeavesDataAndLogExactlyAsTheyWere() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        _ = try await store.createComponent(Self.component("api"))
        let (incident, _) = try await store.declareIncident(Self.draft("Errors", on: ["api"]), author: "a", now: Self.now)
        let before = try await store.incident(id: incident.id)
        let head = try await store.eventHead()
        let now = Self.now
        await #expect(throws: DomainError.self) {
            _ = try await store.updateIncident(id: incident.id) { incident, known in
                _ = try incident.setSeverity(.sev1, author: "a", now: now)
                _ = try incident.postUpdate(status: .resolved, message: "done", knownComponents: known, author: "a", now: now)
                // The resolve succeeded in memory; this second resolve must abort the whole transaction.
                return try incident.changeStatus(to: .resolved, author: "a", now: now)
            }
        }
        #expect(try await store.incident(id: incident.id) == before)
        #expect(try await store.eventHead() == head)
        #expect(store.feed.head == head)
        #expect(try await store.timeline(incidentID: incident.id).map(\.kind) == [.declared, .update])
    }

    @Test func everyWriteAppendsItsEventsInOrderWithComponentStatus() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        _ = try await store.createComponent(Self.component("api"))
        let (incident, _) = try await store.declareIncident(Self.draft("Errors", on: ["api"]), author: "a", now: Self.now)
        let now = Self.now
        _ = try await store.updateIncident(id: incident.id) { incident, known in
            try incident.postUpdate(status: .identified, message: "Found it", knownComponents: known, author: "a", now: now)
        }
        let all = try await store.events(after: 0, limit: 100)
        #expect(all.map(\.event.type) == [
            "component.created", "incident.declared", "incident.update_posted", "component.status_changed",
            "incident.status_changed", "incident.update_posted",
        ])
        #expect(all.contains { $0.event == .componentStatusChanged(slug: "api", from: .operational, to: .partialOutage) })
        #expect(all.contains { $0.event == .incident(id: incident.id, fact: .statusChanged(from: .investigating, to: .identified)) })
        let head = try await store.eventHead()
        _ = try await store.updateIncident(id: incident.id) { incident, _ in
            try incident.changeStatus(to: .resolved, author: "a", now: now.addingTimeInterval(60))
        }
        let resolved = try await store.events(after: head, limit: 10).map(\.event)
        #expect(resolved.last == .componentStatusChanged(slug: "api", from: .partialOutage, to: .operational))
    }

    @Test func incidentsListNewestFirstAndHonourLimitAndFilters() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        var ids: [Int64] = []
        for index in 0..<4 {
            let at = Self.now.addingTimeInterval(Double(index) * 60)
            ids.append(try await store.declareIncident(IncidentDraft(title: "Incident \(index)", severity: .sev3, isPublic: index != 2), author: "a", now: at).0.id)
        }
        let resolvedAt = Self.now.addingTimeInterval(600)
        _ = try await store.updateIncident(id: ids[1]) { incident, _ in try incident.changeStatus(to: .resolved, author: "a", now: resolvedAt) }
        #expect(try await store.incidents(IncidentQuery()).map(\.id) == ids.reversed())
        #expect(try await store.incidents(IncidentQuery(limit: 2)).map(\.id) == [ids[3], ids[2]])
        #expect(try await store.incidents(IncidentQuery(limit: 0)).isEmpty)
        #expect(try await store.incidents(IncidentQuery(openOnly: true)).map(\.id) == [ids[3], ids[2], ids[0]])
        #expect(try await store.incidents(IncidentQuery(publicOnly: true)).map(\.id) == [ids[3], ids[1], ids[0]])
        #expect(try await store.incidents(IncidentQuery(openOnly: true, publicOnly: true, limit: 1)).map(\.id) == [ids[3]])
        #expect(try await store.incidents(IncidentQuery(activeSince: resolvedAt)).map(\.id) == ids.reversed())
        #expect(try await store.incidents(IncidentQuery(activeSince: resolvedAt.addingTimeInterval(1))).map(\.id) == [ids[3], ids[2], ids[0]])
    }

    @Test func maintenanceWindowsRoundTripWithTheirUpdatesAndFilters() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        _ = try await store.createComponent(Self.component("database"))
        _ = try await store.createComponent(Self.component("api", dependsOn: ["database"]))
        let now = Self.now
        let window = try await store.scheduleMaintenance(
            MaintenanceDraft(
                title: "Subnet change", components: ["api", "database"], scheduledStart: now.addingTimeInterval(86400),
                scheduledEnd: now.addingTimeInterval(90000)),
            author: "ops", now: now)
        #expect(window.id > 0 && window.updates.allSatisfy { $0.id > 0 })
        #expect(try await store.maintenance(id: window.id) == window)
        _ = try await store.updateMaintenance(id: window.id) { try $0.transition(to: .cancelled, message: "Cancelled the night before", author: "ops", now: now) }
        let loaded = try #require(try await store.maintenance(id: window.id))
        #expect(loaded.status == .cancelled)
        #expect(loaded.components == ["api", "database"])
        #expect(loaded.updates.map(\.status) == [.scheduled, .cancelled])
        let head = try await store.eventHead()
        await #expect(throws: DomainError.self) {
            _ = try await store.updateMaintenance(id: window.id) { try $0.transition(to: .inProgress, message: nil, author: "ops", now: now) }
        }
        await #expect(throws: DomainError.self) { _ = try await store.updateMaintenance(id: window.id + 1000) { _ in } }
        #expect(try await store.maintenance(id: window.id) == loaded)
        #expect(try await store.eventHead() == head)

        let hidden = try await store.scheduleMaintenance(
            MaintenanceDraft(
                title: "Quiet", components: [], scheduledStart: now.addingTimeInterval(3600), scheduledEnd: now.addingTimeInterval(7200), isPublic: false),
            author: "ops", now: now)
        #expect(try await store.maintenances(MaintenanceQuery()).map(\.id) == [window.id, hidden.id])
        #expect(try await store.maintenances(MaintenanceQuery(publicOnly: true)).map(\.id) == [window.id])
        #expect(try await store.maintenances(MaintenanceQuery(endingAfter: now.addingTimeInterval(8000))).map(\.id) == [window.id])
        #expect(try await store.maintenance(id: window.id + 1000) == nil)
    }

    @Test func aWindowStartedByHandOrOnScheduleLogsItsComponentsTransitions() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        _ = try await store.createComponent(Self.component("db"))
        let now = Date()
        let window = try await store.scheduleMaintenance(
            MaintenanceDraft(title: "Upgrade", components: ["db"], scheduledStart: now.addingTimeInterval(3600), scheduledEnd: now.addingTimeInterval(7200)),
            author: "a", now: now)
        var head = try await store.eventHead()
        _ = try await store.updateMaintenance(id: window.id) { try $0.transition(to: .inProgress, message: nil, author: "a", now: now) }
        #expect(try await store.events(after: head, limit: 10).map(\.event) == [
            .maintenanceStatusChanged(id: window.id, from: .scheduled, to: .inProgress),
            .maintenanceUpdatePosted(id: window.id, status: .inProgress),
            .componentStatusChanged(slug: "db", from: .operational, to: .underMaintenance),
        ])
        // Started by hand, the window no longer follows its schedule.
        head = try await store.eventHead()
        _ = try await store.updateMaintenance(id: window.id) { $0.followSchedule(at: now.addingTimeInterval(9000)) }
        #expect(try await store.events(after: head, limit: 10).isEmpty)

        _ = try await store.createComponent(Self.component("cache"))
        let start = now.addingTimeInterval(-60)
        let scheduled = try await store.scheduleMaintenance(
            MaintenanceDraft(title: "Flush", components: ["cache"], scheduledStart: start, scheduledEnd: start.addingTimeInterval(3600)),
            author: "a", now: start.addingTimeInterval(-3600))
        head = try await store.eventHead()
        _ = try await store.updateMaintenance(id: scheduled.id) { $0.followSchedule(at: start.addingTimeInterval(120)) }
        #expect(try await store.events(after: head, limit: 10).map(\.event) == [
            .maintenanceStatusChanged(id: scheduled.id, from: .scheduled, to: .inProgress),
            .componentStatusChanged(slug: "cache", from: .operational, to: .underMaintenance),
        ])
        head = try await store.eventHead()
        _ = try await store.updateMaintenance(id: scheduled.id) { $0.followSchedule(at: start.addingTimeInterval(7200)) }
        #expect(try await store.events(after: head, limit: 10).map(\.event) == [
            .maintenanceStatusChanged(id: scheduled.id, from: .inProgress, to: .completed),
            .componentStatusChanged(slug: "cache", from: .underMaintenance, to: .operational),
        ])
    }

    @Test func rowsCopiedFromOlderOrStrangerInstallsReadBackOrFailWithoutTrapping() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let (incident, _) = try await store.declareIncident(IncidentDraft(title: "Old", severity: .sev3), author: "a", now: Self.now)
        // An entry written before v6 has flat details and no fact (as `belay migrate-data` copies it).
        try await store.client.query(
            """
            INSERT INTO timeline_entry (incidentId, kind, author, occurredAt, recordedAt, text, details)
            VALUES (\(incident.id), 'status_change', 'a', \(Self.now.timeIntervalSince1970 + 1), \(Self.now.timeIntervalSince1970 + 1), 'moved',
              '{"from":"investigating","to":"identified"}')
            """, logger: TestDatabase.logger)
        let legacy = try #require(try await store.timeline(incidentID: incident.id).last)
        #expect(legacy.kind == .statusChange)
        #expect(legacy.fact == TimelineFact(legacyKind: .statusChange, details: ["from": "investigating", "to": "identified"]))
        try await store.client.query("UPDATE incident SET status = 'exploded' WHERE id = \(incident.id)", logger: TestDatabase.logger)
        await #expect(throws: StoredValueInvalid.self) { _ = try await store.incident(id: incident.id) }
        await #expect(throws: StoredValueInvalid.self) { _ = try await store.incidents(IncidentQuery()) }
    }
}
