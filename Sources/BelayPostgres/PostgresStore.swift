import BelayCore
import Foundation
import Logging
import NIOPosix
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Belay's data on PostgreSQL: the store protocols over a `PostgresClient` pool, for any number of replicas
/// on one database. Persistence only, like `AppDatabase`: every decision is BelayCore's.
///
/// Writes are serialized by one transaction-level advisory lock, as SQLite's single writer serializes them.
/// That is what keeps the event log in commit order across replicas (a reader paging by sequence never sees
/// a later number before an earlier one commits), and it lets every read-modify-write run under READ
/// COMMITTED without lost updates. Reads take no lock.
public final class PostgresStore: Sendable {
    public let client: PostgresClient
    public let feed = EventFeed()
    let logger: Logger
    /// How long one operation may wait for the database (a connection, a lock, a query) before it is
    /// answered as unavailable, so a stalled server becomes 503s, never hung requests.
    let operationTimeout: Duration
    private let runner: Task<Void, Never>

    /// Takes the advisory lock every write transaction takes first, until the transaction ends. Locks are per
    /// database, so the key names the schema too: two installs in one database (or tests, a schema each)
    /// never wait for each other.
    static let takeWriterLock: PostgresQuery = "SELECT pg_advisory_xact_lock(hashtext('belay:' || current_schema()), 1)"
    /// The advisory lock migrations run under, so replicas starting together migrate once.
    static let takeMigrationLock: PostgresQuery = "SELECT pg_advisory_xact_lock(hashtext('belay:' || current_schema()), 2)"
    /// The channel a commit notifies with its head, waking the other replicas' feeds.
    static let eventChannel = "belay_events"

    /// Starts the pool; call `migrate()` before use (`connect` does).
    public init(configuration: PostgresClient.Configuration, logger: Logger, operationTimeout: Duration = .seconds(10)) {
        var configuration = configuration
        // The server ends what the client gave up on: a statement past the operation timeout is cancelled
        // there, so an abandoned query does not go on holding the writer lock. A wait for the writer lock gives
        // up at half the timeout, before the client does, so a write answered 503 has been rolled back rather
        // than committed later, once the lock came free.
        let seconds = max(1, Int(operationTimeout.components.seconds))
        let lockWait = max(250, Int(operationTimeout.components.seconds) * 500 + Int(operationTimeout.components.attoseconds / 2_000_000_000_000_000))
        configuration.options.additionalStartupParameters += [
            ("statement_timeout", "\(seconds + 5)s"), ("lock_timeout", "\(lockWait)ms"),
            ("idle_in_transaction_session_timeout", "\(seconds * 6)s"),
        ]
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.logger = logger
        self.operationTimeout = operationTimeout
        runner = Task { await client.run() }
    }

    /// Connects to the database `url` names, migrates it, and returns the store. A database that cannot be
    /// used (refused, wrong password, no such database) fails here with PostgreSQL's reason, not later.
    public static func connect(url: String, logger: Logger, operationTimeout: Duration = .seconds(10)) async throws -> PostgresStore {
        let parsed = try PostgresURL.parse(url)
        try await probe(parsed, logger: logger)
        let store = PostgresStore(configuration: try parsed.configuration, logger: logger, operationTimeout: operationTimeout)
        do {
            try await store.migrate()
        } catch {
            store.close()
            throw error
        }
        return store
    }

    /// One connection and `SELECT 1`, so a bad address or password is reported at once with its reason
    /// (the pool would only retry quietly until the operation timeout).
    static func probe(_ url: PostgresURL, logger: Logger) async throws {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: try url.connectionConfiguration, id: 0, logger: logger)
        } catch {
            throw Unusable(url: url.redacted, reason: describe(error))
        }
        defer { Task { try? await connection.close() } }
        do {
            try await connection.query("SELECT 1", logger: logger)
        } catch {
            throw Unusable(url: url.redacted, reason: describe(error))
        }
    }

    /// Why a database cannot be used, with the URL shown without its password.
    public struct Unusable: Error, CustomStringConvertible {
        public var url: String
        public var reason: String
        public var description: String { "cannot use the database \(url): \(reason)" }
    }

    /// PostgreSQL's own message for a server error (which names no secret), else the kind of failure.
    public static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let refused = error.underlying as? NIOConnectionError {
                let errors = refused.connectionErrors.map { String(describing: $0.error) }
                if refused.dnsAError != nil && refused.dnsAAAAError != nil { return "no such host \(refused.host)" }
                return "nothing accepted a connection at \(refused.host):\(refused.port) (is PostgreSQL running and listening there?): "
                    + (errors.first ?? "no address answered")
            }
            if let underlying = error.underlying { return String(describing: underlying) }
            return "\(error.code)"
        }
        if let error = error as? StorageUnavailable { return error.reason }
        return String(describing: error)
    }

    /// Closes the pool; operations after this fail.
    public func close() { runner.cancel() }

    // MARK: Transactions

    /// Runs a write transaction under the writer lock that appends the events it returns, in the same
    /// transaction, recording who acted (from the task's `WriteContext`); once it commits, the feed announces
    /// the new head here, and NOTIFY announces it to the other replicas.
    func write<T: Sendable>(_ updates: @escaping @Sendable (PostgresConnection) async throws -> Written<T>) async throws -> T {
        let context = WriteContext.current
        let logger = logger
        let (value, head) = try await transaction { connection -> (T, Int64?) in
            let written = try await updates(connection)
            var head: Int64?
            for group in written.groups {
                let acting = group.actor.map { WriteContext(actor: $0, announce: context.announce) } ?? context
                head = try await Self.append(group.events, context: acting, connection, logger: logger) ?? head
            }
            if let head {
                // Delivered at commit, and only if it commits.
                try await Self.perform("SELECT pg_notify(\(Self.eventChannel), \(String(head)))", connection, logger: logger)
            }
            return (written.value, head)
        }
        if let head { feed.publish(head) }
        return value
    }

    /// A write that changes nothing the event log records (sessions, raw check results), under the same lock.
    func quietWrite<T: Sendable>(_ updates: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await transaction(updates)
    }

    /// Reads on one pooled connection (a snapshot per statement; wrap several statements that must agree
    /// in `consistentRead`).
    func read<T: Sendable>(_ value: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await bounded { [client] in try await client.withConnection { connection in try await value(connection) } }
    }

    /// Reads in one REPEATABLE READ transaction, so every statement sees the same snapshot.
    func consistentRead<T: Sendable>(_ value: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let logger = logger
        return try await bounded { [client] in
            try await Self.unwrapping {
                try await client.withTransaction(logger: logger) { connection in
                    try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
                    return try await value(connection)
                }
            }
        }
    }

    private func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let logger = logger
        return try await bounded { [client] in
            try await Self.unwrapping {
                try await client.withTransaction(logger: logger) { connection in
                    try await Self.perform(Self.takeWriterLock, connection, logger: logger)
                    return try await body(connection)
                }
            }
        }
    }

    /// Runs a SELECT whose rows do not matter, reading them to the end: PostgreSQL reports a statement's
    /// failure after its row description, on the row stream, so an unread SELECT (a lock wait that hit
    /// lock_timeout) would fail silently and leave the transaction aborted for the next statement.
    static func perform(_ query: PostgresQuery, _ connection: PostgresConnection, logger: Logger) async throws {
        for try await _ in try await connection.query(query, logger: logger) {}
    }

    /// The closure's own error comes out as itself (a `DomainError` stays a 422), not wrapped.
    static func unwrapping<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch let error as PostgresTransactionError {
            if let closureError = error.closureError, error.rollbackError == nil { throw closureError }
            throw StorageFault.classify(error.beginError ?? error.commitError ?? error.rollbackError ?? error.closureError ?? error)
        }
    }

    /// Runs `work` within the operation timeout; the database's faults become `StorageUnavailable`. The caller
    /// is answered at the timeout even if the work does not notice its cancellation (a query blocked in the
    /// server): the work goes on in the background until the server's own timeouts end it.
    func bounded<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let timeout = operationTimeout
        let race = Race<T>()
        let task = Task {
            do { race.finish(.success(try await work())) } catch { race.finish(.failure(error)) }
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            race.finish(.failure(StorageUnavailable(reason: "the database did not answer within \(timeout)")))
        }
        let result = await withTaskCancellationHandler {
            await race.result()
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
        task.cancel()
        timer.cancel()
        do {
            return try result.get()
        } catch {
            throw StorageFault.classify(error)
        }
    }
}

/// The first of several outcomes, handed to one waiter.
final class Race<T: Sendable>: Sendable {
    private let state = Mutex<(outcome: Result<T, any Error>?, waiter: CheckedContinuation<Result<T, any Error>, Never>?)>((nil, nil))

    func finish(_ outcome: Result<T, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<Result<T, any Error>, Never>? in
            guard state.outcome == nil else { return nil }
            state.outcome = outcome
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: outcome)
    }

    func result() async -> Result<T, any Error> {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Result<T, any Error>? in
                if let outcome = state.outcome { return outcome }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

}
