import BelayCore
import Foundation
import ServiceLifecycle
import Synchronization

/// Commits deliveries to disk before anyone is told they were accepted, sharing one transaction among
/// every delivery waiting at the time (group commit). Each delivery has its own savepoint in that
/// transaction, so a bad one never spoils the others. When too many events wait, new deliveries are
/// refused at once with `Overloaded`, which the API answers 503 with Retry-After.
///
/// A `Service`: its `run` is the one task that commits. On graceful shutdown (which reaches it after the
/// HTTP server has finished its requests, as services stop in reverse order) it refuses new deliveries and
/// commits every one it accepted before returning, so no sender that was told 2xx loses its events.
public actor IngestQueue: Service {
    public struct Overloaded: Error {
        public var retryAfterSeconds: Int
    }

    /// Stores a group of deliveries in one transaction (the store's `ingest`).
    public typealias Commit = @Sendable ([IngestBatch]) async throws -> [Result<[SignalReceipt], DomainError>]

    private let commit: Commit
    private let maxPendingEvents: Int
    private var pending: [(batch: IngestBatch, continuation: CheckedContinuation<Result<[SignalReceipt], DomainError>, any Error>)] = []
    private var pendingEvents = 0 { didSet { waiting.store(pendingEvents + committingEvents, ordering: .relaxed) } }
    private var committingEvents = 0 { didSet { waiting.store(pendingEvents + committingEvents, ordering: .relaxed) } }
    private var closed = false { didSet { refusing.store(closed, ordering: .relaxed) } }
    /// Copies of the counts above that a request reads without queueing for the actor: every delivery
    /// asks before its body is read, and a hop onto the actor each time cost more than the answer.
    private nonisolated let waiting = Atomic<Int>(0)
    private nonisolated let refusing = Atomic<Bool>(false)
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>

    public init(maxPendingEvents: Int, commit: @escaping Commit) {
        self.commit = commit
        self.maxPendingEvents = maxPendingEvents
        (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    public init(store: any DetectStore, clock: any WallClock, policy: SignalPolicy, maxPendingEvents: Int) {
        self.init(maxPendingEvents: maxPendingEvents) { batches in try await store.ingest(batches, policy: policy, now: clock.now) }
    }

    /// Non-nil when the queue is full or shutting down, so a delivery can be refused before its body is read.
    public nonisolated func overloaded() -> Overloaded? {
        refusing.load(ordering: .relaxed) || waiting.load(ordering: .relaxed) >= maxPendingEvents ? Overloaded(retryAfterSeconds: 1) : nil
    }

    /// Events accepted and not yet committed (waiting, or in the transaction now running).
    public nonisolated func waitingEvents() -> Int { waiting.load(ordering: .relaxed) }

    /// Waits until the batch is committed (or refused) and returns what became of its events.
    public func submit(_ batch: IngestBatch) async throws -> Result<[SignalReceipt], DomainError> {
        guard !closed else { throw Overloaded(retryAfterSeconds: 1) }
        let waiting = pendingEvents + committingEvents
        // One delivery larger than the limit is still taken when nothing else waits.
        if waiting > 0 && waiting + batch.events.count > maxPendingEvents {
            throw Overloaded(retryAfterSeconds: 1)
        }
        return try await withCheckedThrowingContinuation { continuation in
            pending.append((batch, continuation))
            pendingEvents += batch.events.count
            wake.yield()
        }
    }

    public func run() async throws {
        for await _ in wakes.cancelOnGracefulShutdown() { await drain() }
        closed = true
        await drain()
    }

    private func drain() async {
        while !pending.isEmpty {
            let work = pending
            pending.removeAll(keepingCapacity: true)
            let events = work.reduce(0) { $0 + $1.batch.events.count }
            pendingEvents -= events
            committingEvents += events
            do {
                let results = try await commit(work.map(\.batch))
                // One answer per delivery, whatever the store returned: a missing one fails rather than hangs.
                for (index, item) in work.enumerated() {
                    if index < results.count {
                        item.continuation.resume(returning: results[index])
                    } else {
                        item.continuation.resume(throwing: StorageUnavailable(reason: "the store returned no result for a delivery"))
                    }
                }
            } catch {
                for item in work { item.continuation.resume(throwing: error) }
            }
            committingEvents -= events
        }
    }
}
