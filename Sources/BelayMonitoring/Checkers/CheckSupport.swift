import BelayEgress
import BelayCore
import Foundation
import NIOCore

extension Monitor {
    /// When this check must have finished: `timeoutSeconds` from now (at least one second).
    var checkDeadline: NIODeadline { .now() + .seconds(Int64(max(1, timeoutSeconds))) }
}

extension CheckReport {
    /// A down report for a failure, with the timeout worded as people set it.
    static func down(_ error: any Error, timeoutSeconds: Int, latencyMs: Double? = nil) -> CheckReport {
        let failure = ConnectionFailure.from(error)
        let message = failure == .timedOut ? "timed out after \(max(1, timeoutSeconds)) s" : failure.description
        if case .refused = failure { return CheckReport(outcome: .down, latencyMs: latencyMs, message: message, isConfigurationProblem: true) }
        return CheckReport(outcome: .down, latencyMs: latencyMs, message: message)
    }
}

/// Small shared wording, so every checker says things the same way.
enum Wording {
    static func milliseconds(since start: NIODeadline) -> Double {
        Double((NIODeadline.now() - start).nanoseconds) / 1_000_000
    }

    /// "12 ms"; below 1 ms, "0.4 ms", so a fast local check does not read as "0 ms".
    static func duration(_ milliseconds: Double) -> String {
        milliseconds < 1 ? String(format: "%.1f ms", milliseconds) : "\(Int(milliseconds.rounded())) ms"
    }

    /// "2026-11-23" (UTC).
    static func day(_ time: time_t) -> String {
        var seconds = time
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday))
    }

    static func count(_ value: Int, _ unit: String) -> String { value == 1 ? "1 \(unit)" : "\(value) \(unit)s" }

    /// Keeps user text in a message short and on one line.
    static func quoted(_ text: String, limit: Int = 60) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
        return "\"" + (flat.count > limit ? String(flat.prefix(limit)) + "…" : flat) + "\""
    }
}

/// How near a certificate is to expiry, the same way for TLS endpoints and certificate files:
/// expired (or not yet valid) is down, fewer than `warnDays` whole days left is degraded.
enum CertificateExpiry {
    static func report(notValidBefore: time_t, notValidAfter: time_t, now: Date, warnDays: Int, latencyMs: Double? = nil) -> CheckReport {
        let nowSeconds = now.timeIntervalSince1970
        let remaining = Double(notValidAfter) - nowSeconds
        let date = Wording.day(notValidAfter)
        guard remaining > 0 else { return CheckReport(outcome: .down, latencyMs: latencyMs, message: "certificate expired on \(date)") }
        guard Double(notValidBefore) <= nowSeconds else {
            return CheckReport(outcome: .down, latencyMs: latencyMs, message: "certificate is not valid before \(Wording.day(notValidBefore))")
        }
        let days = Int(remaining / 86_400)
        let left = days >= 1 ? Wording.count(days, "day") : Wording.count(Int(remaining / 3600), "hour")
        let outcome: CheckOutcome = days < warnDays ? .degraded : .up
        return CheckReport(outcome: outcome, latencyMs: latencyMs, message: "certificate expires in \(left) (\(date))")
    }
}
