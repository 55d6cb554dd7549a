import BelayCore
import BelayTestSupport
import Foundation
import Testing

@Suite struct IncidentLifecycleTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)
    let known: Set<String> = ["api", "web"]

    func declared(_ status: IncidentStatus = .investigating) throws -> Incident {
        try Incident.declare(
            IncidentDraft(title: "Elevated errors", severity: .sev2, status: status, impacts: [ComponentImpact(slug: "api", impact: .partialOutage)], message: "Investigating"),
            author: "alice", knownComponents: known, now: now
        ).0
    }

    @Test func declaringSetsDetectionAcknowledgementAndImpactStartToNowByDefault() throws {
        let (incident, entries) = try Incident.declare(
            IncidentDraft(title: "Down", severity: .sev1, message: "We are looking into it"), author: "alice", knownComponents: known, now: now)
        #expect(incident.milestones.detectedAt == now)
        #expect(incident.milestones.acknowledgedAt == now)
        #expect(incident.milestones.impactStartedAt == now)
        #expect(incident.milestones.resolvedAt == nil)
        #expect(entries.map(\.kind) == [.declared, .update])
        #expect(incident.updates.count == 1)
        #expect(incident.updates[0].status == .investigating)
    }

    @Test func declaringWithAnEarlierImpactStartRecordsTheBackdating() throws {
        let start = now.addingTimeInterval(-5 * 3600)
        let (incident, entries) = try Incident.declare(
            IncidentDraft(title: "Exports failing", severity: .sev2, milestones: Milestones(impactStartedAt: start)), author: "bob", knownComponents: known, now: now)
        #expect(incident.milestones.impactStartedAt == start)
        let milestone = try #require(entries.first { $0.kind == .milestone })
        #expect(milestone.occurredAt == start)
        #expect(milestone.recordedAt == now)
        #expect(milestone.isBackdated)
    }

    @Test func declaringRejectsUnknownComponentsEmptyTitlesAndResolvedStatus() {
        #expect(throws: DomainError.self) {
            try Incident.declare(IncidentDraft(title: "x", severity: .sev3, impacts: [ComponentImpact(slug: "nope", impact: .majorOutage)]), author: "a", knownComponents: known, now: now)
        }
        #expect(throws: DomainError.self) {
            try Incident.declare(IncidentDraft(title: "   ", severity: .sev3), author: "a", knownComponents: known, now: now)
        }
        #expect(throws: DomainError.self) {
            try Incident.declare(IncidentDraft(title: "x", severity: .sev3, status: .resolved), author: "a", knownComponents: known, now: now)
        }
        #expect(throws: DomainError.self) {
            try Incident.declare(
                IncidentDraft(title: "x", severity: .sev3, milestones: Milestones(detectedAt: now.addingTimeInterval(3600))), author: "a", knownComponents: known, now: now)
        }
    }

    @Test func openStatusesMoveFreelyAndMonitoringMarksMitigation() throws {
        var incident = try declared()
        let later = now.addingTimeInterval(600)
        _ = try incident.postUpdate(status: .identified, message: "Found it", author: "a", now: later)
        #expect(incident.status == .identified)
        #expect(incident.milestones.mitigatedAt == nil)
        _ = try incident.postUpdate(status: .monitoring, message: "Fix deployed", author: "a", now: later.addingTimeInterval(60))
        #expect(incident.milestones.mitigatedAt == later.addingTimeInterval(60))
        _ = try incident.postUpdate(status: .investigating, message: "Errors are back", author: "a", now: later.addingTimeInterval(120))
        #expect(incident.status == .investigating)
        // The first mitigation time stands; it was a real mitigation even if it did not hold.
        #expect(incident.milestones.mitigatedAt == later.addingTimeInterval(60))
    }

    @Test func resolvingSetsResolvedAndAnnouncesComponentsBackToOperational() throws {
        var incident = try declared()
        let at = now.addingTimeInterval(1800)
        let entries = try incident.postUpdate(status: .resolved, message: "All clear", author: "a", now: at)
        #expect(incident.status == .resolved)
        #expect(incident.milestones.resolvedAt == at)
        #expect(incident.milestones.mitigatedAt == at)
        #expect(incident.updates.last?.affectedComponents == [AffectedComponent(slug: "api", oldStatus: .partialOutage, newStatus: .operational)])
        #expect(entries.contains { $0.fact == .statusChanged(from: .investigating, to: .resolved) })
    }

    @Test(arguments: [IncidentStatus.investigating, .identified, .monitoring, .resolved])
    func aResolvedIncidentRefusesEveryStatusChangeExceptReopen(target: IncidentStatus) throws {
        var incident = try declared()
        _ = try incident.changeStatus(to: .resolved, author: "a", now: now)
        let before = incident
        #expect(throws: DomainError.self) { try incident.postUpdate(status: target, message: "again", author: "a", now: now) }
        #expect(throws: DomainError.self) { try incident.changeStatus(to: target, author: "a", now: now) }
        #expect(incident == before)
    }

    @Test func transitionsDependOnBothEnds() {
        for from in IncidentStatus.allCases {
            for to in IncidentStatus.allCases {
                #expect(IncidentLifecycle.canTransition(from: from, to: to) == (from.isOpen && from != to), "\(from) -> \(to)")
            }
        }
    }

    @Test func invalidTransitionIsAConflictNamedInvalidTransition() throws {
        var incident = try declared()
        _ = try incident.changeStatus(to: .resolved, author: "a", now: now)
        do {
            _ = try incident.changeStatus(to: .monitoring, author: "a", now: now)
            Issue.record("expected a conflict")
        } catch let error as DomainError {
            guard case .conflict(let code, _) = error else { Issue.record("expected a conflict, got \(error)"); return }
            #expect(code == "invalid_transition")
        }
    }

    @Test func reopeningClearsResolutionAndRecordsTheEarlierTime() throws {
        var incident = try declared()
        let resolvedAt = now.addingTimeInterval(100)
        _ = try incident.changeStatus(to: .resolved, author: "a", now: resolvedAt)
        let entries = try incident.reopen(reason: "Errors returned", author: "b", now: now.addingTimeInterval(200))
        #expect(incident.status == .investigating)
        #expect(incident.milestones.resolvedAt == nil)
        #expect(incident.reopenCount == 1)
        #expect(entries[0].fact == .reopened(to: .investigating, previousResolvedAt: resolvedAt))
        #expect(entries[0].fact.details["previousResolvedAt"] == resolvedAt.formatted(.iso8601))
        #expect(throws: DomainError.self) { try incident.reopen(reason: nil, author: "b", now: now) }
    }

    @Test func settingAMilestoneInThePastIsRecordedWithThePreviousValue() throws {
        var incident = try declared()
        let real = now.addingTimeInterval(-2 * 3600)
        let entries = try incident.setMilestone(.impactStartedAt, to: real, author: "scribe", now: now)
        #expect(incident.milestones.impactStartedAt == real)
        #expect(entries.count == 1)
        #expect(entries[0].occurredAt == real)
        #expect(entries[0].recordedAt == now)
        #expect(entries[0].fact == .milestoneSet(milestone: .impactStartedAt, at: real, previous: now, backdated: true))
        #expect(entries[0].fact.details["previous"] == now.formatted(.iso8601))
    }

    @Test func milestonesMustStayInOrder() throws {
        var incident = try declared()
        _ = try incident.changeStatus(to: .monitoring, author: "a", now: now.addingTimeInterval(60))
        let before = incident
        #expect(throws: DomainError.self) {
            try incident.setMilestone(.mitigatedAt, to: now.addingTimeInterval(-3600), author: "a", now: now.addingTimeInterval(120))
        }
        #expect(throws: DomainError.self) { try incident.setMilestone(.resolvedAt, to: now, author: "a", now: now) }
        #expect(incident == before)
    }

    @Test func rolesSeverityAndImpactChangesAreTimelined() throws {
        var incident = try declared()
        var entries = try incident.assign(.commander, to: "Dana", author: "a", now: now)
        entries += try incident.setSeverity(.sev1, author: "a", now: now)
        entries += try incident.setImpacts([ComponentImpact(slug: "web", impact: .majorOutage)], knownComponents: known, author: "a", now: now)
        #expect(incident.roles.commander == "Dana")
        #expect(incident.severity == .sev1)
        #expect(incident.impacts == [ComponentImpact(slug: "web", impact: .majorOutage)])
        #expect(entries.map(\.kind) == [.roleChange, .severityChange, .impactChange])
        #expect(try incident.setSeverity(.sev1, author: "a", now: now).isEmpty)
    }
}

@Suite struct MaintenanceLifecycleTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)

    func scheduled(start: TimeInterval = 3600, length: TimeInterval = 3600) throws -> MaintenanceWindow {
        try MaintenanceWindow.schedule(
            MaintenanceDraft(title: "Subnet change", components: ["api"], scheduledStart: now.addingTimeInterval(start), scheduledEnd: now.addingTimeInterval(start + length)),
            knownComponents: ["api"], author: "ops", now: now)
    }

    @Test func theScheduleDrivesTheEffectiveStatus() throws {
        let window = try scheduled()
        #expect(window.effectiveStatus(at: now) == .scheduled)
        #expect(window.effectiveStatus(at: now.addingTimeInterval(3600)) == .inProgress)
        #expect(window.effectiveStatus(at: now.addingTimeInterval(7200)) == .completed)
    }

    @Test func cancellingTheNightBeforeStopsItFromEverStarting() throws {
        var window = try scheduled()
        try window.transition(to: .cancelled, message: "Postponed: the change was not reviewed", author: "ops", now: now)
        #expect(window.effectiveStatus(at: now.addingTimeInterval(4000)) == .cancelled)
        #expect(window.updates.last?.body == "Postponed: the change was not reviewed")
        #expect(throws: DomainError.self) { try window.transition(to: .inProgress, message: nil, author: "ops", now: now) }
    }

    @Test func aStartedWindowCannotBeCancelledButCanBeCompleted() throws {
        var window = try scheduled(start: -60)
        #expect(throws: DomainError.self) { try window.transition(to: .cancelled, message: nil, author: "ops", now: now) }
        try window.transition(to: .completed, message: nil, author: "ops", now: now)
        #expect(window.effectiveStatus(at: now) == .completed)
    }

    @Test func schedulingRejectsBackwardsWindowsAndUnknownComponents() {
        #expect(throws: DomainError.self) {
            try MaintenanceWindow.schedule(
                MaintenanceDraft(title: "x", components: [], scheduledStart: now, scheduledEnd: now.addingTimeInterval(-1)), knownComponents: [], author: "a", now: now)
        }
        #expect(throws: DomainError.self) {
            try MaintenanceWindow.schedule(
                MaintenanceDraft(title: "x", components: ["ghost"], scheduledStart: now, scheduledEnd: now.addingTimeInterval(60)), knownComponents: [], author: "a", now: now)
        }
    }
}

@Suite struct MilestonePrecisionTests {
    /// Found by `belay serve --demo`: a replay shifted by a fractional offset stored mitigatedAt, read it back a
    /// rounding step later than the resolution at the same moment, and refused the resolution.
    @Test func aDateReadBackFromStorageIsTheSameMomentAsTheOneInMemory() throws {
        let now = Date(timeIntervalSinceReferenceDate: 801_000_000.123_456_7)
        let stored = Date(timeIntervalSince1970: now.timeIntervalSince1970)
        var incident = Incident(
            title: "x", severity: .sev2, status: .monitoring, milestones: Milestones(impactStartedAt: now, detectedAt: now, mitigatedAt: max(now, stored).addingTimeInterval(1e-7)),
            createdAt: now, updatedAt: now)
        _ = try incident.changeStatus(to: .resolved, at: now, author: "a", now: now)
        #expect(incident.status == .resolved)
        // A real inversion is still refused.
        var other = Incident(
            title: "y", severity: .sev2, status: .monitoring, milestones: Milestones(impactStartedAt: now, detectedAt: now, mitigatedAt: now.addingTimeInterval(60)),
            createdAt: now, updatedAt: now)
        #expect(throws: DomainError.self) { _ = try other.changeStatus(to: .resolved, at: now, author: "a", now: now.addingTimeInterval(120)) }
    }
}
