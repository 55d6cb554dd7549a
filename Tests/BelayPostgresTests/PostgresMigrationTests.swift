import BelayCore
import BelayPostgres
import Foundation
import PostgresNIO
import Testing

@Suite(.enabled(if: TestDatabase.isAvailable, "needs BELAY_TEST_POSTGRES_URL"))
struct PostgresMigrationTests {
    @Test func migratesOnceAndAgainIsANoOp() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let first = try await store.appliedMigrations()
        #expect(first.first == "v1-foundation")
        #expect(first.contains("v10-sign-in-throttle"))
        try await store.migrate()
        #expect(try await store.appliedMigrations() == first)
    }

    @Test func aMigrationMissingFromTheDatabaseIsReportedPendingAndANewerOneUnknown() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let known = try await store.migrationStatus().known
        let last = try #require(known.last)
        try await store.client.query("DELETE FROM belay_migration WHERE identifier = \(last)", logger: TestDatabase.logger)
        try await store.client.query(
            "INSERT INTO belay_migration (identifier, appliedAt) VALUES ('v999-from-the-future', 0)", logger: TestDatabase.logger)
        let status = try await store.migrationStatus()
        #expect(status.pending == [last])
        #expect(status.unknown == ["v999-from-the-future"])
        #expect(!status.isUpToDate)
    }

    @Test func eventLogStartsEmpty() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        #expect(try await store.eventHead() == 0)
        #expect(try await store.events(after: 0, limit: 10).isEmpty)
        #expect(try await store.prunedThrough() == 0)
    }
}
