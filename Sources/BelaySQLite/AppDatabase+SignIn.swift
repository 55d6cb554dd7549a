import BelayCore
import Foundation
import GRDB

/// Failed sign-ins, one row per attempt per key, so every replica on the database counts the same ones.
/// Bounded: rows older than the window are deleted on every write, and a key gets a new row only while it
/// is under its limit, so a key holds at most its limit (10 per account-and-client pair, 50 per client by
/// default). A client spraying accounts therefore adds at most 2 × 50 rows per window.
extension AppDatabase {
    static func createSignInFailures(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE sign_in_failure (
              id INTEGER PRIMARY KEY AUTOINCREMENT,
              key TEXT NOT NULL, attempt TEXT NOT NULL, failedAt DOUBLE NOT NULL);
            CREATE INDEX sign_in_failure_key ON sign_in_failure (key, failedAt);
            CREATE INDEX sign_in_failure_time ON sign_in_failure (failedAt);
            CREATE INDEX sign_in_failure_attempt ON sign_in_failure (attempt);
            """)
    }

    public func recordSignInFailure(
        attempt: String, keys: [String], at: Date, since: Date, if allow: @escaping @Sendable ([Int]) -> Bool
    ) async throws -> Bool {
        // Counting and recording in one write transaction: concurrent attempts, here or on another
        // replica, are serialized by SQLite's single writer, so none sees a count another has already passed.
        try await quietWrite { db in
            try db.execute(sql: "DELETE FROM sign_in_failure WHERE failedAt < ?", arguments: [since.timeIntervalSince1970])
            let counts = try keys.map { key in try Self.count(key: key, since: since, db) }
            guard allow(counts) else { return false }
            for key in keys {
                try db.execute(
                    sql: "INSERT INTO sign_in_failure (key, attempt, failedAt) VALUES (?, ?, ?)",
                    arguments: [key, attempt, at.timeIntervalSince1970])
            }
            return true
        }
    }

    public func signInFailures(key: String, since: Date) async throws -> Int {
        try await read { db in try Self.count(key: key, since: since, db) }
    }

    public func clearSignInFailures(attempt: String, key: String) async throws {
        try await quietWrite { db in
            try db.execute(sql: "DELETE FROM sign_in_failure WHERE attempt = ? OR key = ?", arguments: [attempt, key])
        }
    }

    private static func count(key: String, since: Date, _ db: Database) throws -> Int {
        try Int.fetchOne(
            db, sql: "SELECT COUNT(*) FROM sign_in_failure WHERE key = ? AND failedAt >= ?", arguments: [key, since.timeIntervalSince1970]) ?? 0
    }
}
