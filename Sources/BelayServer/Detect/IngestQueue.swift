import BelayCore
import Foundation

/// Commits deliveries to disk before anyone is told they were accepted, sharing one transaction among
/// every delivery waiting at the time (group commit). Each delivery has its own savepoint in that
/// transaction, so a bad one never spoils the others. When too many events wait, new deliveries are
/// refused at once with `Overloaded`, which the API answers 503 with Retry-After.
public actor IngestQueue {
    public struct Overloaded: Error {
        public var retryAfterSeconds: Int
    }

    /// Stores a group of deliveries in one transaction (the store's `ingest`).
    public typealias Commit = @Sendable ([IngestBatch]) async throws -> [Result<[SignalReceipt], DomainError>]

    private let commit: Commit
    private let maxPendingEvents: Int
    private var pending: [(batch: IngestBatch, continuation: CheckedContinuation<Result<[SignalReceipt], DomainError>, any Error>)] = []
    private var pendingEvents = 0
    private var draining = false

    public init(maxPendingEvents: Int, commit: @escaping Commit) {
        self.commit = commit
        self.maxPendingEvents = maxPendingEvents
    }

    public init(store: any BelayStore, clock: any WallClock, policy: SignalPolicy, maxPendingEvents: Int) {
        self.init(maxPendingEvents: maxPendingEvents) { batches in try await store.ingest(batches, policy: policy, now: clock.now) }
    }

    /// Non-nil when the queue is full, so a delivery can be refused before its body is read.
    public func overloaded() -> Overloaded? {
        pendingEvents >= maxPendingEvents ? Overloaded(retryAfterSeconds: 1) : nil
    }

    /// Waits until the batch is committed (or refused) and returns what became of its events.
    public func submit(_ batch: IngestBatch) async throws -> Result<[SignalReceipt], DomainError> {
        // One delivery larger than the limit is still taken when nothing else waits.
        if pendingEvents > 0 && pendingEvents + batch.events.count > maxPendingEvents {
            throw Overloaded(retryAfterSeconds: 1)
        }
        return try await withCheckedThrowingContinuation { continuation in
            pending.append((batch, continuation))
            pendingEvents += batch.events.count
            if !draining {
                draining = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !pending.isEmpty {
            let work = pending
            pending.removeAll(keepingCapacity: true)
            do {
                let results = try await commit(work.map(\.batch))
                for (item, result) in zip(work, results) { item.continuation.resume(returning: result) }
            } catch {
                for item in work { item.continuation.resume(throwing: error) }
            }
            pendingEvents -= work.reduce(0) { $0 + $1.batch.events.count }
        }
        draining = false
    }
}
