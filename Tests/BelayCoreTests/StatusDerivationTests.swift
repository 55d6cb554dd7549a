import BelayCore
import BelayTestSupport
import Foundation
import Testing

@Suite struct StatusDerivationTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)

    func incident(_ impacts: [(String, Impact)], status: IncidentStatus = .investigating, start: TimeInterval = -3600, resolvedAfter: TimeInterval? = nil) -> Incident {
        var incident = Incident(
            id: 1, title: "t", severity: .sev2, status: status, impacts: impacts.map { ComponentImpact(slug: $0.0, impact: $0.1) },
            milestones: Milestones(impactStartedAt: now.addingTimeInterval(start)), createdAt: now.addingTimeInterval(start), updatedAt: now)
        if let resolvedAfter { incident.milestones.resolvedAt = now.addingTimeInterval(start + resolvedAfter) }
        return incident
    }

    var components: [Component] {
        ["api", "web", "db"].map { Fixtures.component($0, at: now.addingTimeInterval(-200 * 86400)) }
    }

    @Test func componentStatusIsTheWorstOpenImpactAndIgnoresResolvedIncidents() {
        let statuses = ServiceStatus.componentStatuses(
            components: components,
            incidents: [
                incident([("api", .degradedPerformance)]), incident([("api", .majorOutage)], status: .resolved),
                incident([("api", .partialOutage), ("web", .degradedPerformance)]),
            ],
            maintenances: [], now: now)
        #expect(statuses["api"] == .partialOutage)
        #expect(statuses["web"] == .degradedPerformance)
        #expect(statuses["db"] == .operational)
        #expect(ServiceStatus.overall(statuses: statuses.values, openIncidents: []) == .major)
    }

    @Test func activeMaintenanceShowsUnlessAnIncidentIsWorse() {
        let window = MaintenanceWindow(
            id: 1, title: "m", components: ["db", "api"], scheduledStart: now.addingTimeInterval(-60), scheduledEnd: now.addingTimeInterval(60),
            createdAt: now, updatedAt: now)
        let statuses = ServiceStatus.componentStatuses(
            components: components, incidents: [incident([("api", .degradedPerformance)])], maintenances: [window], now: now)
        #expect(statuses["db"] == .underMaintenance)
        #expect(statuses["api"] == .degradedPerformance)
        let onlyMaintenance = ServiceStatus.componentStatuses(components: components, incidents: [], maintenances: [window], now: now)
        #expect(ServiceStatus.overall(statuses: onlyMaintenance.values, openIncidents: []) == .maintenance)
    }

    @Test func anOpenIncidentWithoutComponentsStillLowersTheBanner() {
        let statuses = ServiceStatus.componentStatuses(components: components, incidents: [], maintenances: [], now: now)
        #expect(ServiceStatus.overall(statuses: statuses.values, openIncidents: [incident([])]) == .minor)
        #expect(ServiceStatus.overall(statuses: statuses.values, openIncidents: []) == .none)
    }

    @Test func historyCountsOverlappingIncidentsOnceAtTheWorstLevel() {
        // A two-hour partial outage with a one-hour major outage inside it.
        let day = Calendar(identifier: .gregorian).startOfDay(for: now)
        let base = day.addingTimeInterval(-86400 + 3600)  // yesterday, 01:00 in the machine's zone; only offsets matter
        let partial = Incident(
            id: 1, title: "p", severity: .sev2, status: .resolved, impacts: [ComponentImpact(slug: "api", impact: .partialOutage)],
            milestones: Milestones(impactStartedAt: base, resolvedAt: base.addingTimeInterval(7200)), createdAt: base, updatedAt: base)
        let major = Incident(
            id: 2, title: "m", severity: .sev1, status: .resolved, impacts: [ComponentImpact(slug: "api", impact: .majorOutage)],
            milestones: Milestones(impactStartedAt: base.addingTimeInterval(1800), resolvedAt: base.addingTimeInterval(5400)), createdAt: base, updatedAt: base)
        let history = UptimeHistory.build(components: components, incidents: [partial, major], maintenances: [], days: 90, now: now)
        let api = try! #require(history["api"])
        let total = api.days.reduce(into: [ComponentStatus: TimeInterval]()) { sums, day in
            for (status, seconds) in day.seconds { sums[status, default: 0] += seconds }
        }
        #expect(total[.majorOutage] == 3600)
        #expect(total[.partialOutage] == 3600)
        #expect(api.days.contains { $0.worst == .majorOutage })
        #expect(api.days.count == 90)
        // 1 h major + 0.3 × 1 h partial out of the 90-day span.
        let span = now.timeIntervalSince(api.days[0].day)
        #expect(abs(api.uptime - (1 - (3600 + 0.3 * 3600) / span)) < 1e-9)
        #expect(history["web"]?.uptime == 1)
    }

    @Test func uptimeCountsFromWhenAnythingIsKnownOfTheComponent() throws {
        // Added to Belay ten days ago; an outage recorded against it began twelve days ago and lasted an hour.
        let component = Fixtures.component("exports", at: now.addingTimeInterval(-10 * 86400))
        let start = now.addingTimeInterval(-12 * 86400)
        let outage = Incident(
            id: 1, title: "o", severity: .sev1, status: .resolved, impacts: [ComponentImpact(slug: "exports", impact: .majorOutage)],
            milestones: Milestones(impactStartedAt: start, resolvedAt: start.addingTimeInterval(3600)), createdAt: start, updatedAt: start)
        let history = try #require(UptimeHistory.build(components: [component], incidents: [outage], maintenances: [], days: 90, now: now)["exports"])
        #expect(abs(history.uptime - (1 - 3600 / now.timeIntervalSince(start))) < 1e-9)
        #expect(history.days[history.firstKnownDay].worst == .majorOutage)
        #expect(history.days[..<history.firstKnownDay].allSatisfy { $0.worst == .operational && $0.seconds.isEmpty })
    }

    @Test func dependencyCyclesAndUnknownDependenciesAreRejected() {
        let date = now
        let existing: [String: [String]] = ["a": [], "b": ["a"]]
        #expect(throws: DomainError.self) { try Fixtures.component("c", dependsOn: ["zzz"], at: date).validate(against: existing) }
        // a -> c while c -> b -> a would close a loop.
        let cyclic: [String: [String]] = ["b": ["a"], "c": ["b"]]
        #expect(throws: DomainError.self) { try Fixtures.component("a", dependsOn: ["c"], at: date).validate(against: cyclic) }
        #expect(throws: DomainError.self) { try Fixtures.component("Bad Slug", at: date).validate(against: [:]) }
        #expect(throws: Never.self) { try Fixtures.component("c", dependsOn: ["b"], at: date).validate(against: existing) }
    }
}
