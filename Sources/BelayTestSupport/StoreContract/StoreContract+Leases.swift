import BelayCore
import Foundation
import Testing

extension StoreContract {
    static let leases: [StoreContract] = [
        StoreContract("of owners racing for one job lease exactly one wins, and only expiry lets another take it") { store in
            let now = ContractFixtures.now
            let until = now.addingTimeInterval(15)
            let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
                for owner in 0..<8 {
                    group.addTask { try await store.acquireJobLease(name: "timed-jobs", owner: "replica-\(owner)", now: now, until: until) }
                }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(winners == 1)
            var holder: String?
            for owner in 0..<8 where try await store.acquireJobLease(name: "timed-jobs", owner: "replica-\(owner)", now: now, until: until) {
                holder = "replica-\(owner)"
            }
            let owner = try #require(holder, "the winner renews its own lease")
            let other = owner == "replica-0" ? "replica-1" : "replica-0"
            #expect(try await store.acquireJobLease(name: "timed-jobs", owner: other, now: now.addingTimeInterval(14), until: now.addingTimeInterval(30)) == false)
            #expect(try await store.acquireJobLease(name: "other-job", owner: other, now: now, until: until), "leases are per name")
            #expect(try await store.acquireJobLease(name: "timed-jobs", owner: other, now: now.addingTimeInterval(16), until: now.addingTimeInterval(31)))
            #expect(try await store.acquireJobLease(name: "timed-jobs", owner: owner, now: now.addingTimeInterval(17), until: now.addingTimeInterval(32)) == false)
            try await store.releaseJobLease(name: "timed-jobs", owner: owner)
            #expect(try await store.acquireJobLease(name: "timed-jobs", owner: owner, now: now.addingTimeInterval(18), until: now.addingTimeInterval(33)) == false,
                    "releasing a lease one does not hold changes nothing")
            try await store.releaseJobLease(name: "timed-jobs", owner: other)
            #expect(try await store.acquireJobLease(name: "timed-jobs", owner: owner, now: now.addingTimeInterval(18), until: now.addingTimeInterval(33)))
        },
        StoreContract("replicas are live until their lease expires or they leave") { store in
            let now = ContractFixtures.now
            _ = try await store.renewReplica(id: "b", now: now, until: now.addingTimeInterval(15))
            let both = try await store.renewReplica(id: "a", now: now.addingTimeInterval(1), until: now.addingTimeInterval(16))
            #expect(both.map(\.id) == ["a", "b"])
            #expect(both.first?.until == now.addingTimeInterval(16))
            let later = try await store.renewReplica(id: "a", now: now.addingTimeInterval(15.5), until: now.addingTimeInterval(30))
            #expect(later.map(\.id) == ["a"], "b stopped renewing and expired")
            _ = try await store.renewReplica(id: "c", now: now.addingTimeInterval(16), until: now.addingTimeInterval(31))
            try await store.removeReplica(id: "c")
            #expect(try await store.renewReplica(id: "a", now: now.addingTimeInterval(17), until: now.addingTimeInterval(32)).map(\.id) == ["a"])
        },
    ]
}
