import BelayCore
import BelayPostgres
import BelayTestSupport
import Foundation
import Testing

/// The leases on PostgreSQL, as two replicas see them: two pools on one schema, each its own `belay serve`.
@Suite(.enabled(if: TestDatabase.isAvailable, "needs BELAY_TEST_POSTGRES_URL"))
struct PostgresLeasesTests {
    /// Two stores on one schema, as two replicas open it.
    static func twoReplicas() async throws -> (PostgresStore, PostgresStore) {
        let configuration = try await TestDatabase.freshSchema()
        let first = PostgresStore(configuration: configuration, logger: TestDatabase.logger, operationTimeout: TestDatabase.operationTimeout)
        try await first.migrate()
        let second = PostgresStore(configuration: configuration, logger: TestDatabase.logger, operationTimeout: TestDatabase.operationTimeout)
        return (first, second)
    }

    @Test func twoReplicasRacingForAJobLeaseLeaveItWithExactlyOne() async throws {
        let (first, second) = try await Self.twoReplicas()
        defer { first.close(); second.close() }
        let now = Date(timeIntervalSince1970: 1_790_000_000)
        for round in 0..<10 {
            let name = "job-\(round)"
            let until = now.addingTimeInterval(15)
            async let one = first.acquireJobLease(name: name, owner: "first", now: now, until: until)
            async let two = second.acquireJobLease(name: name, owner: "second", now: now, until: until)
            let (a, b) = try await (one, two)
            #expect(a != b, "round \(round): exactly one replica holds the lease")
            // The holder renews it; the other still cannot take it before it expires, and can after.
            let (holder, other) = a ? (first, second) : (second, first)
            let (holderName, otherName) = a ? ("first", "second") : ("second", "first")
            #expect(try await holder.acquireJobLease(name: name, owner: holderName, now: now.addingTimeInterval(10), until: now.addingTimeInterval(25)))
            #expect(try await other.acquireJobLease(name: name, owner: otherName, now: now.addingTimeInterval(20), until: now.addingTimeInterval(35)) == false)
            #expect(try await other.acquireJobLease(name: name, owner: otherName, now: now.addingTimeInterval(26), until: now.addingTimeInterval(41)))
        }
    }

    @Test func eachReplicaSeesTheOtherUntilItExpiresOrLeaves() async throws {
        let (first, second) = try await Self.twoReplicas()
        defer { first.close(); second.close() }
        let now = Date(timeIntervalSince1970: 1_790_000_000)
        _ = try await first.renewReplica(id: "replica-b", now: now, until: now.addingTimeInterval(15))
        let seen = try await second.renewReplica(id: "replica-a", now: now, until: now.addingTimeInterval(15))
        #expect(seen == [
            ReplicaLease(id: "replica-a", renewedAt: now, until: now.addingTimeInterval(15)),
            ReplicaLease(id: "replica-b", renewedAt: now, until: now.addingTimeInterval(15)),
        ])
        // Ids sort byte by byte whatever the database's collation, as SQLite sorts them.
        _ = try await first.renewReplica(id: "Replica-Z", now: now, until: now.addingTimeInterval(15))
        #expect(try await second.renewReplica(id: "replica-a", now: now, until: now.addingTimeInterval(15)).map(\.id) == ["Replica-Z", "replica-a", "replica-b"])
        try await first.removeReplica(id: "Replica-Z")
        // b stops renewing: after its lease it is gone for a, and a's own renewal keeps a.
        let later = try await second.renewReplica(id: "replica-a", now: now.addingTimeInterval(16), until: now.addingTimeInterval(31))
        #expect(later.map(\.id) == ["replica-a"])
        try await second.removeReplica(id: "replica-a")
        #expect(try await first.renewReplica(id: "replica-b", now: now.addingTimeInterval(17), until: now.addingTimeInterval(32)).map(\.id) == ["replica-b"])
    }
}
