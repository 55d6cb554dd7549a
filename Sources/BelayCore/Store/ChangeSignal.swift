import Foundation
import Synchronization

/// Tells listeners that stored data changed. Signals coalesce: a listener that is busy when several
/// writes land wakes once, which is all a rebuild needs.
public final class ChangeSignal: Sendable {
    private let state = Mutex<(version: UInt64, continuations: [UInt64: AsyncStream<UInt64>.Continuation], nextID: UInt64)>(
        (0, [:], 0))

    public init() {}

    /// Bumps the version and wakes every listener.
    public func signal() {
        let (version, continuations) = state.withLock { state -> (UInt64, [AsyncStream<UInt64>.Continuation]) in
            state.version += 1
            return (state.version, Array(state.continuations.values))
        }
        for continuation in continuations { continuation.yield(version) }
    }

    public var version: UInt64 { state.withLock { $0.version } }

    /// A stream of versions; only the newest pending value is kept.
    public func stream() -> AsyncStream<UInt64> {
        let (stream, continuation) = AsyncStream<UInt64>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            state.continuations[state.nextID] = continuation
            return state.nextID
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.continuations.removeValue(forKey: id) }
        }
        return stream
    }
}
