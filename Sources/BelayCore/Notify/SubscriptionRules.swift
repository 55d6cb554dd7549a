import Foundation

/// What a subscribe, confirm or import does to the subscriber it names. Pure: the server reads the
/// existing subscriber, asks here, and saves the answer.
public enum SubscriptionRules {
    public enum Outcome: Sendable, Equatable {
        /// Save this subscriber; send the confirmation email when `confirm` is set.
        case save(Subscriber, sendConfirmation: Bool)
        /// Nothing changes (the address is already confirmed): the answer looks the same as for a new one,
        /// so the form never tells a stranger who is subscribed.
        case unchanged
    }

    /// Someone asked, on the public page, to follow `components` at `address`.
    public static func subscribe(
        existing: Subscriber?, kind: Subscriber.Kind, address: String, components: [String], token: String, secret: String?, now: Date
    ) -> Outcome {
        let needsOptIn = kind == .email
        if let existing {
            switch existing.state {
            case .confirmed:
                return .unchanged
            case .pending:
                // A second request re-sends the opt-in (with a fresh lifetime) for the components asked now.
                var again = existing
                again.components = components
                again.confirmationSentAt = now
                again.updatedAt = now
                return .save(again, sendConfirmation: true)
            case .unsubscribed, .stopped:
                var back = existing
                back.components = components
                back.state = needsOptIn ? .pending : .confirmed
                back.token = token
                back.secret = secret ?? existing.secret
                back.confirmationSentAt = needsOptIn ? now : nil
                back.confirmedAt = needsOptIn ? nil : now
                back.stopReason = nil
                back.source = "page"
                back.updatedAt = now
                return .save(back, sendConfirmation: needsOptIn)
            }
        }
        let subscriber = Subscriber(
            kind: kind, address: address, components: components, state: needsOptIn ? .pending : .confirmed, token: token, secret: secret,
            confirmationSentAt: needsOptIn ? now : nil, confirmedAt: needsOptIn ? nil : now, source: "page", createdAt: now)
        return .save(subscriber, sendConfirmation: needsOptIn)
    }

    /// The confirmation link was followed (by a POST) at `now`.
    public static func confirm(_ subscriber: Subscriber, now: Date) throws -> Subscriber {
        if subscriber.state == .confirmed { return subscriber }
        guard subscriber.canConfirm(now: now) else {
            throw DomainError.conflict(code: "confirmation_expired", message: "this confirmation link has expired; subscribe again for a new one")
        }
        var confirmed = subscriber
        confirmed.state = .confirmed
        confirmed.confirmedAt = now
        confirmed.updatedAt = now
        return confirmed
    }

    public static func unsubscribe(_ subscriber: Subscriber, now: Date) -> Subscriber {
        var gone = subscriber
        gone.state = .unsubscribed
        gone.stopReason = "unsubscribed"
        gone.updatedAt = now
        return gone
    }

    /// A subscriber an admin adds or a file imports: only one the file (or admin) says confirmed stays
    /// confirmed; anyone else gets a new opt-in. Someone who unsubscribed or bounced is left alone: only
    /// they can subscribe again. A subscriber already here has their components replaced.
    public static func imported(
        existing: Subscriber?, kind: Subscriber.Kind, address: String, components: [String], confirmed: Bool, token: String, secret: String?,
        source: String, now: Date
    ) -> Outcome {
        let confirmedNow = confirmed || kind != .email
        if var existing {
            guard existing.state == .pending || existing.state == .confirmed else { return .unchanged }
            existing.components = components
            existing.updatedAt = now
            if confirmedNow && existing.state == .pending {
                existing.state = .confirmed
                existing.confirmedAt = now
            }
            return .save(existing, sendConfirmation: false)
        }
        let subscriber = Subscriber(
            kind: kind, address: address, components: components, state: confirmedNow ? .confirmed : .pending, token: token, secret: secret,
            confirmationSentAt: confirmedNow ? nil : now, confirmedAt: confirmedNow ? now : nil, source: source, createdAt: now)
        return .save(subscriber, sendConfirmation: !confirmedNow)
    }
}
