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

    @Test func eventLogStartsEmpty() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        #expect(try await store.eventHead() == 0)
        #expect(try await store.events(after: 0, limit: 10).isEmpty)
        #expect(try await store.prunedThrough() == 0)
    }
}
