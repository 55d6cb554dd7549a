import BelayCore
import BelayServer
import Foundation
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

@Suite struct IngestQueueTests {
    static func batch(_ events: Int) -> IngestBatch {
        IngestBatch(
            origin: .integrationKey(hash: "h"),
            events: (0..<events).map { SignalEvent(dedupKey: "k\($0)", action: .trigger, summary: "s") })
    }

    @Test func waitingDeliveriesShareOneCommitAndOverloadIsRefusedAtOnce() async throws {
        let commits = Mutex<[Int]>([])
        let gate = AsyncStream<Void>.makeStream()
        let queue = IngestQueue(maxPendingEvents: 10) { batches in
            commits.withLock { $0.append(batches.count) }
            // The first commit waits until the test lets it go, so others pile up behind it.
            if commits.withLock({ $0.count }) == 1 { for await _ in gate.stream { break } }
            return batches.map { .success($0.events.map { SignalReceipt(dedupKey: $0.dedupKey, signalID: 1, incidentID: 1, effect: .duplicate) }) }
        }
        let runner = Task { try await queue.run() }
        defer { runner.cancel() }
        async let first = queue.submit(Self.batch(4))
        while commits.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(5)) }
        async let second = queue.submit(Self.batch(3))
        async let third = queue.submit(Self.batch(3))
        try await Task.sleep(for: .milliseconds(50))
        // 4 committing + 6 waiting = 10: one more event is over the limit.
        await #expect(throws: IngestQueue.Overloaded.self) { _ = try await queue.submit(Self.batch(1)) }
        gate.continuation.yield()
        #expect(try await first.get().count == 4)
        #expect(try await second.get().count == 3)
        #expect(try await third.get().count == 3)
        #expect(commits.withLock { $0 } == [1, 2])
    }

    /// Graceful shutdown closes the door but commits everything already accepted.
    @Test func shutdownRefusesNewDeliveriesAndCommitsEveryAcceptedOne() async throws {
        let committed = Mutex(0)
        let gate = AsyncStream<Void>.makeStream()
        let queue = IngestQueue(maxPendingEvents: 1000) { batches in
            if committed.withLock({ $0 }) == 0 { for await _ in gate.stream { break } }
            committed.withLock { $0 += batches.count }
            return batches.map { .success($0.events.map { SignalReceipt(dedupKey: $0.dedupKey, signalID: 1, incidentID: 1, effect: .duplicate) }) }
        }
        try await testGracefulShutdown { trigger in
            let runner = Task { try await queue.run() }
            let submitted = (0..<20).map { _ in Task { try await queue.submit(Self.batch(1)) } }
            while queue.waitingEvents() < 20 { try await Task.sleep(for: .milliseconds(5)) }
            trigger.triggerGracefulShutdown()
            gate.continuation.yield()
            for task in submitted { #expect(try await task.value.get().count == 1) }
            try await runner.value
            #expect(committed.withLock { $0 } == 20)
            await #expect(throws: IngestQueue.Overloaded.self) { _ = try await queue.submit(Self.batch(1)) }
        }
    }
}
