import BelayCore
import BelayPostgres
import BelaySQLite
import Foundation
import Logging
import ServiceLifecycle

/// The store a command works on: the SQLite file in the data directory, or PostgreSQL with `--database`.
struct OpenedStore {
    var store: any BelayStore
    /// Run beside the server (PostgreSQL's pool and its listener for other replicas' commits).
    var services: [any Service]
    /// Where the data is, for messages and logs (a database URL without its password).
    var location: String
    var close: @Sendable () -> Void

    static func sqlite(_ database: AppDatabase, directory: URL) -> OpenedStore {
        OpenedStore(store: database, services: [], location: directory.path, close: {})
    }

    /// Connects to and migrates the PostgreSQL database `url` names; its failures are one sentence.
    static func postgres(url: String, logger: Logger) async throws -> OpenedStore {
        let store: PostgresStore
        do {
            store = try await PostgresStore.connect(url: url, logger: logger)
        } catch let error as PostgresURL.Invalid {
            throw CLIError(description: "--database: \(error.description)")
        } catch let error as PostgresStore.Unusable {
            throw CLIError(description: error.description)
        } catch {
            throw CLIError(description: "cannot prepare the database: \(PostgresStore.describe(error))")
        }
        let location = (try? PostgresURL.parse(url).redacted) ?? "the PostgreSQL database"
        return OpenedStore(store: store, services: [store], location: location, close: { store.close() })
    }
}
