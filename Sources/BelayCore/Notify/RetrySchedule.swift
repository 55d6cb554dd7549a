import Foundation

/// When each attempt of a delivery is made: delays after the first, per transport. A delivery that fails
/// its last attempt is dead, kept for an admin to see and re-send.
public struct RetrySchedule: Sendable, Equatable {
    /// Seconds to wait before attempt 2, 3, ...; the first attempt is at once.
    public var delays: [TimeInterval]
    /// The spread added to each delay, as a fraction of it (0.1: up to 10% later), so that deliveries
    /// failing together do not retry together.
    public var jitter: Double

    public init(delays: [TimeInterval], jitter: Double = 0.1) {
        self.delays = delays
        self.jitter = jitter
    }

    public var maxAttempts: Int { delays.count + 1 }

    /// The Standard Webhooks schedule: at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
    public static let webhook = RetrySchedule(delays: [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400])
    /// Chat messages are worth little a day late: at once, 5 s, 30 s, 2 min, 10 min, 30 min, 1 h.
    public static let chat = RetrySchedule(delays: [5, 30, 120, 600, 1800, 3600])
    /// Mail relays queue on their side too: at once, 1 min, 5 min, 30 min, 2 h, 6 h, 24 h.
    public static let email = RetrySchedule(delays: [60, 300, 1800, 7200, 21600, 86400])

    public static func `for`(_ transport: Transport) -> RetrySchedule {
        switch transport {
        case .webhook: .webhook
        case .slack, .teams, .discord: .chat
        case .email: .email
        }
    }

    /// The longest `Retry-After` honoured; a receiver asking for more waits this long.
    public static let maxRetryAfter: TimeInterval = 86400

    /// When attempt `attemptsMade + 1` is due, or nil when `attemptsMade` attempts were the last.
    /// `random` is in 0..<1 (the jitter's draw); `retryAfter` is what the receiver asked for.
    public func nextAttempt(after attemptsMade: Int, now: Date, retryAfter: TimeInterval? = nil, random: Double) -> Date? {
        guard attemptsMade >= 1, attemptsMade <= delays.count else { return nil }
        let base = delays[attemptsMade - 1]
        let spread = base * jitter * min(max(random, 0), 1)
        let wanted = retryAfter.map { min(max($0, 0), Self.maxRetryAfter) } ?? 0
        return now.addingTimeInterval(max(base + spread, wanted))
    }
}

/// What one attempt found, in the terms that decide what happens next.
public enum SendOutcome: Sendable, Equatable {
    case delivered(statusCode: Int?)
    /// Worth trying again: a 5xx, a 429, a timeout, a refused connection, a 4xx reply to mail.
    case retry(statusCode: Int?, reason: String, retryAfter: TimeInterval?)
    /// The destination is gone (HTTP 410) and must receive nothing more.
    case gone(statusCode: Int?, reason: String)
    /// This message can never be delivered (a 5xx reply to mail: a bounce). For a subscriber, the address
    /// stops receiving.
    case rejected(statusCode: Int?, reason: String)
    /// This message cannot be sent at all (it cannot be written as mail): dead, with nobody to blame.
    case undeliverable(reason: String)

    /// How an HTTP receiver's answer reads: 2xx delivered, 410 gone, anything else retried (as the Standard
    /// Webhooks specification asks), honouring `Retry-After` in seconds or as an HTTP date.
    public static func http(status: Int, retryAfter: String?, now: Date) -> SendOutcome {
        switch status {
        case 200..<300: return .delivered(statusCode: status)
        case 410: return .gone(statusCode: status, reason: "HTTP 410 Gone: the receiver asked for no more messages")
        default:
            let reason = status == 429 ? "HTTP 429 Too Many Requests" : "HTTP \(status)"
            return .retry(statusCode: status, reason: reason, retryAfter: retryAfter.flatMap { RetryAfter.seconds($0, now: now) })
        }
    }

    /// An SMTP reply to a message: 2xx delivered, 4xx retried, 5xx rejected.
    public static func smtp(code: Int, reply: String) -> SendOutcome {
        switch code {
        case 200..<300: return .delivered(statusCode: code)
        case 500..<600: return .rejected(statusCode: code, reason: "SMTP \(code) \(reply)")
        default: return .retry(statusCode: code, reason: "SMTP \(code) \(reply)", retryAfter: nil)
        }
    }

    public var statusCode: Int? {
        switch self {
        case .delivered(let code), .retry(let code, _, _), .gone(let code, _), .rejected(let code, _): code
        case .undeliverable: nil
        }
    }

    public var reason: String? {
        switch self {
        case .delivered: nil
        case .retry(_, let reason, _), .gone(_, let reason), .rejected(_, let reason), .undeliverable(let reason): reason
        }
    }
}

/// The decision after an attempt: the delivery's new state and when it is next tried.
public enum DeliveryPolicy {
    public static func result(
        of outcome: SendOutcome, delivery: Delivery, startedAt: Date, latencyMilliseconds: Int, now: Date, random: Double
    ) -> AttemptResult {
        let number = delivery.attemptCount + 1
        let state: DeliveryState
        var next: Date?
        var stop: String?
        switch outcome {
        case .delivered:
            state = .delivered
        case .retry(_, _, let retryAfter):
            next = RetrySchedule.for(delivery.transport).nextAttempt(after: number, now: now, retryAfter: retryAfter, random: random)
            state = next == nil ? .dead : .failed
        case .gone(_, let reason):
            state = .dead
            stop = reason
        case .rejected(_, let reason):
            state = .dead
            if case .subscriber = delivery.destination { stop = reason }
        case .undeliverable:
            state = .dead
        }
        let attempt = DeliveryAttempt(
            deliveryID: delivery.id, number: number, startedAt: startedAt, latencyMilliseconds: latencyMilliseconds,
            statusCode: outcome.statusCode, error: outcome.reason, outcome: state)
        return AttemptResult(attempt: attempt, nextAttemptAt: next, stopDestination: stop)
    }
}

/// `Retry-After`: delay-seconds or an HTTP date (RFC 9110 section 10.2.3).
public enum RetryAfter {
    public static func seconds(_ text: String, now: Date) -> TimeInterval? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.count <= 10, let seconds = Int(trimmed), seconds >= 0 { return TimeInterval(seconds) }
        guard trimmed.count <= 64 else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .utc
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }
}
