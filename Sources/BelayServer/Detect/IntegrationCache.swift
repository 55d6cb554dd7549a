import BelayCore
import Synchronization

/// Enabled integrations by key hash, each kept for a second after it was read. The look-up before a
/// delivery's body is read (so an unknown key costs no decoding) was a database read per request, a tenth
/// of ingestion's CPU; the write transaction reads the integration again and refuses a delivery to one
/// disabled or deleted meanwhile, so a second-old copy decides nothing that is not checked again. Unknown
/// keys are never kept: the cache holds at most one entry per integration that exists.
final class IntegrationCache: Sendable {
    private struct Entry {
        var integration: Integration
        var until: ContinuousClock.Instant
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let lifetime: Duration
    private let clock = ContinuousClock()

    init(lifetime: Duration = .seconds(1)) {
        self.lifetime = lifetime
    }

    /// The enabled integration with this key hash, from the cache or from `load`.
    func integration(keyHash: String, load: (String) async throws -> Integration?) async throws -> Integration? {
        let now = clock.now
        if let entry = entries.withLock({ $0[keyHash] }), entry.until > now { return entry.integration }
        let loaded = try await load(keyHash)
        entries.withLock { entries in
            guard let loaded, loaded.isEnabled else {
                entries.removeValue(forKey: keyHash)
                return
            }
            // Expired entries go when the table grows past a bound, so deleted integrations do not linger.
            if entries.count >= 4096 { entries = entries.filter { $0.value.until > now } }
            entries[keyHash] = Entry(integration: loaded, until: now + lifetime)
        }
        return loaded
    }
}
