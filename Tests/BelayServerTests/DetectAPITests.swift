import BelayCore
import BelayServer
import BelayTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct DetectAPITests {
    /// Creates the components and an integration routing to `api`; returns the integration key.
    static func integration(_ client: any TestClientProtocol, _ harness: Harness, routing: [String: Any]? = nil) async throws -> String {
        try await IncidentAPITests.addComponents(client, token: harness.admin)
        let created = try await client.send(
            .post, "/api/v1/integrations", token: harness.admin,
            json: ["name": "prometheus", "kind": "alertmanager", "routing": routing ?? ["defaultComponents": ["api"], "defaultSeverity": "sev2"]])
        #expect(created.status == .created, "\(created.text)")
        let body = try created.object()
        let key = try #require(body["key"] as? String)
        #expect(key.count == 32)
        #expect((body["urls"] as? [String: Any])?["alertmanager"] as? String == "https://status.example.com/api/v1/integrations/\(key)/alertmanager")
        return key
    }

    static func alertmanagerPayload(status: String, startsAt: String, endsAt: String = "0001-01-01T00:00:00Z", fingerprint: String = "a1b2c3d4e5f60718") -> [String: Any] {
        let alert: [String: Any] = [
            "status": status, "labels": ["alertname": "HighErrorRate", "instance": "api-1:9090", "severity": "critical"],
            "annotations": ["summary": "5xx above 5% on api"], "startsAt": startsAt, "endsAt": endsAt,
            "generatorURL": "http://prometheus:9090/graph?g0.expr=rate", "fingerprint": fingerprint,
        ]
        return [
            "version": "4", "groupKey": "{}:{alertname=\"HighErrorRate\"}", "truncatedAlerts": 0, "status": status, "receiver": "belay",
            "groupLabels": ["alertname": "HighErrorRate"], "commonLabels": alert["labels"]!, "commonAnnotations": alert["annotations"]!,
            "externalURL": "http://alertmanager:9093", "alerts": [alert],
        ]
    }

    static func incidents(_ client: any TestClientProtocol, _ harness: Harness) async throws -> [[String: Any]] {
        try #require(try await client.send(.get, "/api/v1/incidents", token: harness.viewer).object()["incidents"] as? [[String: Any]])
    }

    @Test func theSameAlertmanagerNotificationFiveTimesMakesOneIncident() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let key = try await Self.integration(client, harness)
            let startsAt = BelayJSON.formatDate(harness.clock.now.addingTimeInterval(-120))
            for _ in 0..<5 {
                let response = try await client.send(
                    .post, "/api/v1/integrations/\(key)/alertmanager", token: nil, json: Self.alertmanagerPayload(status: "firing", startsAt: startsAt))
                #expect(response.status == .ok, "\(response.text)")
            }
            let incidents = try await Self.incidents(client, harness)
            #expect(incidents.count == 1)
            let incident = try #require(incidents.first)
            #expect(incident["title"] as? String == "HighErrorRate: 5xx above 5% on api")
            #expect(incident["severity"] as? String == "sev1")
            #expect(incident["isPublic"] as? Bool == false)
            #expect(incident["autoResolve"] as? Bool == true)
            let milestones = try #require(incident["milestones"] as? [String: Any])
            #expect(milestones["impactStartedAt"] as? String == startsAt)
            #expect(milestones["detectedAt"] as? String == BelayJSON.formatDate(harness.clock.now))
            #expect(milestones["acknowledgedAt"] == nil)
            let id = try #require(incident["id"] as? String)
            let signals = try #require(try await client.send(.get, "/api/v1/incidents/\(id)/signals", token: harness.viewer).object()["signals"] as? [[String: Any]])
            #expect(signals.count == 1)
            #expect(signals.first?["eventCount"] as? Int == 5)
            #expect(signals.first?["dedupKey"] as? String == "a1b2c3d4e5f60718")
            let timeline = try #require(try await client.send(.get, "/api/v1/incidents/\(id)/timeline", token: harness.viewer).object()["entries"] as? [[String: Any]])
            #expect(timeline.filter { $0["kind"] as? String == "signal" }.count == 1)

            // Resolved: the incident moves to monitoring, then resolves after the quiet period.
            harness.clock.advance(by: 60)
            let resolved = try await client.send(
                .post, "/api/v1/integrations/\(key)/alertmanager", token: nil,
                json: Self.alertmanagerPayload(status: "resolved", startsAt: startsAt, endsAt: BelayJSON.formatDate(harness.clock.now.addingTimeInterval(-10))))
            #expect(resolved.status == .ok)
            var after = try #require(try await Self.incidents(client, harness).first)
            #expect(after["status"] as? String == "monitoring")
            #expect((after["milestones"] as? [String: Any])?["mitigatedAt"] as? String == BelayJSON.formatDate(harness.clock.now))
            let policy = harness.configuration.detect.signalPolicy
            #expect(try await harness.database.autoResolveIncidents(policy: policy, now: harness.clock.now).isEmpty)
            harness.clock.advance(by: policy.quietPeriod)
            #expect(try await harness.database.autoResolveIncidents(policy: policy, now: harness.clock.now) == [Int64(id)!])
            after = try #require(try await Self.incidents(client, harness).first)
            #expect(after["status"] as? String == "resolved")
        }
    }

    @Test func aHeldIncidentIsNotResolvedByBelay() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let key = try await Self.integration(client, harness)
            let startsAt = BelayJSON.formatDate(harness.clock.now)
            _ = try await client.send(.post, "/api/v1/integrations/\(key)/alertmanager", token: nil, json: Self.alertmanagerPayload(status: "firing", startsAt: startsAt))
            let id = try #require(try await Self.incidents(client, harness).first?["id"] as? String)
            let held = try await client.send(.post, "/api/v1/incidents/\(id)/hold", token: harness.responder, json: ["hold": true])
            #expect(held.status == .ok)
            #expect(try held.object()["holdOpen"] as? Bool == true)
            #expect(try await client.send(.post, "/api/v1/incidents/\(id)/hold", token: harness.viewer, json: ["hold": false]).status == .forbidden)
            _ = try await client.send(
                .post, "/api/v1/integrations/\(key)/alertmanager", token: nil,
                json: Self.alertmanagerPayload(status: "resolved", startsAt: startsAt, endsAt: startsAt))
            harness.clock.advance(by: 86400)
            #expect(try await harness.database.autoResolveIncidents(policy: harness.configuration.detect.signalPolicy, now: harness.clock.now).isEmpty)
            #expect(try await Self.incidents(client, harness).first?["status"] as? String == "monitoring")
        }
    }

    @Test func pagerDutyEventsFollowPagerDutysDedupRules() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let key = try await Self.integration(client, harness)
            let trigger: [String: Any] = [
                "routing_key": key, "event_action": "trigger",
                "payload": ["summary": "Disk full on db1", "source": "db1", "severity": "error", "component": "database", "custom_details": ["free": "0%"]],
                "links": [["href": "https://grafana.example/d/1", "text": "dashboard"]],
            ]
            let first = try await client.send(.post, "/v2/enqueue", token: nil, json: trigger)
            #expect(first.status == .accepted, "\(first.text)")
            let answer = try first.object()
            #expect(answer["status"] as? String == "success" && answer["message"] as? String == "Event processed")
            let dedupKey = try #require(answer["dedup_key"] as? String)
            #expect(dedupKey.count == 32)

            var again = trigger
            again["dedup_key"] = dedupKey
            #expect(try await client.send(.post, "/v2/enqueue", token: nil, json: again).object()["dedup_key"] as? String == dedupKey)
            var incidents = try await Self.incidents(client, harness)
            #expect(incidents.count == 1)
            // The component the sender named routes the alert there (a known component slug).
            #expect((incidents[0]["components"] as? [[String: Any]])?.first?["slug"] as? String == "database")
            #expect(incidents[0]["severity"] as? String == "sev2")

            harness.clock.advance(by: 90)
            let ack = try await client.send(.post, "/v2/enqueue", token: nil, json: ["routing_key": key, "event_action": "acknowledge", "dedup_key": dedupKey])
            #expect(ack.status == .accepted)
            incidents = try await Self.incidents(client, harness)
            #expect((incidents[0]["milestones"] as? [String: Any])?["acknowledgedAt"] as? String == BelayJSON.formatDate(harness.clock.now))

            harness.clock.advance(by: 60)
            #expect(try await client.send(.post, "/v2/enqueue", token: nil, json: ["routing_key": key, "event_action": "resolve", "dedup_key": dedupKey]).status == .accepted)
            #expect(try await Self.incidents(client, harness)[0]["status"] as? String == "monitoring")

            // After resolve the same key is a new alert; it joins the incident still open on that component.
            harness.clock.advance(by: 60)
            #expect(try await client.send(.post, "/v2/enqueue", token: nil, json: again).status == .accepted)
            let signals = try #require(try await client.send(.get, "/api/v1/signals", token: harness.viewer).object()["signals"] as? [[String: Any]])
            #expect(signals.count == 2)
            #expect(Set(signals.compactMap { $0["status"] as? String }) == ["firing", "resolved"])
            incidents = try await Self.incidents(client, harness)
            #expect(incidents.count == 1 && incidents[0]["status"] as? String == "investigating")
        }
    }

    @Test func badDeliveriesAreRefusedClearlyAndChangeNothing() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let key = try await Self.integration(client, harness)
            let am = "/api/v1/integrations/\(key)/alertmanager"
            let notJSON = try await client.send(.post, am, token: nil, json: "{not json")
            #expect(notJSON.status == .badRequest && notJSON.errorCode == "bad_request")
            let badStatus = try await client.send(.post, am, token: nil, json: ["version": "4", "alerts": [["status": "exploded", "labels": [:]]]])
            #expect(badStatus.status == .badRequest)
            #expect(badStatus.text.contains("alerts[0].status"))
            // One good and one bad alert in one notification: nothing is stored.
            var mixed = Self.alertmanagerPayload(status: "firing", startsAt: BelayJSON.formatDate(harness.clock.now))
            var alerts = mixed["alerts"] as! [[String: Any]]
            alerts.append(["status": "firing", "labels": ["alertname": "X"], "startsAt": "yesterday"])
            mixed["alerts"] = alerts
            #expect(try await client.send(.post, am, token: nil, json: mixed).status == .badRequest)
            let unknown = try await client.send(
                .post, "/api/v1/integrations/0123456789abcdef0123456789abcdef/alertmanager", token: nil,
                json: Self.alertmanagerPayload(status: "firing", startsAt: BelayJSON.formatDate(harness.clock.now)))
            #expect(unknown.status == .notFound && unknown.errorCode == "not_found")

            let pd = try await client.send(.post, "/v2/enqueue", token: nil, json: ["routing_key": key, "event_action": "trigger", "payload": ["summary": "x"]])
            #expect(pd.status == .badRequest)
            let pdBody = try pd.object()
            #expect(pdBody["status"] as? String == "invalid event")
            #expect((pdBody["errors"] as? [String])?.contains { $0.contains("payload.severity") } == true)
            #expect(try await client.send(.post, "/v2/enqueue", token: nil, json: ["routing_key": "nope", "event_action": "resolve", "dedup_key": "k"]).status == .notFound)

            let generic = "/api/v1/integrations/\(key)/events"
            #expect(try await client.send(.post, generic, token: nil, json: ["action": "resolve"]).status == .badRequest)
            #expect(try await client.send(.post, generic, token: nil, json: ["summary": "x", "severity": "apocalyptic"]).status == .badRequest)
            let big = String(repeating: "x", count: 17 << 20)
            #expect(try await client.send(.post, generic, token: nil, json: "{\"summary\":\"\(big)\"}").status == .contentTooLarge)

            #expect(try await Self.incidents(client, harness).isEmpty)
            #expect(try await harness.database.signals(SignalQuery()).isEmpty)

            // A good generic event after all that works.
            let ok = try await client.send(
                .post, generic, token: nil, json: ["summary": "Queue backlog", "severity": "warning", "component": "website", "startsAt": "2026-01-01T00:00:00Z"])
            #expect(ok.status == .accepted, "\(ok.text)")
            #expect(try ok.object()["effect"] as? String == "opened_incident")
        }
    }

    @Test func anIntegrationDisabledOrDeletedRefusesItsNextDeliveryAtOnce() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let key = try await Self.integration(client, harness)
            let am = "/api/v1/integrations/\(key)/alertmanager"
            let generic = "/api/v1/integrations/\(key)/events"
            let firing = Self.alertmanagerPayload(status: "firing", startsAt: BelayJSON.formatDate(harness.clock.now))
            let pdTrigger: [String: Any] = [
                "routing_key": key, "event_action": "trigger", "payload": ["summary": "Disk full", "source": "db1", "severity": "error"],
            ]
            // Delivered once, so the integration is fresh in the look-up cache the next deliveries pass.
            #expect(try await client.send(.post, am, token: nil, json: firing).status == .ok)
            let id = try #require(try await client.send(.get, "/api/v1/integrations", token: harness.admin).object()["integrations"] as? [[String: Any]])[0]["id"]
            let count = try await harness.database.signals(SignalQuery()).count

            #expect(try await client.send(.patch, "/api/v1/integrations/\(id!)", token: harness.admin, json: ["enabled": false]).status == .ok)
            var refused = try await client.send(.post, am, token: nil, json: Self.alertmanagerPayload(status: "firing", startsAt: BelayJSON.formatDate(harness.clock.now), fingerprint: "0000000000000001"))
            #expect(refused.status == .notFound && refused.errorCode == "not_found", "\(refused.text)")
            refused = try await client.send(.post, generic, token: nil, json: ["summary": "Queue backlog", "severity": "warning"])
            #expect(refused.status == .notFound, "\(refused.text)")
            // PagerDuty's clients get PagerDuty's error shape, whichever check refused the key.
            refused = try await client.send(.post, "/v2/enqueue", token: nil, json: pdTrigger)
            #expect(refused.status == .notFound)
            #expect(try refused.object()["errors"] as? [String] == ["Invalid routing key"], "\(refused.text)")
            #expect(try await harness.database.signals(SignalQuery()).count == count, "nothing stored for a disabled integration")

            #expect(try await client.send(.patch, "/api/v1/integrations/\(id!)", token: harness.admin, json: ["enabled": true]).status == .ok)
            #expect(try await client.send(.post, "/v2/enqueue", token: nil, json: pdTrigger).status == .accepted)
            #expect(try await client.send(.delete, "/api/v1/integrations/\(id!)", token: harness.admin).status == .noContent)
            refused = try await client.send(.post, "/v2/enqueue", token: nil, json: pdTrigger)
            #expect(refused.status == .notFound)
            #expect(try refused.object()["errors"] as? [String] == ["Invalid routing key"], "\(refused.text)")
            #expect(try await client.send(.post, am, token: nil, json: firing).status == .notFound)
        }
    }

    @Test func monitorsAreCreatedPagedPausedAndCheckedForTheirSettings() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            try await IncidentAPITests.addComponents(client, token: harness.admin)
            let bad = try await client.send(
                .post, "/api/v1/monitors", token: harness.responder, json: ["name": "x", "kind": "http", "settings": ["url": "file:///etc/passwd"]])
            #expect(bad.status == .unprocessableContent && bad.text.contains("settings.url"))
            #expect(try await client.send(.post, "/api/v1/monitors", token: harness.viewer, json: ["name": "x", "kind": "tcp"]).status == .forbidden)
            for index in 0..<5 {
                let created = try await client.send(
                    .post, "/api/v1/monitors", token: harness.responder,
                    json: ["name": "db \(index)", "kind": "tcp", "settings": ["host": "10.0.0.\(index + 1)", "port": 5432], "component": "database", "intervalSeconds": 30, "paused": true])
                #expect(created.status == .created, "\(created.text)")
            }
            let firstPage = try await client.send(.get, "/api/v1/monitors?limit=3", token: harness.viewer).object()
            #expect((firstPage["monitors"] as? [Any])?.count == 3)
            let after = try #require(firstPage["nextAfter"] as? Int)
            let secondPage = try await client.send(.get, "/api/v1/monitors?limit=3&after=\(after)", token: harness.viewer).object()
            #expect((secondPage["monitors"] as? [Any])?.count == 2)
            #expect(secondPage["nextAfter"] == nil || secondPage["nextAfter"] is NSNull)
            #expect(try await client.send(.get, "/api/v1/monitors?limit=0", token: harness.viewer).status == .badRequest)

            let heartbeat = try await client.send(
                .post, "/api/v1/monitors", token: harness.responder, json: ["name": "nightly backup", "kind": "heartbeat", "intervalSeconds": 86400, "settings": ["graceSeconds": 600]])
            let url = try #require(try heartbeat.object()["heartbeatURL"] as? String)
            let path = String(url.dropFirst("https://status.example.com".count))
            let ping = try await client.send(.post, path, token: nil)
            #expect(ping.status == .ok, "\(ping.text)")
            #expect(try await client.send(.post, "/api/v1/heartbeats/not-a-token", token: nil).status == .notFound)

            let resumed = try await client.send(.post, "/api/v1/monitors/1/resume", token: harness.responder)
            #expect(try (resumed.object()["state"] as? [String: Any])?["status"] as? String == "pending")
            let kindChange = try await client.send(.patch, "/api/v1/monitors/1", token: harness.responder, json: ["settings": ["url": "https://example.com/"]])
            #expect(kindChange.status == .unprocessableContent)
            #expect(try await client.send(.delete, "/api/v1/monitors/1", token: harness.responder).status == .noContent)
            #expect(try await client.send(.get, "/api/v1/monitors/1", token: harness.viewer).status == .notFound)
        }
    }

    @Test func theStatusPageBarsShowWhatMonitorsMeasured() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, publisher in
            try await IncidentAPITests.addComponents(client, token: harness.admin)
            let created = try await client.send(
                .post, "/api/v1/monitors", token: harness.responder,
                json: ["name": "api health", "kind": "http", "settings": ["url": "https://api.example.com/health"], "component": "api", "paused": true])
            let id = try #require(try created.object()["id"] as? Int)
            let now = harness.clock.now
            let outcomes: [CheckOutcome] = [.up, .up, .degraded, .down]
            let checks = outcomes.enumerated().map { index, outcome in
                MonitorCheck(
                    result: CheckResult(monitorID: Int64(id), checkedAt: now.addingTimeInterval(Double(-index * 60)), outcome: outcome, latencyMs: 10, message: ""),
                    state: MonitorState(status: .up, since: now), transition: nil)
            }
            try await harness.database.recordChecks(checks, policy: harness.configuration.detect.signalPolicy, now: now)
            try await publisher.rebuild()
            let home = try await client.send(.get, "/", token: nil).text
            #expect(home.contains("75.00% measured"))
            #expect(home.contains("75.00% of 4 checks passed"))
            let rollups = try await client.send(.get, "/api/v1/monitors/\(id)/rollups?granularity=day", token: harness.viewer).object()
            let day = try #require((rollups["rollups"] as? [[String: Any]])?.last)
            #expect(day["total"] as? Int == 4 && day["down"] as? Int == 1 && day["availability"] as? Double == 0.75)
        }
    }
}
