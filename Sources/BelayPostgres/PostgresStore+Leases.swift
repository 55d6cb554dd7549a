import BelayCore
import Foundation
import PostgresNIO

/// Replica membership and job leases, shared by every replica on the database.
extension PostgresStore: LeaseStore {
    public func renewReplica(id: String, now: Date, until: Date) async throws -> [ReplicaLease] {
        let logger = logger
        return try await quietWrite { connection in
            try await connection.query("DELETE FROM replica WHERE until < \(now.timeIntervalSince1970)", logger: logger)
            try await connection.query(
                """
                INSERT INTO replica (id, renewedAt, until) VALUES (\(id), \(now.timeIntervalSince1970), \(until.timeIntervalSince1970))
                ON CONFLICT (id) DO UPDATE SET renewedAt = excluded.renewedAt, until = excluded.until
                """, logger: logger)
            var live: [ReplicaLease] = []
            let rows = try await connection.query("SELECT id, renewedAt, until FROM replica ORDER BY id COLLATE \"C\"", logger: logger)
            for try await (replica, renewedAt, until) in rows.decode((String, Double, Double).self) {
                live.append(ReplicaLease(id: replica, renewedAt: Date(timeIntervalSince1970: renewedAt), until: Date(timeIntervalSince1970: until)))
            }
            return live
        }
    }

    public func removeReplica(id: String) async throws {
        let logger = logger
        try await quietWrite { connection in
            try await connection.query("DELETE FROM replica WHERE id = \(id)", logger: logger)
        }
    }

    public func acquireJobLease(name: String, owner: String, now: Date, until: Date) async throws -> Bool {
        let logger = logger
        return try await quietWrite { connection in
            let rows = try await connection.query(
                """
                INSERT INTO job_lease (name, owner, until) VALUES (\(name), \(owner), \(until.timeIntervalSince1970))
                ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
                WHERE job_lease.owner = excluded.owner OR job_lease.until < \(now.timeIntervalSince1970)
                RETURNING owner
                """, logger: logger)
            var taken = false
            for try await holder in rows.decode(String.self) { taken = holder == owner }
            return taken
        }
    }

    public func releaseJobLease(name: String, owner: String) async throws {
        let logger = logger
        try await quietWrite { connection in
            try await connection.query("DELETE FROM job_lease WHERE name = \(name) AND owner = \(owner)", logger: logger)
        }
    }
}
