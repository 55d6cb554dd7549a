import BelayCore
import BelayEgress
import Foundation
import NIOCore
import NIOHTTP1

/// Posts one rendered message to an HTTP receiver through the egress policy and reads its answer.
struct HTTPDelivery: Sendable {
    let connector: Connector
    /// The whole exchange, connect to last byte: a receiver that hangs costs one slot this long at most.
    static let timeout: TimeAmount = .seconds(15)

    func post(url text: String, body: Data, headers extra: [(String, String)], now: Date) async -> SendOutcome {
        guard let url = URL(string: text), let target = try? HTTPTarget(url) else {
            return .gone(statusCode: nil, reason: "the URL is not a valid http(s) URL")
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: target.hostHeader)
        headers.add(name: "User-Agent", value: "Belay-Notify/1")
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Connection", value: "close")
        if let authorization = target.basicAuthorization { headers.add(name: "Authorization", value: authorization) }
        for (name, value) in extra { headers.add(name: name, value: value) }
        do {
            let response = try await HTTPExchange(connector: connector).perform(
                target, method: .POST, headers: headers, body: String(decoding: body, as: UTF8.self), keepBody: false,
                deadline: .now() + Self.timeout)
            return SendOutcome.http(status: Int(response.head.status.code), retryAfter: response.head.headers.first(name: "Retry-After"), now: now)
        } catch {
            // Every failure to reach the receiver is worth retrying, a refusal by the egress policy included:
            // an admin may allow the address, and the dead letter says why until then.
            return .retry(statusCode: nil, reason: ConnectionFailure.from(error).description, retryAfter: nil)
        }
    }
}
