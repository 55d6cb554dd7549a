import BelayCore
import Foundation
import Testing

extension StoreContract {
    static let signIn: [StoreContract] = [
        StoreContract("a sign-in failure is recorded under every key only while the rule allows the counts") { (store: any BelayStore) async throws in
            let now = ContractFixtures.now
            let since = now.addingTimeInterval(-900)
            let underThree: @Sendable ([Int]) -> Bool = { counts in counts.allSatisfy { $0 < 3 } }
            for index in 0..<3 {
                #expect(try await store.recordSignInFailure(attempt: "a\(index)", keys: ["pair", "client"], at: now, since: since, if: underThree))
            }
            // Refused: nothing is added, so a key never holds more rows than the rule admits.
            #expect(try await store.recordSignInFailure(attempt: "a3", keys: ["pair", "client"], at: now, since: since, if: underThree) == false)
            #expect(try await store.signInFailures(key: "pair", since: since) == 3)
            #expect(try await store.signInFailures(key: "client", since: since) == 3)
            #expect(try await store.signInFailures(key: "other", since: since) == 0)
        },
        StoreContract("the counts handed to the rule are per key, in the order of the keys") { (store: any BelayStore) async throws in
            let now = ContractFixtures.now
            let since = now.addingTimeInterval(-900)
            _ = try await store.recordSignInFailure(attempt: "x", keys: ["client"], at: now, since: since) { _ in true }
            let seen = Seen()
            _ = try await store.recordSignInFailure(attempt: "y", keys: ["pair", "client"], at: now, since: since) { counts in
                seen.set(counts)
                return false
            }
            #expect(seen.value == [0, 1])
        },
        StoreContract("failures older than the window stop counting and are deleted by the next write") { (store: any BelayStore) async throws in
            let now = ContractFixtures.now
            _ = try await store.recordSignInFailure(attempt: "old", keys: ["pair"], at: now, since: now.addingTimeInterval(-900)) { _ in true }
            let later = now.addingTimeInterval(901)
            #expect(try await store.signInFailures(key: "pair", since: later.addingTimeInterval(-900)) == 0)
            _ = try await store.recordSignInFailure(attempt: "new", keys: ["other"], at: later, since: later.addingTimeInterval(-900)) { _ in true }
            // Asking from the start of time finds only the new row: the old one was pruned, not just skipped.
            #expect(try await store.signInFailures(key: "pair", since: .distantPast) == 0)
            #expect(try await store.signInFailures(key: "other", since: .distantPast) == 1)
        },
        StoreContract("clearing forgets the attempt under every key and everything under the pair") { (store: any BelayStore) async throws in
            let now = ContractFixtures.now
            let since = now.addingTimeInterval(-900)
            _ = try await store.recordSignInFailure(attempt: "1", keys: ["pair", "client"], at: now, since: since) { _ in true }
            _ = try await store.recordSignInFailure(attempt: "2", keys: ["pair", "client"], at: now, since: since) { _ in true }
            _ = try await store.recordSignInFailure(attempt: "3", keys: ["elsewhere", "client"], at: now, since: since) { _ in true }
            try await store.clearSignInFailures(attempt: "2", key: "pair")
            #expect(try await store.signInFailures(key: "pair", since: since) == 0)
            // The client keeps attempt 1's and 3's failures: a success on one account does not reset the client.
            #expect(try await store.signInFailures(key: "client", since: since) == 2)
            #expect(try await store.signInFailures(key: "elsewhere", since: since) == 1)
        },
    ]
}

/// What a rule closure saw, read back after the store has called it.
private final class Seen: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Int] = []
    func set(_ value: [Int]) { lock.withLock { counts = value } }
    var value: [Int] { lock.withLock { counts } }
}
