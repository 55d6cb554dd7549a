import BelayCore
import Foundation
import Synchronization

/// Per-destination send rates, so a burst queues rather than fails: Slack-style webhooks take about one
/// message a second. A token bucket per URL, in this process (each replica keeps its own).
final class SendRates: Sendable {
    private struct Bucket {
        var tokens: Double
        var updatedAt: Date
    }

    private let buckets = Mutex<[String: Bucket]>([:])

    /// Messages a second, and the burst allowed at once.
    static func rate(for transport: Transport) -> (perSecond: Double, burst: Double) {
        switch transport {
        case .slack, .teams, .discord: (1, 3)
        case .webhook: (10, 20)
        // The relay queues mail itself; one connection carries as much as it takes.
        case .email: (1_000_000, 1_000_000)
        }
    }

    /// Takes one token for `key` at `now`, or says when one will be there.
    func take(_ key: String, transport: Transport, now: Date) -> Date? {
        let (perSecond, burst) = Self.rate(for: transport)
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updatedAt: now)
            let elapsed = max(0, now.timeIntervalSince(bucket.updatedAt))
            bucket.tokens = min(burst, bucket.tokens + elapsed * perSecond)
            bucket.updatedAt = now
            defer {
                if buckets.count > 10_000 { buckets.removeAll() }
                buckets[key] = bucket
            }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return now.addingTimeInterval((1 - bucket.tokens) / perSecond)
        }
    }
}

/// Wakes the dispatcher: a committed event, or its own timer, whichever comes first.
final class Doorbell: Sendable {
    private let state = Mutex<(rung: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.rung = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns at the next ring, at once if one came since the last wait, or after `timeout`.
    func wait(upTo timeout: Duration) async {
        let timer = Task {
            // Cancelled once the wait is over: it must not ring then, or the next wait would return at once
            // and the dispatcher would spin.
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            ring()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.rung {
                    state.rung = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        timer.cancel()
    }
}
