import BelayCore
import Foundation
import PostgresNIO
import ServiceLifecycle

/// In the ServiceGroup: follows the other replicas' commits until shutdown, then closes the pool (the group
/// stops services in reverse order, so the store, added first, closes last).
extension PostgresStore: Service {
    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.followOtherReplicas() }
                group.addTask { await self.pollHead() }
            }
        }
        close()
    }

    /// LISTEN on the event channel: another replica's commit wakes this one's feed at once. A lost
    /// connection is retried; `pollHead` covers the gap.
    func followOtherReplicas() async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    for try await notification in try await connection.listen(Self.eventChannel) {
                        if let head = Int64(notification.payload) { feed.publish(head) }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("event listener reconnecting", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// The fallback when a notification is missed (a connection that dropped, a proxy that strips NOTIFY):
    /// the log's head, read every second.
    func pollHead() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            if let head = try? await eventHead() { feed.publish(head) }
        }
    }
}
