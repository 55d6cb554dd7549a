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

    /// Generous: the whole Swift suite runs in parallel on two cores, and every new connection pays for
    /// SCRAM's key derivation in a debug build. A bound this loose still ends a hung test.
    static let operationTimeout: Duration = .seconds(120)

    /// One pool for making schemas, shared by every test.
    static let admin: PostgresStore? = url.flatMap { url in
        (try? PostgresURL.parse(url).configuration).map { PostgresStore(configuration: $0, logger: logger, operationTimeout: operationTimeout) }
    }

    /// The configuration of a store in a new, empty schema.
    static func freshSchema() async throws -> PostgresClient.Configuration {
        let url = try #require(Self.url, "BELAY_TEST_POSTGRES_URL is not set; run tests through scripts/test or scripts/postgres")
        let schema = "test_\(UInt64.random(in: 0...UInt64.max))"
        var configuration = try PostgresURL.parse(url).configuration
        try await #require(admin).client.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)"), logger: logger)
        configuration.options.additionalStartupParameters = [("search_path", schema)]
        // The contract suite never closes its stores: few connections each, closed soon when idle.
        configuration.options.maximumConnections = 4
        configuration.options.connectionIdleTimeout = .seconds(5)
        return configuration
    }

    /// A fresh, empty, migrated store in a new schema.
    static func makeStore() async throws -> PostgresStore {
        let store = PostgresStore(configuration: try await freshSchema(), logger: logger, operationTimeout: operationTimeout)
        try await store.migrate()
        return store
    }
}
