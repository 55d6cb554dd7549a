// Target `alertmanager`: an Alertmanager webhook body through the server's path
// (JSONBody.decode, then events(maxAlerts:fingerprint:)). Every event it yields must pass the shared
// ingestion rules, one per alert.
import BelayCore
import BelayFormats
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAlertmanager(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let body = Data(fuzzBytes(data, size))
    guard let webhook = try? JSONBody.decode(AlertmanagerWebhook.self, from: body) else { return 0 }
    let events: [SignalEvent]
    do {
        events = try webhook.events(maxAlerts: IngestRules.defaultMaxAlerts, fingerprint: fuzzFingerprint)
    } catch is MalformedInput {
        return 0
    } catch is TooManyAlerts {
        require(webhook.alerts.count > IngestRules.defaultMaxAlerts, "TooManyAlerts for \(webhook.alerts.count) alerts")
        return 0
    } catch {
        require(false, "events(...) threw something other than MalformedInput or TooManyAlerts: \(error)")
        return 0
    }
    require(events.count == webhook.alerts.count, "\(webhook.alerts.count) alerts became \(events.count) events")
    for (index, (event, alert)) in zip(events, webhook.alerts).enumerated() {
        requireValidEvent(event, field: "alerts[\(index)].")
        require(event.action == (alert.status == "firing" ? .trigger : .resolve), "alert status \(alert.status) became \(event.action)")
        require(event.labels == alert.labels, "labels changed")
        require(event.endsAt == nil || event.action == .resolve, "a firing alert kept endsAt")
    }
    return 0
}
