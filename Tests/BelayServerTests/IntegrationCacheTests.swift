import BelayCore
@testable import BelayServer
import Foundation
import Synchronization
import Testing

struct IntegrationCacheTests {
    static func integration(enabled: Bool = true) -> Integration {
        Integration(
            id: 7, name: "prometheus", kind: .alertmanager, keyHash: "hash", keyHint: "ab12", isEnabled: enabled,
            createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 0))
    }

    /// Counts the loads; answers what `stored` holds.
    final class Store: Sendable {
        let loads = Mutex(0)
        let stored = Mutex<Integration?>(IntegrationCacheTests.integration())

        func load(_ hash: String) async throws -> Integration? {
            loads.withLock { $0 += 1 }
            return stored.withLock { $0 }
        }
    }

    @Test func anEnabledIntegrationIsReadOnceWithinItsLifetime() async throws {
        let cache = IntegrationCache(lifetime: .seconds(3600))
        let store = Store()
        for _ in 0..<5 { #expect(try await cache.integration(keyHash: "hash", load: store.load)?.id == 7) }
        #expect(store.loads.withLock { $0 } == 1)
        #expect(try await cache.integration(keyHash: "other", load: store.load) != nil)
        #expect(store.loads.withLock { $0 } == 2, "each key hash is its own entry")
    }

    @Test func anExpiredEntryIsReadAgain() async throws {
        let cache = IntegrationCache(lifetime: .zero)
        let store = Store()
        for _ in 0..<3 { _ = try await cache.integration(keyHash: "hash", load: store.load) }
        #expect(store.loads.withLock { $0 } == 3)
    }

    @Test func unknownAndDisabledIntegrationsAreNeverKept() async throws {
        let cache = IntegrationCache(lifetime: .seconds(3600))
        let store = Store()
        store.stored.withLock { $0 = nil }
        for _ in 0..<3 { #expect(try await cache.integration(keyHash: "hash", load: store.load) == nil) }
        store.stored.withLock { $0 = IntegrationCacheTests.integration(enabled: false) }
        for _ in 0..<3 { #expect(try await cache.integration(keyHash: "hash", load: store.load)?.isEnabled == false) }
        #expect(store.loads.withLock { $0 } == 6)
        store.stored.withLock { $0 = IntegrationCacheTests.integration() }
        _ = try await cache.integration(keyHash: "hash", load: store.load)
        _ = try await cache.integration(keyHash: "hash", load: store.load)
        #expect(store.loads.withLock { $0 } == 7, "enabled again, it is kept")
    }
}
