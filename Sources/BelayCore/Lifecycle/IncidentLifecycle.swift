import Foundation

/// The rules of an incident's life. Every change is a pure function of the incident, the input and the
/// time, and returns the timeline entries that record it; nothing here touches storage.
public enum IncidentLifecycle {
    /// Recording something this long after it happened counts as backdating and is flagged.
    public static let backdateTolerance: TimeInterval = 60
    /// How far into the future a milestone may be put, to absorb clock skew between machines.
    public static let futureTolerance: TimeInterval = 300

    public static let maxTitle = 200
    public static let maxMessage = 10_000
    public static let maxName = 120

    /// Whether an incident in `from` may move to `to` through an ordinary update.
    /// Open states may move freely among themselves and to resolved; staying put is no move; resolved only
    /// leaves through `reopen`.
    public static func canTransition(from: IncidentStatus, to: IncidentStatus) -> Bool {
        from.isOpen && to != from
    }

    static func checkTransition(from: IncidentStatus, to: IncidentStatus) throws {
        guard canTransition(from: from, to: to) else {
            if from == to {
                throw DomainError.conflict(code: "invalid_transition", message: "incident is already \(to.rawValue)")
            }
            throw DomainError.conflict(
                code: "invalid_transition",
                message: "cannot move a resolved incident to \(to.rawValue); reopen it first")
        }
    }

    static func checkNotFuture(_ date: Date, field: String, now: Date) throws {
        if date.timeIntervalSince(now) > futureTolerance {
            throw DomainError.invalid(field: field, message: "must not be in the future")
        }
    }

    static func iso(_ date: Date) -> String { date.formatted(.iso8601) }

    static func validateImpacts(_ impacts: [ComponentImpact], known: Set<String>) throws {
        var seen = Set<String>()
        for impact in impacts {
            guard known.contains(impact.slug) else {
                throw DomainError.invalid(field: "components", message: "unknown component '\(impact.slug)'")
            }
            guard seen.insert(impact.slug).inserted else {
                throw DomainError.invalid(field: "components", message: "lists '\(impact.slug)' twice")
            }
        }
    }

    static func validatePerson(_ name: String?, field: String) throws {
        if let name { try Validate.text(name, field: field, max: maxName) }
    }
}

extension Incident {
    /// Declares a new incident. A person declaring an incident has acknowledged it, so `acknowledgedAt`
    /// defaults to now, as `detectedAt` does; `impactStartedAt` defaults to detection.
    public static func declare(
        _ draft: IncidentDraft, author: String, knownComponents: Set<String>, now: Date
    ) throws -> (Incident, [TimelineEntry]) {
        try Validate.text(draft.title, field: "title", max: IncidentLifecycle.maxTitle)
        if let message = draft.message { try Validate.text(message, field: "message", max: IncidentLifecycle.maxMessage) }
        guard draft.status.isOpen else {
            throw DomainError.invalid(field: "status", message: "a new incident must be open (investigating, identified or monitoring)")
        }
        try IncidentLifecycle.validateImpacts(draft.impacts, known: knownComponents)
        for role in Role.allCases { try IncidentLifecycle.validatePerson(draft.roles[role], field: "roles.\(role.rawValue)") }

        var milestones = draft.milestones
        for milestone in Milestone.allCases {
            if let date = milestones[milestone] { try IncidentLifecycle.checkNotFuture(date, field: milestone.rawValue, now: now) }
        }
        if milestones.resolvedAt != nil {
            throw DomainError.invalid(field: "resolvedAt", message: "a new incident cannot be resolved")
        }
        // Detection cannot come after acknowledgement, so an earlier acknowledgement pulls the default back.
        milestones.detectedAt = milestones.detectedAt ?? min(now, milestones.acknowledgedAt ?? now)
        milestones.acknowledgedAt = milestones.acknowledgedAt ?? max(now, milestones.detectedAt!)
        milestones.impactStartedAt = milestones.impactStartedAt ?? milestones.detectedAt
        if draft.status == .monitoring { milestones.mitigatedAt = milestones.mitigatedAt ?? now }
        try milestones.validate()

        var incident = Incident(
            title: draft.title, severity: draft.severity, status: draft.status, isPublic: draft.isPublic,
            impacts: draft.impacts, milestones: milestones, roles: draft.roles, createdAt: now, updatedAt: now)
        var entries = [
            TimelineEntry(
                fact: .declared(severity: draft.severity, status: draft.status, signalID: nil), author: author, occurredAt: now,
                recordedAt: now, text: "Declared \(draft.severity.rawValue) incident, \(draft.status.rawValue)")
        ]
        for milestone in Milestone.allCases {
            if let date = milestones[milestone], let given = draft.milestones[milestone], given == date,
                now.timeIntervalSince(date) > IncidentLifecycle.backdateTolerance
            {
                entries.append(
                    TimelineEntry(
                        fact: .milestoneSet(milestone: milestone, at: date, previous: nil, backdated: true), author: author,
                        occurredAt: date, recordedAt: now, text: "\(milestone.rawValue) set to \(IncidentLifecycle.iso(date)), backdated at declaration"))
            }
        }
        if let message = draft.message {
            let affected = draft.impacts.map {
                AffectedComponent(slug: $0.slug, oldStatus: .operational, newStatus: $0.impact.componentStatus)
            }
            incident.updates.append(
                StatusUpdate(status: draft.status, body: message, author: author, createdAt: now, displayAt: now, affectedComponents: affected))
            entries.append(
                TimelineEntry(fact: .updatePosted(status: draft.status), author: author, occurredAt: now, recordedAt: now, text: message))
        }
        return (incident, entries)
    }

    /// Posts a public update, optionally changing status and component impacts. Moving to monitoring marks
    /// the incident mitigated; moving to resolved marks it resolved (and mitigated, if it was not yet).
    public mutating func postUpdate(
        status newStatus: IncidentStatus?, message: String, impacts newImpacts: [ComponentImpact]? = nil,
        knownComponents: Set<String> = [], displayAt: Date? = nil, notifySubscribers: Bool = true, author: String, now: Date
    ) throws -> [TimelineEntry] {
        try Validate.text(message, field: "message", max: IncidentLifecycle.maxMessage)
        let target = newStatus ?? status
        // An update that keeps an open incident's status moves nothing; a resolved incident takes no update.
        if target != status || status == .resolved { try IncidentLifecycle.checkTransition(from: status, to: target) }
        let shownAt = displayAt ?? now
        try IncidentLifecycle.checkNotFuture(shownAt, field: "displayAt", now: now)

        var entries: [TimelineEntry] = []
        var affected: [AffectedComponent] = []
        if let newImpacts {
            try IncidentLifecycle.validateImpacts(newImpacts, known: knownComponents)
            affected = Incident.componentChanges(from: impacts, to: newImpacts)
            if !affected.isEmpty {
                entries.append(impactEntry(affected, author: author, now: now))
                impacts = newImpacts
            }
        }
        if target == .resolved {
            // Resolution returns every affected component to operational in the announcement.
            affected = impacts.map { AffectedComponent(slug: $0.slug, oldStatus: $0.impact.componentStatus, newStatus: .operational) }
        }
        entries += try moveStatus(to: target, at: shownAt, author: author, now: now)
        updates.append(
            StatusUpdate(status: target, body: message, author: author, createdAt: now, displayAt: shownAt, affectedComponents: affected))
        entries.append(
            TimelineEntry(fact: .updatePosted(status: target, notify: notifySubscribers ? nil : false), author: author, occurredAt: shownAt, recordedAt: now, text: message))
        updatedAt = now
        return entries
    }

    /// Changes status without a public message (the public page still shows the new status).
    public mutating func changeStatus(to target: IncidentStatus, at occurredAt: Date? = nil, author: String, now: Date) throws -> [TimelineEntry] {
        try IncidentLifecycle.checkTransition(from: status, to: target)
        let at = occurredAt ?? now
        try IncidentLifecycle.checkNotFuture(at, field: "at", now: now)
        let entries = try moveStatus(to: target, at: at, author: author, now: now)
        updatedAt = now
        return entries
    }

    private mutating func moveStatus(to target: IncidentStatus, at: Date, author: String, now: Date) throws -> [TimelineEntry] {
        guard target != status else { return [] }
        let from = status
        var candidate = milestones
        if target == .monitoring || target == .resolved { candidate.mitigatedAt = candidate.mitigatedAt ?? at }
        if target == .resolved { candidate.resolvedAt = at }
        try candidate.validate()
        milestones = candidate
        status = target
        return [
            TimelineEntry(
                fact: .statusChanged(from: from, to: target), author: author, occurredAt: at, recordedAt: now,
                text: "Status changed from \(from.rawValue) to \(target.rawValue)")
        ]
    }

    /// Reopens a resolved incident. The earlier resolution time is kept in the timeline.
    public mutating func reopen(to target: IncidentStatus = .investigating, reason: String?, author: String, now: Date) throws -> [TimelineEntry] {
        guard status == .resolved else {
            throw DomainError.conflict(code: "invalid_transition", message: "only a resolved incident can be reopened (it is \(status.rawValue))")
        }
        guard target.isOpen else {
            throw DomainError.invalid(field: "status", message: "a reopened incident must be open")
        }
        if let reason { try Validate.text(reason, field: "reason", max: IncidentLifecycle.maxMessage) }
        let previousAt = milestones.resolvedAt
        let previous = previousAt.map(IncidentLifecycle.iso) ?? ""
        milestones.resolvedAt = nil
        status = target
        reopenCount += 1
        updatedAt = now
        var text = "Reopened as \(target.rawValue) (had been resolved at \(previous))"
        if let reason { text += ": \(reason)" }
        var entries = [
            TimelineEntry(
                fact: .reopened(to: target, previousResolvedAt: previousAt), author: author, occurredAt: now, recordedAt: now, text: text)
        ]
        // The public page's newest update must not still say "Resolved": a public incident says why it is open again.
        // An internal one posts nothing, so words written while it was internal never reach the public later.
        if isPublic {
            let body = reason ?? Self.reopenedBody(target)
            let affected = impacts.map { AffectedComponent(slug: $0.slug, oldStatus: .operational, newStatus: $0.impact.componentStatus) }
            updates.append(StatusUpdate(status: target, body: body, author: author, createdAt: now, displayAt: now, affectedComponents: affected))
            entries.append(TimelineEntry(fact: .updatePosted(status: target), author: author, occurredAt: now, recordedAt: now, text: body))
        }
        return entries
    }

    /// The public words of a reopening that gave no reason.
    static func reopenedBody(_ status: IncidentStatus) -> String {
        switch status {
        case .identified: "This incident has been reopened: the issue has returned and we know its cause."
        case .monitoring: "This incident has been reopened and we are monitoring it again."
        default: "This incident has been reopened: the issue has returned and we are investigating."
        }
    }

    public mutating func setSeverity(_ severity: Severity, author: String, now: Date) throws -> [TimelineEntry] {
        guard severity != self.severity else { return [] }
        let from = self.severity
        self.severity = severity
        updatedAt = now
        return [
            TimelineEntry(
                fact: .severityChanged(from: from, to: severity), author: author, occurredAt: now, recordedAt: now,
                text: "Severity changed from \(from.rawValue) to \(severity.rawValue)")
        ]
    }

    /// Replaces the set of affected components and their impact.
    public mutating func setImpacts(_ newImpacts: [ComponentImpact], knownComponents: Set<String>, author: String, now: Date) throws -> [TimelineEntry] {
        guard isOpen else {
            throw DomainError.conflict(code: "incident_resolved", message: "the incident is resolved; reopen it to change its impact")
        }
        try IncidentLifecycle.validateImpacts(newImpacts, known: knownComponents)
        let changes = Incident.componentChanges(from: impacts, to: newImpacts)
        guard !changes.isEmpty else { return [] }
        impacts = newImpacts
        updatedAt = now
        return [impactEntry(changes, author: author, now: now)]
    }

    /// Sets a milestone to when it really happened. Setting it in the past is allowed and recorded as
    /// backdating, with the value it replaced.
    public mutating func setMilestone(_ milestone: Milestone, to date: Date, author: String, now: Date) throws -> [TimelineEntry] {
        try IncidentLifecycle.checkNotFuture(date, field: milestone.rawValue, now: now)
        if milestone == .resolvedAt && status != .resolved {
            throw DomainError.conflict(code: "invalid_milestone", message: "resolvedAt can only be set on a resolved incident; resolve it instead")
        }
        var candidate = milestones
        let previous = candidate[milestone]
        guard previous != date else { return [] }
        candidate[milestone] = date
        try candidate.validate()
        milestones = candidate
        updatedAt = now
        let backdated = now.timeIntervalSince(date) > IncidentLifecycle.backdateTolerance
        var text = "\(milestone.rawValue) set to \(IncidentLifecycle.iso(date))"
        if let previous { text += " (was \(IncidentLifecycle.iso(previous)))" }
        if backdated { text += ", recorded \(Durations.describe(now.timeIntervalSince(date))) after it happened" }
        let fact = TimelineFact.milestoneSet(milestone: milestone, at: date, previous: previous, backdated: backdated)
        return [TimelineEntry(fact: fact, author: author, occurredAt: date, recordedAt: now, text: text)]
    }

    /// Assigns (or with nil, clears) a role.
    public mutating func assign(_ role: Role, to person: String?, author: String, now: Date) throws -> [TimelineEntry] {
        let person = person?.trimmingCharacters(in: .whitespacesAndNewlines)
        let normalized = (person?.isEmpty ?? true) ? nil : person
        try IncidentLifecycle.validatePerson(normalized, field: "roles.\(role.rawValue)")
        guard roles[role] != normalized else { return [] }
        roles[role] = normalized
        updatedAt = now
        let text = normalized.map { "\($0) is now \(role.rawValue)" } ?? "\(role.rawValue) role cleared"
        return [
            TimelineEntry(
                fact: .roleAssigned(role: role, person: normalized), author: author, occurredAt: now, recordedAt: now, text: text)
        ]
    }

    public mutating func setVisibility(isPublic: Bool, author: String, now: Date) -> [TimelineEntry] {
        guard isPublic != self.isPublic else { return [] }
        self.isPublic = isPublic
        updatedAt = now
        return [
            TimelineEntry(
                fact: .visibilityChanged(isPublic: isPublic), author: author, occurredAt: now, recordedAt: now,
                text: isPublic ? "Made public" : "Made internal")
        ]
    }

    /// Makes an internal incident public with its first public words, so the status page never shows an
    /// open incident nobody has described. A resolved incident needs no message (it shows as resolved).
    public mutating func publish(message: String?, knownComponents: Set<String>, author: String, now: Date) throws -> [TimelineEntry] {
        guard !isPublic else { return [] }
        let words = message?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if isOpen && words.isEmpty {
            throw DomainError.invalid(field: "message", message: "say what the public will read when the incident appears on the status page")
        }
        var entries = setVisibility(isPublic: true, author: author, now: now)
        if !words.isEmpty, isOpen {
            entries += try postUpdate(status: nil, message: words, knownComponents: knownComponents, author: author, now: now)
        }
        return entries
    }

    public mutating func retitle(_ title: String, author: String, now: Date) throws -> [TimelineEntry] {
        try Validate.text(title, field: "title", max: IncidentLifecycle.maxTitle)
        guard title != self.title else { return [] }
        let old = self.title
        self.title = title
        updatedAt = now
        return [TimelineEntry(fact: .renamed(previousTitle: old), author: author, occurredAt: now, recordedAt: now, text: "Renamed from \"\(old)\"")]
    }

    /// A free-text note on the timeline; `occurredAt` may be in the past when writing up what happened.
    public func note(_ text: String, occurredAt: Date?, author: String, now: Date) throws -> TimelineEntry {
        try Validate.text(text, field: "text", max: IncidentLifecycle.maxMessage)
        let at = occurredAt ?? now
        try IncidentLifecycle.checkNotFuture(at, field: "occurredAt", now: now)
        return TimelineEntry(incidentID: id, fact: .note, author: author, occurredAt: at, recordedAt: now, text: text)
    }

    private func impactEntry(_ changes: [AffectedComponent], author: String, now: Date) -> TimelineEntry {
        let text = changes.map { "\($0.slug): \($0.oldStatus.rawValue) → \($0.newStatus.rawValue)" }.joined(separator: ", ")
        return TimelineEntry(fact: .impactChanged(changes: changes), author: author, occurredAt: now, recordedAt: now, text: "Impact changed: \(text)")
    }

    static func componentChanges(from old: [ComponentImpact], to new: [ComponentImpact]) -> [AffectedComponent] {
        var changes: [AffectedComponent] = []
        for item in new {
            let before = old.first { $0.slug == item.slug }?.impact.componentStatus ?? .operational
            if before != item.impact.componentStatus {
                changes.append(AffectedComponent(slug: item.slug, oldStatus: before, newStatus: item.impact.componentStatus))
            }
        }
        for item in old where !new.contains(where: { $0.slug == item.slug }) {
            changes.append(AffectedComponent(slug: item.slug, oldStatus: item.impact.componentStatus, newStatus: .operational))
        }
        return changes
    }
}

/// Human wording for lengths of time ("2 h 25 min").
public enum Durations {
    public static func describe(_ interval: TimeInterval) -> String {
        let seconds = Int(interval.rounded())
        if seconds < 60 { return "\(seconds) s" }
        let minutes = seconds / 60
        if minutes < 60 { return "\(minutes) min" }
        let hours = minutes / 60
        if hours < 48 { return minutes % 60 == 0 ? "\(hours) h" : "\(hours) h \(minutes % 60) min" }
        return "\(hours / 24) d \(hours % 24) h"
    }
}
