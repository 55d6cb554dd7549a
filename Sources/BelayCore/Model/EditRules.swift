import Foundation

// What an edit may not change, and the small checks stores used to make themselves. Pure, so every backend
// asks the same question and gets the same answer.

extension Component {
    /// A component keeps its slug: incidents, monitors and the map name it.
    public func checkEdit(of before: Component) throws {
        guard slug == before.slug else { throw DomainError.invalid(field: "slug", message: "a component's slug cannot change") }
    }
}

extension Monitor {
    /// A monitor keeps its id and kind: its results and settings only make sense for the kind they were made by.
    public func checkEdit(of before: Monitor) throws {
        guard id == before.id, kind == before.kind else {
            throw DomainError.invalid(field: "kind", message: "a monitor's kind cannot change; create a new monitor")
        }
    }
}

extension Integration {
    /// Only an enabled integration takes deliveries; a disabled or unknown key is answered as unknown, so a
    /// key cannot be probed for whether it once existed.
    public static func checkAccepts(_ integration: Integration?) throws {
        guard let integration, integration.isEnabled else { throw DomainError.notFound(what: "integration", id: "with this key") }
    }

    /// Counts a delivery of `events` alerts at `date`.
    public mutating func recordDelivery(events: Int, at date: Date) {
        lastEventAt = date
        eventCount += events
    }
}

extension ChangeFreeze {
    public func validate() throws {
        try Validate.text(reason, field: "reason", max: 500)
        if let end = endsAt, end <= startsAt { throw DomainError.invalid(field: "endsAt", message: "must be after startsAt") }
    }

    /// The freeze ended at `at` (never before it started); nil when it had already ended by then.
    public func ending(at date: Date) -> ChangeFreeze? {
        let end = max(date, startsAt)
        guard endsAt.map({ $0 > end }) ?? true else { return nil }
        var ended = self
        ended.endsAt = end
        return ended
    }
}

extension APIToken {
    public func validate() throws {
        try Validate.text(name, field: "name", max: 120)
    }
}

extension User {
    /// Whether saving `self` over `before` must end the user's other sessions: a new password or a disabled
    /// account takes effect at once. A role change needs no such step: each request reads the role afresh.
    public func endsSessions(comparedTo before: User) -> Bool {
        passwordHash != before.passwordHash || disabledAt != nil
    }

    /// The session that outlives the others: the one making the change, unless the account is now disabled.
    public func survivingSession(_ current: Int64?) -> Int64? { disabledAt == nil ? current : nil }
}

/// The first-run setup code: it makes the first admin, once, while it is valid and nobody has an account.
public enum FirstRunSetup {
    public static func checkClaim(invitation: Invitation?, existingUsers: Int, now: Date) throws {
        guard let invitation, invitation.userID == nil, invitation.expiresAt > now else {
            throw DomainError.conflict(code: "invalid_setup_code", message: "the setup link is not valid or has expired; restart Belay for a new one")
        }
        guard existingUsers == 0 else {
            throw DomainError.conflict(code: "already_set_up", message: "Belay already has an admin; sign in instead")
        }
    }
}
