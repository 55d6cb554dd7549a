import BelayCore
@testable import BelayPostgres
import Foundation
import PostgresNIO
import Testing

/// The writer lock's failures must surface where the lock was asked for: PostgreSQL reports a SELECT's
/// error on its row stream, and an unread one once let a lock timeout pass silently, so the write went on in
/// an aborted transaction and answered 500 instead of 503.
@Suite(.enabled(if: TestDatabase.isAvailable)) struct PostgresWriterLockTests {
    @Test func aWriterLockThatTimesOutFailsTheStatementThatAskedForIt() async throws {
        let store = try await TestDatabase.makeStore()
        let logger = TestDatabase.logger
        try await store.client.withTransaction(logger: logger) { holder in
            try await PostgresStore.perform(PostgresStore.takeWriterLock, holder, logger: logger)
            try await store.client.withConnection { waiter in
                try await waiter.query("SET lock_timeout = '200ms'", logger: logger)
                await #expect(throws: PSQLError.self) {
                    try await PostgresStore.perform(PostgresStore.takeWriterLock, waiter, logger: logger)
                }
                try await waiter.query("RESET lock_timeout", logger: logger)
            }
        }
    }

    @Test func aWriteWhileAnotherHoldsTheLockPastTheTimeoutIsUnavailableNotAFailure() async throws {
        let configuration = try await TestDatabase.freshSchema()
        let store = PostgresStore(configuration: configuration, logger: TestDatabase.logger, operationTimeout: TestDatabase.operationTimeout)
        try await store.migrate()
        let short = PostgresStore(configuration: configuration, logger: TestDatabase.logger, operationTimeout: .seconds(1))
        let logger = TestDatabase.logger
        try await store.client.withTransaction(logger: logger) { holder in
            try await PostgresStore.perform(PostgresStore.takeWriterLock, holder, logger: logger)
            await #expect(throws: StorageUnavailable.self) {
                _ = try await short.createComponent(Component(slug: "api", name: "API", createdAt: Date(), updatedAt: Date()))
            }
            // Held past the refused write's own lock wait: had it waited on, it would commit once this ends.
            try await Task.sleep(for: .seconds(2))
        }
        // Answered 503, so not stored: the client's retry must not meet its own earlier write.
        #expect(try await store.components().allSatisfy { $0.slug != "api" })
        // Once the lock is free, the same write goes through.
        _ = try await store.createComponent(Component(slug: "api", name: "API", createdAt: Date(), updatedAt: Date()))
    }
}
