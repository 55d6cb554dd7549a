import BelayCore
@testable import BelaySQLite
import Crypto
import BelayTestSupport
import Foundation
import GRDB
import Testing

@Suite struct AppDatabaseTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000.125)

    @Test func aNewFileIsInWALModeWithFullSynchronousByDefault() async throws {
        let (database, directory) = try Fixtures.fileDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (journal, synchronous) = try await database.writer.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
        }
        #expect(journal == "wal")
        #expect(synchronous == 2)  // FULL
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("belay.sqlite").path))
    }

    @Test func synchronousIsConfigurable() async throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try AppDatabase.open(directory: directory, synchronous: .normal)
        let synchronous = try await database.writer.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(synchronous == 1)  // NORMAL
    }

    @Test func anIncidentRoundTripsThroughTheFileAndSurvivesReopening() async throws {
        let (database, directory) = try Fixtures.fileDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await Fixtures.seedComponents(database, at: now)
        let draft = IncidentDraft(
            title: "Exports failing", severity: .sev2,
            impacts: [ComponentImpact(slug: "exports", impact: .majorOutage), ComponentImpact(slug: "api", impact: .degradedPerformance)],
            message: "Investigating", roles: Roles(commander: "Dana"), milestones: Milestones(impactStartedAt: now.addingTimeInterval(-3600)))
        let (declared, entries) = try await database.declareIncident(draft, author: "alice", now: now)
        #expect(declared.id > 0)
        #expect(entries.allSatisfy { $0.id > 0 && $0.incidentID == declared.id })
        _ = try await database.updateIncident(id: declared.id) { incident, known in
            try incident.postUpdate(status: .identified, message: "Found the cause", knownComponents: known, author: "bob", now: now.addingTimeInterval(60))
        }

        let reopened = try AppDatabase.open(directory: directory)
        let loaded = try #require(try await reopened.incident(id: declared.id))
        #expect(loaded.title == "Exports failing")
        #expect(loaded.status == .identified)
        #expect(loaded.impacts == draft.impacts)
        #expect(loaded.milestones.impactStartedAt == now.addingTimeInterval(-3600))
        #expect(loaded.roles.commander == "Dana")
        #expect(loaded.updates.map(\.body) == ["Investigating", "Found the cause"])
        #expect(loaded.updates[0].affectedComponents.count == 2)
        let timeline = try await reopened.timeline(incidentID: declared.id)
        #expect(timeline.first?.kind == .milestone)  // the backdated impact start sorts first, by when it happened
        let toIdentified = timeline.contains { entry in
            if case .statusChanged(_, .identified) = entry.fact { return true }
            return false
        }
        #expect(toIdentified)
        #expect(timeline.map(\.occurredAt) == timeline.map(\.occurredAt).sorted())
    }

    @Test func aChangeThatThrowsHalfwayLeavesNothingBehind() async throws {
        let (database, directory) = try Fixtures.fileDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await Fixtures.seedComponents(database, at: now)
        let (incident, _) = try await database.declareIncident(
            IncidentDraft(title: "t", severity: .sev3, impacts: [ComponentImpact(slug: "api", impact: .partialOutage)], message: "m"), author: "a", now: now)
        let before = try await database.incident(id: incident.id)
        let timelineBefore = try await database.timeline(incidentID: incident.id)
        await #expect(throws: DomainError.self) {
            _ = try await database.updateIncident(id: incident.id) { incident, known in
                _ = try incident.setSeverity(.sev1, author: "a", now: now)
                _ = try incident.postUpdate(status: .resolved, message: "done", knownComponents: known, author: "a", now: now)
                // The resolve succeeded in memory; this second resolve must abort the whole transaction.
                return try incident.changeStatus(to: .resolved, author: "a", now: now)
            }
        }
        #expect(try await database.incident(id: incident.id) == before)
        #expect(try await database.timeline(incidentID: incident.id) == timelineBefore)
    }

    @Test func componentsKeepTheirDependenciesAndRefuseUnsafeDeletes() async throws {
        let database = try AppDatabase.inMemory()
        try await Fixtures.seedComponents(database, at: now)
        let api = try #require(try await database.component(slug: "api"))
        #expect(api.dependsOn == ["database"])
        await #expect(throws: DomainError.self) { try await database.deleteComponent(slug: "database") }  // api depends on it
        await #expect(throws: DomainError.self) { try await database.createComponent(Fixtures.component("api", at: now)) }  // duplicate
        await #expect(throws: DomainError.self) {
            _ = try await database.updateComponent(slug: "database") { $0.dependsOn = ["website"] }  // database -> website -> api -> database
        }
        #expect(try await database.component(slug: "database")?.dependsOn == [])
        _ = try await database.declareIncident(
            IncidentDraft(title: "t", severity: .sev3, impacts: [ComponentImpact(slug: "website", impact: .partialOutage)]), author: "a", now: now)
        await #expect(throws: DomainError.self) { try await database.deleteComponent(slug: "website") }  // history names it
        try await database.deleteComponent(slug: "exports")
        #expect(try await database.components().map(\.slug).sorted() == ["api", "database", "website"])
    }

    @Test func queriesFilterOpenPublicAndRecentIncidents() async throws {
        let database = try AppDatabase.inMemory()
        let (a, _) = try await database.declareIncident(IncidentDraft(title: "a", severity: .sev3), author: "x", now: now)
        _ = try await database.declareIncident(IncidentDraft(title: "b", severity: .sev3, isPublic: false), author: "x", now: now)
        _ = try await database.updateIncident(id: a.id) { incident, _ in try incident.changeStatus(to: .resolved, author: "x", now: now) }
        #expect(try await database.incidents(IncidentQuery()).count == 2)
        #expect(try await database.incidents(IncidentQuery(openOnly: true)).map(\.title) == ["b"])
        #expect(try await database.incidents(IncidentQuery(publicOnly: true)).map(\.title) == ["a"])
        #expect(try await database.incidents(IncidentQuery(activeSince: now.addingTimeInterval(1))).map(\.title) == ["b"])
    }

    @Test func maintenanceWindowsRoundTripWithTheirUpdates() async throws {
        let database = try AppDatabase.inMemory()
        try await Fixtures.seedComponents(database, at: now)
        let window = try await database.scheduleMaintenance(
            MaintenanceDraft(title: "Subnet change", components: ["api", "database"], scheduledStart: now.addingTimeInterval(86400), scheduledEnd: now.addingTimeInterval(90000)),
            author: "ops", now: now)
        _ = try await database.updateMaintenance(id: window.id) { try $0.transition(to: .cancelled, message: "Cancelled the night before", author: "ops", now: now) }
        let loaded = try #require(try await database.maintenance(id: window.id))
        #expect(loaded.status == .cancelled)
        #expect(loaded.components == ["api", "database"])
        #expect(loaded.updates.map(\.status) == [.scheduled, .cancelled])
        await #expect(throws: DomainError.self) {
            _ = try await database.updateMaintenance(id: window.id) { try $0.transition(to: .inProgress, message: nil, author: "ops", now: now) }
        }
    }

    @Test func tokensAreFoundByHashAndRevocationSticks() async throws {
        let database = try AppDatabase.inMemory()
        #expect(try await database.hasActiveToken(role: .admin) == false)
        let token = try await database.createToken(APIToken(name: "ci", role: .admin, tokenHash: "abc", createdAt: now))
        #expect(try await database.token(hash: "abc")?.id == token.id)
        #expect(try await database.hasActiveToken(role: .admin))
        // The only admin token cannot go: nobody could administer Belay through the API afterwards.
        await #expect(throws: DomainError.self) { _ = try await database.revokeToken(id: token.id, now: now) }
        let second = try await database.createToken(APIToken(name: "ops", role: .admin, tokenHash: "def", createdAt: now))
        _ = try await database.revokeToken(id: token.id, now: now)
        #expect(try await database.token(hash: "abc")?.isRevoked == true)
        #expect(try await database.hasActiveToken(role: .admin))
        await #expect(throws: DomainError.self) { _ = try await database.revokeToken(id: second.id, now: now) }
    }

    @Test func everyCommittedWriteAnnouncesItsEventAndFailedOnesDoNot() async throws {
        let database = try AppDatabase.inMemory()
        let start = database.feed.head
        _ = try await database.createComponent(Fixtures.component("api", at: now))
        #expect(database.feed.head == start + 1)
        await #expect(throws: DomainError.self) { _ = try await database.createComponent(Fixtures.component("api", at: now)) }
        #expect(database.feed.head == start + 1)
        #expect(try await database.eventHead() == start + 1)
    }

    @Test func severityDefinitionsStartWithDefaultsAndCanBeRewritten() async throws {
        let database = try AppDatabase.inMemory()
        #expect(try await database.severityDefinitions() == SeverityDefinition.defaults)
        var sev3 = SeverityDefinition.defaults[2]
        sev3.urgency = .high
        sev3.definition = "Anything customers can see pages someone."
        try await database.saveSeverityDefinition(sev3)
        #expect(try await database.severityDefinitions()[2] == sev3)
    }
}

@Suite struct SecretMigrationTests {
    /// A database made before heartbeat tokens were hashed keeps working: the token in its monitor row is
    /// replaced by its hash, and the same ping URL still finds the monitor.
    @Test func heartbeatTokensStoredInClearAreHashedAndStillWork() async throws {
        let queue = try DatabaseQueue()
        try AppDatabase.migrator.migrate(queue, upTo: "v4-changes")
        let token = "an-old-clear-heartbeat-token"
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO monitor (name, kind, settings, intervalSeconds, timeoutSeconds, failureThreshold, successThreshold, severity,
                        isPaused, heartbeatToken, status, since, consecutiveFailures, consecutiveSuccesses, createdAt, updatedAt)
                    VALUES ('backup', 'heartbeat', '{}', 3600, 10, 1, 1, 'sev2', 0, ?, 'pending', 0, 0, 0, 0, 0)
                    """, arguments: [token])
        }
        let database = AppDatabase(queue)
        try database.migrate()
        let stored = try await queue.read { db in try Row.fetchOne(db, sql: "SELECT heartbeatToken, heartbeatTokenHash FROM monitor") }
        #expect(stored?["heartbeatToken"] as String? == nil)
        let hash: String? = stored?["heartbeatTokenHash"]
        #expect(hash == SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined())
        let pinged = try await database.recordHeartbeat(tokenHash: try #require(hash), at: Date(timeIntervalSince1970: 100))
        #expect(pinged.name == "backup")
    }
}
