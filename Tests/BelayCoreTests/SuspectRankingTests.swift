import BelayCore
import Foundation
import Testing

@Suite struct SuspectRankingTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)  // a Monday, 14:13 UTC
    var impactStart: Date { now.addingTimeInterval(-3600) }

    /// account → bucket → api → {checkout, exports}; firewall → search; cdn-bucket → cdn (on the account).
    var components: [Component] {
        [
            Component(slug: "api", name: "API", dependsOn: ["bucket"], createdAt: now, updatedAt: now),
            Component(slug: "checkout", name: "Checkout", dependsOn: ["api"], createdAt: now, updatedAt: now),
            Component(slug: "exports", name: "Exports", dependsOn: ["api"], createdAt: now, updatedAt: now),
            Component(slug: "search", name: "Search", dependsOn: ["firewall"], createdAt: now, updatedAt: now),
            Component(slug: "cdn", name: "CDN", dependsOn: ["cdn-bucket"], createdAt: now, updatedAt: now),
        ]
    }
    var nodes: [MapNode] {
        [
            MapNode(slug: "account", name: "Account", kind: .awsAccount),
            MapNode(slug: "bucket", name: "Bucket", kind: .s3Bucket, dependsOn: ["account"]),
            MapNode(slug: "cdn-bucket", name: "CDN bucket", kind: .s3Bucket, dependsOn: ["account"]),
            MapNode(slug: "firewall", name: "Firewall", kind: .firewall),
        ]
    }
    var map: DependencyMap { DependencyMap(components: components, nodes: nodes) }

    func incident(_ slugs: [String]) -> Incident {
        Incident(
            id: 1, title: "t", severity: .sev1, impacts: slugs.map { ComponentImpact(slug: $0, impact: .majorOutage) },
            milestones: Milestones(impactStartedAt: impactStart, detectedAt: impactStart), createdAt: impactStart, updatedAt: impactStart)
    }

    func change(_ id: Int64, _ kind: ChangeKind, _ targets: [String], hoursBefore: Double, reviewed: Bool = true, tested: Bool? = true, env: String = "production") -> Change {
        let at = impactStart.addingTimeInterval(-hoursBefore * 3600)
        return Change(id: id, kind: kind, summary: "change \(id)", targets: targets, environment: env, startedAt: at, reviewedBy: reviewed ? "r" : nil, tested: tested, createdAt: at)
    }

    @Test func blastRadiusIsEverythingDownstreamWithShortestPaths() {
        let downstream = map.downstream(of: "account")
        #expect(downstream["exports"]?.distance == 3)
        #expect(downstream["exports"]?.path == ["account", "bucket", "api", "exports"])
        #expect(map.downstreamComponents(of: "account") == ["api", "cdn", "checkout", "exports"])
        #expect(map.downstreamComponents(of: "firewall") == ["search"])
        #expect(map.downstreamComponents(of: "checkout").isEmpty)
    }

    @Test func anUpstreamChangeBeatsAnUnrelatedOneAtTheSameTime() {
        let report = SuspectRanking.rank(
            incident: incident(["exports"]), changes: [change(1, .config, ["firewall"], hoursBefore: 2), change(2, .config, ["bucket"], hoursBefore: 2)],
            nodes: nodes, map: map, now: now)
        #expect(report.suspects.map(\.changeID) == [2, 1])
        #expect(report.suspects[0].reasons.contains("config on bucket, upstream of exports via api"))
        #expect(report.suspects[1].reasons.contains("config on firewall, not upstream of any impacted component"))
    }

    @Test func closerInTimeRanksHigherAllElseEqual() {
        let report = SuspectRanking.rank(
            incident: incident(["api"]), changes: [change(1, .deploy, ["api"], hoursBefore: 3), change(2, .deploy, ["api"], hoursBefore: 0.05)],
            nodes: nodes, map: map, now: now)
        #expect(report.suspects.map(\.changeID) == [2, 1])
        #expect(report.suspects[0].reasons.first == "3 min before impact")
        // Half the weight every 12 hours (both in office hours, so nothing else differs).
        #expect(abs(report.suspects[1].score / report.suspects[0].score - pow(0.5, 2.95 / 12)) < 0.01)
    }

    @Test func riskSignalsBreadthAndEnvironmentEachCount() {
        let risky = change(1, .securityPolicy, ["account"], hoursBefore: 2, reviewed: false, tested: false)
        let careful = change(2, .config, ["account"], hoursBefore: 2)
        let staging = change(3, .config, ["account"], hoursBefore: 2, env: "staging")
        let report = SuspectRanking.rank(incident: incident(["exports"]), changes: [careful, staging, risky], nodes: nodes, map: map, now: now)
        #expect(report.suspects.map(\.changeID) == [1, 2, 3])
        let top = report.suspects[0]
        #expect(top.reasons.contains("not reviewed") && top.reasons.contains("not tested in a lower environment") && top.reasons.contains("security policy change"))
        #expect(top.reasons.contains("reaches 4 components"))
        #expect(abs(top.score / report.suspects[1].score - 2.2) < 0.01)  // three risk signals: 1 + 3 × 0.4
        #expect(report.suspects[2].reasons.contains("in staging, not production"))
        // The account also feeds the CDN, which has no signal: possibly affected.
        #expect(report.possiblyAffected == ["api", "cdn", "checkout"])
    }

    @Test func anExpiringCertificateIsASuspectAndLaterChangesCannotBeTheCause() {
        var nodes = self.nodes
        nodes.append(MapNode(slug: "client-cert", name: "client certificate", kind: .certificate, expiresAt: impactStart))
        var components = self.components
        components[0].dependsOn.append("client-cert")
        let map = DependencyMap(components: components, nodes: nodes)
        let fix = change(1, .certificate, ["client-cert"], hoursBefore: -0.5)
        let report = SuspectRanking.rank(incident: incident(["api"]), changes: [fix], nodes: nodes, map: map, now: now)
        #expect(report.suspects.first?.summary == "Certificate client certificate expired")
        #expect(report.suspects.first?.reasons.contains("certificate expired") == true)
        #expect(report.suspects.last?.reasons.first == "30 min after impact began")
    }

    @Test func changesOutsideTheWindowOrThatNeverHappenedAreLeftOut() {
        var cancelled = change(2, .deploy, ["api"], hoursBefore: 1)
        cancelled.status = .cancelled
        let report = SuspectRanking.rank(
            incident: incident(["api"]), changes: [change(1, .deploy, ["api"], hoursBefore: 73), cancelled], nodes: nodes, map: map, now: now)
        #expect(report.suspects.isEmpty)
        #expect(report.possiblyAffected.isEmpty)
    }

    @Test func outOfHoursIsJudgedInTheTeamsTimeZone() {
        // 13:13 UTC on a Monday is 22:13 in Tokyo.
        let report = SuspectRanking.rank(
            incident: incident(["api"]), changes: [change(1, .deploy, ["api"], hoursBefore: 0)], nodes: nodes, map: map, now: now,
            settings: .init(timeZone: TimeZone(identifier: "Asia/Tokyo")!))
        #expect(report.suspects[0].reasons.contains("out of hours (22:13 Asia/Tokyo)"))
        let utc = SuspectRanking.rank(incident: incident(["api"]), changes: [change(1, .deploy, ["api"], hoursBefore: 0)], nodes: nodes, map: map, now: now)
        #expect(!utc.suspects[0].reasons.contains { $0.hasPrefix("out of hours") })
    }
}
