import BelayCore
import Foundation
import Logging
import PostgresNIO

/// Failed sign-ins, one row per attempt per key, so every replica on the database counts the same ones.
/// Bounded as on SQLite: rows older than the window are deleted on every write, and a key gets a new row only
/// while it is under its limit, so a key holds at most its limit.
extension PostgresStore {
    public func recordSignInFailure(
        attempt: String, keys: [String], at: Date, since: Date, if allow: @escaping @Sendable ([Int]) -> Bool
    ) async throws -> Bool {
        let logger = logger
        // Counting and recording in one transaction under the writer lock: concurrent attempts, here or on
        // another replica, are serialized, so none sees a count another has already passed.
        return try await quietWrite { connection in
            try await connection.query("DELETE FROM sign_in_failure WHERE failedAt < \(since.timeIntervalSince1970)", logger: logger)
            let rows = try await connection.query(
                """
                SELECT key, COUNT(*) FROM sign_in_failure
                WHERE key = ANY(\(keys)) AND failedAt >= \(since.timeIntervalSince1970) GROUP BY key
                """, logger: logger)
            var byKey: [String: Int] = [:]
            for try await (key, count) in rows.decode((String, Int).self) { byKey[key] = count }
            guard allow(keys.map { byKey[$0] ?? 0 }) else { return false }
            let attempts = Array(repeating: attempt, count: keys.count)
            let times = Array(repeating: at.timeIntervalSince1970, count: keys.count)
            try await connection.query(
                """
                INSERT INTO sign_in_failure (key, attempt, failedAt)
                SELECT * FROM UNNEST(\(keys)::TEXT[], \(attempts)::TEXT[], \(times)::DOUBLE PRECISION[])
                """, logger: logger)
            return true
        }
    }

    public func signInFailures(key: String, since: Date) async throws -> Int {
        let logger = logger
        return try await read { connection in
            try await AccountRows.count(
                "SELECT COUNT(*) FROM sign_in_failure WHERE key = \(key) AND failedAt >= \(since.timeIntervalSince1970)", connection, logger: logger)
        }
    }

    public func clearSignInFailures(attempt: String, key: String) async throws {
        let logger = logger
        try await quietWrite { connection in
            _ = try await connection.query("DELETE FROM sign_in_failure WHERE attempt = \(attempt) OR key = \(key)", logger: logger)
        }
    }
}
