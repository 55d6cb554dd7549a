import BelayCore
import Foundation
import PostgresNIO

/// Sorts the database's failures into "try again later" (`StorageUnavailable`, a 503) and everything else.
/// A server or connection that is down, restarting, read-only or out of resources is unavailable; a bug
/// in a query stays a plain error, logged as a 500.
enum StorageFault {
    static func classify(_ error: any Error) -> any Error {
        switch error {
        case is StorageUnavailable, is DomainError, is CancellationError: return error
        case let error as PSQLError: return classify(error)
        default: return error
        }
    }

    static func classify(_ error: PSQLError) -> any Error {
        guard error.code == .server else {
            // Connecting, TLS, a closed connection or pool: the server is not there for us right now.
            return StorageUnavailable(reason: "the database connection failed (\(error.code))")
        }
        let state = error.serverInfo?[.sqlState] ?? ""
        if let reason = unavailableReason(sqlState: state) { return StorageUnavailable(reason: reason) }
        return error
    }

    /// SQLSTATE classes that mean the database cannot take work now (PostgreSQL's appendix A).
    static func unavailableReason(sqlState state: String) -> String? {
        switch state {
        case "25006": return "the database is read-only (a standby?)"
        case "57P01", "57P02", "57P03": return "the database is shutting down or starting (\(state))"
        case "53100": return "the database's disk is full"
        case "57014": return "the database cancelled a statement that ran past the operation timeout"
        case "55P03": return "the database lock was not granted within the operation timeout"
        default: break
        }
        if state.hasPrefix("08") { return "the database connection failed (\(state))" }
        if state.hasPrefix("53") { return "the database is out of resources (\(state))" }
        if state.hasPrefix("58") { return "the database reported a system error (\(state))" }
        return nil
    }

    /// The constraint a unique violation (23505) names, if `error` is one.
    static func uniqueViolation(_ error: any Error) -> String? {
        guard let error = error as? PSQLError, error.code == .server, error.serverInfo?[.sqlState] == "23505" else { return nil }
        return error.serverInfo?[.constraintName] ?? ""
    }
}
