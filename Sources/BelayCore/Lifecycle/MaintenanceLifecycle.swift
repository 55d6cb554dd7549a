import Foundation

/// The rules of a maintenance window's life: scheduled -> in progress -> completed, or scheduled -> cancelled.
extension MaintenanceWindow {
    public static let maxDuration: TimeInterval = 30 * 24 * 3600

    public static func schedule(_ draft: MaintenanceDraft, knownComponents: Set<String>, author: String, now: Date) throws -> MaintenanceWindow {
        try Validate.text(draft.title, field: "title", max: IncidentLifecycle.maxTitle)
        try Validate.text(draft.description, field: "description", max: IncidentLifecycle.maxMessage, allowEmpty: true)
        guard draft.scheduledEnd > draft.scheduledStart else {
            throw DomainError.invalid(field: "scheduledEnd", message: "must be after scheduledStart")
        }
        guard draft.scheduledEnd.timeIntervalSince(draft.scheduledStart) <= maxDuration else {
            throw DomainError.invalid(field: "scheduledEnd", message: "a maintenance window may last at most 30 days")
        }
        var seen = Set<String>()
        for slug in draft.components {
            guard knownComponents.contains(slug) else {
                throw DomainError.invalid(field: "components", message: "unknown component '\(slug)'")
            }
            guard seen.insert(slug).inserted else {
                throw DomainError.invalid(field: "components", message: "lists '\(slug)' twice")
            }
        }
        var window = MaintenanceWindow(
            title: draft.title, description: draft.description, components: draft.components,
            scheduledStart: draft.scheduledStart, scheduledEnd: draft.scheduledEnd, autoTransitions: draft.autoTransitions,
            isPublic: draft.isPublic, createdAt: now, updatedAt: now)
        let body = draft.description.isEmpty ? "Maintenance scheduled." : draft.description
        window.updates.append(MaintenanceUpdate(status: .scheduled, body: body, author: author, createdAt: now))
        return window
    }

    /// Moves the window to `target`, judged against its status at `now` (so a window that started on
    /// schedule can be completed, and one that already started can no longer be cancelled).
    public mutating func transition(to target: MaintenanceStatus, message: String?, author: String, now: Date) throws {
        let current = effectiveStatus(at: now)
        let allowed: Bool
        switch (current, target) {
        case (.scheduled, .inProgress), (.scheduled, .cancelled), (.inProgress, .completed): allowed = true
        default: allowed = false
        }
        guard allowed else {
            throw DomainError.conflict(
                code: "invalid_transition", message: "cannot move maintenance from \(current.rawValue) to \(target.rawValue)")
        }
        if let message { try Validate.text(message, field: "message", max: IncidentLifecycle.maxMessage) }
        status = target
        // Once a person steps in, the schedule no longer moves the window by itself.
        autoTransitions = false
        if target == .inProgress && now < scheduledStart { scheduledStart = now }
        if target == .completed && now < scheduledEnd { scheduledEnd = max(now, scheduledStart) }
        updatedAt = now
        let body = message ?? MaintenanceWindow.defaultMessage(for: target)
        updates.append(MaintenanceUpdate(status: target, body: body, author: author, createdAt: now))
    }

    /// Stores the status the schedule has moved a self-moving window to. Nothing people see changes (the
    /// page already derives it); the stored status, and so the event log, catch up with the clock.
    public mutating func followSchedule(at now: Date) {
        guard autoTransitions else { return }
        status = effectiveStatus(at: now)
    }

    /// The window as its stored status says, without the clock moving it: what it was before a write and is
    /// after it, so the component status a write changed can be told apart from what time alone changes.
    public var asStored: MaintenanceWindow {
        var stored = self
        stored.autoTransitions = false
        return stored
    }

    /// A message about the window without changing its status.
    public mutating func postUpdate(message: String, author: String, now: Date) throws {
        try Validate.text(message, field: "message", max: IncidentLifecycle.maxMessage)
        let current = effectiveStatus(at: now)
        guard !current.isFinished else {
            throw DomainError.conflict(code: "invalid_transition", message: "maintenance is \(current.rawValue); it takes no more updates")
        }
        updates.append(MaintenanceUpdate(status: current, body: message, author: author, createdAt: now))
        updatedAt = now
    }

    static func defaultMessage(for status: MaintenanceStatus) -> String {
        switch status {
        case .scheduled: return "Maintenance scheduled."
        case .inProgress: return "Maintenance is in progress."
        case .completed: return "Maintenance has been completed."
        case .cancelled: return "This maintenance has been cancelled."
        }
    }
}

extension MaintenanceWindow {
    /// The events recording a change from `before` to `after`: a new status, each new update (id 0), and an
    /// edit of anything else people see.
    public static func events(from before: MaintenanceWindow, to after: MaintenanceWindow) -> [DomainEvent] {
        var events: [DomainEvent] = []
        if before.status == .scheduled && after.status == .completed {
            // A window that ran its whole course between two looks at the clock still started first.
            events.append(.maintenanceStatusChanged(id: after.id, from: .scheduled, to: .inProgress))
            events.append(.maintenanceStatusChanged(id: after.id, from: .inProgress, to: .completed))
        } else if before.status != after.status {
            events.append(.maintenanceStatusChanged(id: after.id, from: before.status, to: after.status))
        }
        var edited = before
        edited.status = after.status
        edited.updates = after.updates
        edited.updatedAt = after.updatedAt
        if before.status != after.status {
            // A transition by hand stops the schedule and moves the start or end to when it happened: part of
            // the status change, not an edit.
            edited.autoTransitions = after.autoTransitions
            edited.scheduledStart = after.scheduledStart
            edited.scheduledEnd = after.scheduledEnd
        }
        if edited != after { events.append(.maintenanceEdited(id: after.id)) }
        let known = Set(before.updates.map(\.id))
        for update in after.updates where update.id == 0 || !known.contains(update.id) {
            events.append(.maintenanceUpdatePosted(id: after.id, status: update.status))
        }
        return events
    }
}
