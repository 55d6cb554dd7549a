import BelayCore
import Foundation
import GRDB

/// Replica membership and job leases. On one SQLite file the replicas are processes on one machine (or one
/// process, which then owns everything), but the rules are the same as on PostgreSQL.
extension AppDatabase: LeaseStore {
    static func createLeases(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE replica (id TEXT PRIMARY KEY, renewedAt DOUBLE NOT NULL, until DOUBLE NOT NULL);
            CREATE TABLE job_lease (name TEXT PRIMARY KEY, owner TEXT NOT NULL, until DOUBLE NOT NULL);
            """)
    }

    public func renewReplica(id: String, now: Date, until: Date) async throws -> [ReplicaLease] {
        try await quietWrite { db in
            try db.execute(sql: "DELETE FROM replica WHERE until < ?", arguments: [now.timeIntervalSince1970])
            try db.execute(
                sql: """
                    INSERT INTO replica (id, renewedAt, until) VALUES (?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET renewedAt = excluded.renewedAt, until = excluded.until
                    """, arguments: [id, now.timeIntervalSince1970, until.timeIntervalSince1970])
            return try Row.fetchAll(db, sql: "SELECT id, renewedAt, until FROM replica ORDER BY id").map { row in
                ReplicaLease(
                    id: row["id"], renewedAt: Date(timeIntervalSince1970: row["renewedAt"]), until: Date(timeIntervalSince1970: row["until"]))
            }
        }
    }

    public func removeReplica(id: String) async throws {
        try await quietWrite { db in try db.execute(sql: "DELETE FROM replica WHERE id = ?", arguments: [id]) }
    }

    public func acquireJobLease(name: String, owner: String, now: Date, until: Date) async throws -> Bool {
        try await quietWrite { db in
            try db.execute(
                sql: """
                    INSERT INTO job_lease (name, owner, until) VALUES (?, ?, ?)
                    ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
                    WHERE job_lease.owner = excluded.owner OR job_lease.until < ?
                    """, arguments: [name, owner, until.timeIntervalSince1970, now.timeIntervalSince1970])
            return try String.fetchOne(db, sql: "SELECT owner FROM job_lease WHERE name = ?", arguments: [name]) == owner
        }
    }

    public func releaseJobLease(name: String, owner: String) async throws {
        try await quietWrite { db in
            try db.execute(sql: "DELETE FROM job_lease WHERE name = ? AND owner = ?", arguments: [name, owner])
        }
    }
}
