import BelayCore
import Foundation
import Testing

/// The domain side of what a new user tripped over: reopening says so in public, a more severe alert raises
/// its incident, a component may make automatic incidents public, a refused check is a configuration
/// problem, and an internal incident goes public only with words for the public.
@Suite struct NewUserFixesTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)
    let known: Set<String> = ["api", "web"]

    func resolved(isPublic: Bool) throws -> Incident {
        var incident = try Incident.declare(
            IncidentDraft(
                title: "Elevated errors", severity: .sev2, isPublic: isPublic, impacts: [ComponentImpact(slug: "api", impact: .partialOutage)],
                message: "Investigating"),
            author: "alice", knownComponents: known, now: now
        ).0
        _ = try incident.postUpdate(status: .resolved, message: "Resolved", author: "alice", now: now.addingTimeInterval(600))
        return incident
    }

    @Test func reopeningAPublicIncidentPostsTheReasonWithTheStatusItReturnsTo() throws {
        var incident = try resolved(isPublic: true)
        let entries = try incident.reopen(to: .identified, reason: "Errors are back on the API", author: "bob", now: now.addingTimeInterval(900))
        let newest = try #require(incident.updates.last)
        #expect(newest.status == .identified)
        #expect(newest.body == "Errors are back on the API")
        #expect(newest.affectedComponents == [AffectedComponent(slug: "api", oldStatus: .operational, newStatus: .partialOutage)])
        #expect(entries.map(\.kind) == [.statusChange, .update])
        #expect(entries[1].fact == .updatePosted(status: .identified))
    }

    @Test func reopeningWithoutAReasonStillSaysSoAndAnInternalIncidentPostsNothing() throws {
        var loud = try resolved(isPublic: true)
        _ = try loud.reopen(reason: nil, author: "bob", now: now.addingTimeInterval(900))
        #expect(loud.updates.last?.status == .investigating)
        #expect(loud.updates.last?.body.contains("reopened") == true)

        var quiet = try resolved(isPublic: false)
        let before = quiet.updates.count
        let entries = try quiet.reopen(reason: "internal detail", author: "bob", now: now.addingTimeInterval(900))
        #expect(quiet.updates.count == before)
        #expect(entries.map(\.kind) == [.statusChange])
    }

    func alert(_ severity: Severity, components: [String] = ["api"]) -> Signal {
        Signal(
            sourceKind: .integration, sourceID: 7, sourceName: "prometheus", dedupKey: "k-\(severity.rawValue)", status: .firing, summary: "errors",
            severity: severity, components: components, startsAt: now, firstReceivedAt: now, lastReceivedAt: now)
    }

    let source = SignalSource(kind: .integration, id: 7, name: "prometheus", routing: Routing(), publicIncidents: false)

    @Test func aMoreSevereJoiningAlertRaisesTheIncidentOnTheTimelineAndALessSevereOneDoesNot() throws {
        var incident = Incident.open(from: alert(.sev2), source: source, now: now).0
        let calmer = try incident.join(alert(.sev3), source: source, now: now.addingTimeInterval(30))
        #expect(incident.severity == .sev2)
        #expect(!calmer.contains { $0.kind == .severityChange })

        let entries = try incident.join(alert(.sev1), source: source, now: now.addingTimeInterval(60))
        #expect(incident.severity == .sev1)
        let raised = try #require(entries.first { $0.kind == .severityChange })
        #expect(raised.fact == .severityChanged(from: .sev2, to: .sev1))
        #expect(raised.text.contains("sev1 alert from integration prometheus joined"))
    }

    @Test func automaticIncidentsArePublicWhenTheirComponentOrSourceSaysSo() {
        #expect(!Incident.open(from: alert(.sev2), source: source, now: now).0.isPublic)
        #expect(Incident.open(from: alert(.sev2), source: source, publicComponents: ["api"], now: now).0.isPublic)
        #expect(!Incident.open(from: alert(.sev2, components: ["web"]), source: source, publicComponents: ["api"], now: now).0.isPublic)
        var loud = source
        loud.publicIncidents = true
        #expect(Incident.open(from: alert(.sev2, components: []), source: loud, now: now).0.isPublic)
    }

    @Test func aRefusedCheckIsAConfigurationProblemThatLeavesTheStatusAlone() {
        var monitor = Monitor(name: "api", kind: .http, settings: MonitorSettings(url: "http://127.0.0.1/"), failureThreshold: 1, createdAt: now, updatedAt: now)
        monitor.recordConfigurationProblem("127.0.0.1 is refused by the egress policy (loopback)", at: now)
        #expect(monitor.state.status == .pending)
        #expect(monitor.state.consecutiveFailures == 0)
        #expect(monitor.state.configurationProblem?.contains("egress policy") == true)
        #expect(monitor.record(.up, message: "200 OK", latencyMs: 3, at: now.addingTimeInterval(60)) == .up)
        #expect(monitor.state.configurationProblem == nil)
    }

    @Test func anInternalIncidentGoesPublicOnlyWithWordsForThePublic() throws {
        var incident = try Incident.declare(
            IncidentDraft(title: "Disk filling", severity: .sev3, isPublic: false), author: "alice", knownComponents: known, now: now
        ).0
        #expect(throws: DomainError.self) { try incident.publish(message: "  ", knownComponents: known, author: "alice", now: now) }
        #expect(!incident.isPublic)
        let entries = try incident.publish(message: "Uploads are slow", knownComponents: known, author: "alice", now: now.addingTimeInterval(60))
        #expect(incident.isPublic)
        #expect(incident.updates.last?.body == "Uploads are slow")
        #expect(entries.map(\.kind) == [.visibilityChange, .update])
        #expect(try incident.publish(message: "again", knownComponents: known, author: "alice", now: now).isEmpty)
    }
}
