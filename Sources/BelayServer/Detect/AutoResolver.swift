import BelayCore
import Foundation
import Logging
import ServiceLifecycle

/// Resolves incidents Belay opened once their signals have stayed clear for the quiet period.
struct AutoResolver: Service {
    let store: any BelayStore
    let clock: any WallClock
    let policy: SignalPolicy
    let logger: Logger

    /// Sweeps often enough that a resolution comes at most a tenth of the quiet period late (1-30 s).
    var sweepInterval: Duration { .milliseconds(Int64(min(30_000, max(1000, policy.quietPeriod * 100)))) }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let resolved = try await store.autoResolveIncidents(policy: policy, now: clock.now)
                    if !resolved.isEmpty { logger.info("resolved quiet incidents", metadata: ["incidents": "\(resolved)"]) }
                } catch {
                    logger.error("could not resolve quiet incidents", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: sweepInterval)
            }
        }
    }
}
