import BelayCore
@testable import BelayServer
import BelayFormats
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// `/metrics`, `/healthz` and `/readyz`: who may read metrics, and that the counts move with the traffic.
@Suite struct MetricsTests {
    /// The value of one sample line (`name{labels} value`) in an exposition, or nil when it is absent.
    static func sample(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test func metricsNeedATokenOfAnyRoleOrAnAllowedAddress() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let anonymous = try await client.send(.get, "/metrics", token: nil)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.errorCode == "unauthorized")
            let wrong = try await client.send(.get, "/metrics", token: "belay_not-a-token")
            #expect(wrong.status == .unauthorized)
            let viewer = try await client.send(.get, "/metrics", token: harness.viewer)
            #expect(viewer.status == .ok)
            #expect(viewer.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(viewer.text.contains("# TYPE belay_ingest_events_total counter"))
        }
    }

    @Test func anAllowedClientAddressReadsMetricsWithoutAToken() async throws {
        let loopback = try CIDR(parsing: "127.0.0.1/32")
        let allowed = try await Harness.make { $0.http.metricsAllow = [loopback] }
        try await allowed.run(live: true) { client, _ in
            let answer = try await client.send(.get, "/metrics", token: nil)
            #expect(answer.status == .ok)
        }
        let other = try CIDR(parsing: "10.9.0.0/16")
        let elsewhere = try await Harness.make { $0.http.metricsAllow = [other] }
        try await elsewhere.run(live: true) { client, _ in
            let answer = try await client.send(.get, "/metrics", token: nil)
            #expect(answer.status == .unauthorized)
        }
    }

    @Test func deliveriesRejectionsAndRequestsAreCounted() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let key = try await DetectAPITests.integration(client, harness)
            let accepted = try await client.send(
                .post, "/api/v1/integrations/\(key)/alertmanager", token: nil,
                json: DetectAPITests.alertmanagerPayload(status: "firing", startsAt: BelayJSON.formatDate(harness.clock.now)))
            #expect(accepted.status == .ok, "\(accepted.text)")
            let unknown = try await client.send(.post, "/api/v1/integrations/\(String(repeating: "cd", count: 16))/alertmanager", token: nil, json: "{}")
            #expect(unknown.status == .notFound)
            let malformed = try await client.send(.post, "/api/v1/integrations/\(key)/events", token: nil, json: "{not json")
            #expect(malformed.status == .badRequest)

            let text = try await client.send(.get, "/metrics", token: harness.viewer).text
            #expect(Self.sample(text, "belay_ingest_deliveries_total{format=\"alertmanager\"}") == 1)
            #expect(Self.sample(text, "belay_ingest_events_total") == 1)
            #expect(Self.sample(text, "belay_ingest_rejections_total{format=\"alertmanager\",reason=\"unknown_key\"}") == 1)
            #expect(Self.sample(text, "belay_ingest_rejections_total{format=\"generic\",reason=\"malformed\"}") == 1)
            #expect(Self.sample(text, "belay_ingest_duration_seconds_count{format=\"alertmanager\"}") == 1)
            #expect((Self.sample(text, "belay_ingest_commit_duration_seconds_count") ?? 0) >= 1)
            #expect((Self.sample(text, "belay_status_page_rebuild_duration_seconds_count") ?? 0) >= 1)
            #expect(Self.sample(text, "belay_outbox_deliveries{state=\"dead\"}") == 0)
            #expect((Self.sample(text, "belay_http_requests_total{code=\"4xx\"}") ?? 0) >= 2)
            #expect((Self.sample(text, "belay_http_requests_total{code=\"2xx\"}") ?? 0) >= 2)
            // No label carries a path, a key or an id.
            #expect(!text.contains(key))
        }
    }

    @Test func livenessAndReadinessAnswerWithoutAToken() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let live = try await client.send(.get, "/healthz", token: nil)
            #expect(live.status == .ok)
            #expect(try live.object()["status"] as? String == "ok")
            let ready = try await client.send(.get, "/readyz", token: nil)
            #expect(ready.status == .ok, "\(ready.text)")
            #expect(try ready.object()["checks"] as? [String: String] == ["database": "ok", "migrations": "ok"])
        }
    }

    /// The store side is the contract suite's and each backend's migration tests'; this is what /readyz makes of it.
    @Test func anOlderSchemaIsUnreadyAndANewerOneReadyForARollingUpgrade() {
        let older = MigrationStatus(known: ["v1-foundation", "v2-accounts", "v3-next"], applied: ["v1-foundation"])
        #expect(MetricsController.migrationCheck(older) == "not applied: v2-accounts, v3-next")
        let newer = MigrationStatus(known: ["v1-foundation", "v2-accounts"], applied: ["v1-foundation", "v2-accounts", "v3-next"])
        #expect(newer.unknown == ["v3-next"])
        #expect(MetricsController.migrationCheck(newer) == "ok")
        #expect(MetricsController.migrationCheck(MigrationStatus(known: ["v1-foundation"], applied: ["v1-foundation"])) == "ok")
    }

    @Test func aStoreThatDoesNotAnswerInTimeIsReportedAsTimedOut() async throws {
        let result = await MetricsController.within(.milliseconds(50)) { () async throws -> Int in
            try await Task.sleep(for: .seconds(30))
            return 1
        }
        guard case .failure(let error) = result else {
            Issue.record("a read that never answers was reported as answered")
            return
        }
        #expect(error is MetricsController.TimedOut)
    }
}
