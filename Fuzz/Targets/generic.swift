// Target `generic`: Belay's own event format through the server's path (JSONBody.decode, then
// event(generateKey:)). An accepted event must pass the shared rules and keep what was sent.
import BelayCore
import BelayFormats
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGeneric(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let body = Data(fuzzBytes(data, size))
    guard let generic = try? JSONBody.decode(GenericEvent.self, from: body) else { return 0 }
    let event: SignalEvent
    do throws(MalformedInput) {
        event = try generic.event(generateKey: fuzzKey)
    } catch {
        require(!error.message.isEmpty, "refused without a reason")
        return 0
    }
    requireValidEvent(event)
    require(event.action == (generic.action ?? .trigger), "action changed")
    require(event.links == (generic.links ?? []), "links changed: a hand-written bad link must be refused, not dropped")
    require(event.startsAt == generic.startsAt && event.endsAt == generic.endsAt, "dates changed")
    if let key = generic.dedupKey, !key.isEmpty { require(event.dedupKey == key, "dedupKey changed") }
    return 0
}
