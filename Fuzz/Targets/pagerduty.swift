// Target `pagerduty`: a PagerDuty Events API v2 body through the server's path: the routing key alone
// first, then the whole event (JSONBody.decode, then validated(generateKey:)). Success must carry a
// routing key and an event that passes the shared rules; failure must say why.
import BelayCore
import BelayFormats
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPagerDuty(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let body = Data(fuzzBytes(data, size))
    let routingKey = (try? JSONBody.decode(PagerDutyEvent.RoutingKey.self, from: body))?.routing_key
    guard let event = try? PagerDutyEvent.decode(body) else { return 0 }
    require(routingKey == event.routing_key, "the routing key reads differently alone: \(String(describing: routingKey))")
    switch event.validated(generateKey: fuzzKey) {
    case .success(let valid):
        require(!valid.routingKey.isEmpty && valid.routingKey == event.routing_key, "accepted with routing key \(valid.routingKey.debugDescription)")
        require(valid.event.action.rawValue == event.event_action, "event_action \(String(describing: event.event_action)) became \(valid.event.action)")
        requireValidEvent(valid.event, field: valid.event.action == .trigger ? "payload." : "")
        if let key = event.dedup_key, !key.isEmpty { require(valid.event.dedupKey == key, "dedup_key changed") }
    case .failure(let problems):
        require(!problems.messages.isEmpty, "refused without a reason")
        require(problems.messages.allSatisfy { !$0.isEmpty }, "an empty reason")
    }
    return 0
}
