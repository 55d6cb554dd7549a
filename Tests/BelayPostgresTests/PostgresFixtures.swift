import BelayCore
import BelayPostgres
import BelayTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

/// The server the tests use: BELAY_TEST_POSTGRES_URL (scripts/postgres starts a throwaway cluster and prints
/// it). Each store gets a schema of its own, so tests run in parallel on one database.
enum TestDatabase {
    static let url = ProcessInfo.processInfo.environment["BELAY_TEST_POSTGRES_URL"]

    /// Set, or the suite is skipped outside CI; scripts/test always sets it.
    /// In CI (CI set) the suite always runs, so a missing server fails it rather than skipping it.
    static var isAvailable: Bool { url != nil || ProcessInfo.processInfo.environment["CI"] != nil }

    static let logger: Logger = {
        var logger = Logger(label: "belay.postgres.test")
        logger.logLevel = .warning
        return logger
    }()

    /// A fresh, empty, migrated store in a new schema.
    static func makeStore() async throws -> PostgresStore {
        let url = try #require(Self.url, "BELAY_TEST_POSTGRES_URL is not set; run tests through scripts/test or scripts/postgres")
        let schema = "test_\(UInt64.random(in: 0...UInt64.max))"
        var configuration = try PostgresURL.parse(url).configuration
        let admin = PostgresStore(configuration: configuration, logger: logger)
        defer { admin.close() }
        try await admin.client.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)"), logger: logger)
        configuration.options.additionalStartupParameters = [("search_path", schema)]
        // The contract suite never closes its stores: few connections each, closed soon when idle.
        configuration.options.maximumConnections = 4
        configuration.options.connectionIdleTimeout = .seconds(5)
        let store = PostgresStore(configuration: configuration, logger: logger)
        try await store.migrate()
        return store
    }
}
