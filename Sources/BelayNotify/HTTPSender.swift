import BelayCore
import BelayEgress
import Foundation
import NIOCore

/// Sends HTTP deliveries, a bounded number at once, each under its destination's egress policy.
struct HTTPSender: Sendable {
    let connector: Connector
    let concurrency: Int

    init(group: any EventLoopGroup, settings: NotifySettings) {
        connector = Connector(group: group, egress: settings.egress)
        concurrency = max(1, settings.httpConcurrency)
    }

    func send(_ batch: [Outgoing]) async -> [SendOutcome?] {
        var outcomes = [SendOutcome?](repeating: nil, count: batch.count)
        await withTaskGroup(of: (Int, SendOutcome).self) { group in
            var next = 0
            func start() {
                guard next < batch.count else { return }
                let index = next
                let item = batch[index]
                next += 1
                let delivery = HTTPDelivery(connector: connector.with(egress: item.policy))
                group.addTask { (index, await delivery.post(url: item.address, body: item.body, headers: item.headers, now: Date())) }
            }
            for _ in 0..<concurrency { start() }
            while let (index, outcome) = await group.next() {
                outcomes[index] = outcome
                start()
            }
        }
        return outcomes.map { $0 ?? .retry(statusCode: nil, reason: "not sent", retryAfter: nil) }
    }
}
