import Foundation
import Synchronization

/// The event log: every committed event in sequence order. A consumer remembers the last sequence it
/// handled and asks for what came after; it never misses or repeats a committed event, because a
/// sequence number becomes visible only once its transaction and every earlier one has committed.
public protocol EventStore: Sendable {
    /// Events with a sequence greater than `after`, oldest first, at most `limit`.
    func events(after: Int64, limit: Int) async throws -> [StoredEvent]
    /// The sequence of the newest committed event (0 when there is none).
    func eventHead() async throws -> Int64
    /// Deletes events recorded before `before`; returns how many.
    func pruneEvents(before: Date) async throws -> Int
    /// The highest sequence pruning has removed (0 when none): a reader asking for events after an older
    /// sequence has missed some, and must be told.
    func prunedThrough() async throws -> Int64
    /// Wakes consumers when events commit. A hint only: the log is the truth, so consumers also poll it.
    var feed: EventFeed { get }
}

/// Committed sequence numbers, as a stream each consumer subscribes to. Values coalesce: a consumer busy
/// while several writes land wakes once with the newest, which is all a reader of the log needs.
public final class EventFeed: Sendable {
    private let state = Mutex<(head: Int64, continuations: [UInt64: AsyncStream<Int64>.Continuation], nextID: UInt64)>((0, [:], 0))

    public init() {}

    /// Announces that events up to `sequence` have committed. Older numbers than the last announced are ignored.
    public func publish(_ sequence: Int64) {
        let continuations = state.withLock { state -> [AsyncStream<Int64>.Continuation] in
            guard sequence > state.head else { return [] }
            state.head = sequence
            return Array(state.continuations.values)
        }
        for continuation in continuations { continuation.yield(sequence) }
    }

    /// The newest sequence announced in this process.
    public var head: Int64 { state.withLock { $0.head } }

    /// A stream of committed sequence numbers; only the newest pending value is kept.
    public func committed() -> AsyncStream<Int64> {
        let (stream, continuation) = AsyncStream<Int64>.makeStream(bufferingPolicy: .bufferingNewest(1))
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
