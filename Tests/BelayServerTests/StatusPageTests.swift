import BelayCore
import CompressNIO
@testable import BelayServer
import BelayTestSupport
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct StatusPageTests {
    /// Keys Statuspage sends as null on some objects and as a value on others (see Fixtures/statuspage/README.md).
    static let nullable: Set<String> = [
        "description", "start_date", "group_id", "monitoring_at", "resolved_at", "affected_components", "reminder_intervals", "custom_tweet",
        "tweet_id",
    ]

    static func fixture(_ name: String) throws -> JSONValue {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/statuspage/\(name)", withExtension: "json"))
        return try JSONValue.parse(try Data(contentsOf: url))
    }

    /// A page with grouped and ungrouped components, open and resolved incidents, and maintenance in every state.
    static func populate(_ client: any TestClientProtocol, _ harness: Harness) async throws {
        for component in IncidentAPITests.components + [["slug": "docs", "name": "Docs", "description": "Product documentation"]] {
            try await client.send(.post, "/api/v1/components", token: harness.admin, json: component)
        }
        try await client.send(.post, "/api/v1/components", token: harness.admin, json: ["slug": "secrets", "name": "Secrets service", "isPublic": false])
        let open = try await client.send(
            .post, "/api/v1/incidents", token: harness.responder,
            json: [
                "title": "Elevated errors", "severity": "sev2", "message": "Investigating: We're experiencing an elevated level of errors.",
                "components": [["slug": "api", "impact": "major_outage"], ["slug": "secrets", "impact": "major_outage"]],
            ]
        ).object()
        let openID = open["id"] as! String
        try await client.send(.post, "/api/v1/incidents/\(openID)/updates", token: harness.responder, json: ["status": "monitoring", "message": "A fix has been implemented."])
        let old = try await client.send(
            .post, "/api/v1/incidents", token: harness.responder,
            json: ["title": "Slow website", "severity": "sev3", "message": "Looking into it", "components": [["slug": "website", "impact": "degraded_performance"]]]
        ).object()
        try await client.send(.post, "/api/v1/incidents/\(old["id"] as! String)/resolve", token: harness.responder, json: ["message": "Resolved."])
        try await client.send(.post, "/api/v1/incidents", token: harness.responder, json: ["title": "Internal only", "severity": "sev4", "isPublic": false])
        let now = harness.clock.now
        for (title, start, end) in [("Upcoming work", 86400.0, 90000.0), ("Ongoing work", -600.0, 3000.0)] {
            try await client.send(
                .post, "/api/v1/maintenance", token: harness.responder,
                json: [
                    "title": title, "components": ["database"], "scheduledStart": BelayJSON.formatDate(now.addingTimeInterval(start)),
                    "scheduledEnd": BelayJSON.formatDate(now.addingTimeInterval(end)),
                ])
        }
    }

    @Test(arguments: [
        ("status", "/api/v2/status.json"), ("summary", "/api/v2/summary.json"), ("components", "/api/v2/components.json"),
        ("incidents", "/api/v2/incidents.json"), ("incidents-unresolved", "/api/v2/incidents/unresolved.json"),
        ("scheduled-maintenances", "/api/v2/scheduled-maintenances.json"),
        ("scheduled-maintenances-upcoming", "/api/v2/scheduled-maintenances/upcoming.json"),
        ("scheduled-maintenances-active", "/api/v2/scheduled-maintenances/active.json"),
    ])
    func statuspageV2DocumentsHaveStatuspagesShape(fixture: String, path: String) async throws {
        let harness = try await Harness.make()
        var reference = try Self.fixture(fixture)
        if case .object(var object) = reference, case .array(var list) = object["components"] ?? .null {
            // Some captures have no group component; borrow the real one from components.json to compare ours with.
            if !list.contains(where: { $0["group"] == .bool(true) }),
                let group = try Self.fixture("components")["components"]?.arrayValue.first(where: { $0["group"] == .bool(true) })
            {
                list.append(group)
                object["components"] = .array(list)
                reference = .object(object)
            }
        }
        let expected = reference
        try await harness.run { client, publisher in
            try await Self.populate(client, harness)
            try await publisher.rebuild()
            let response = try await client.send(.get, path, token: nil)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            #expect(response.headers[.accessControlAllowOrigin] == "*")
            let ours = try JSONValue.parse(Data(buffer: response.body))
            let differences = ours.shapeDifferences(from: expected, nullable: Self.nullable)
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
            // Each list the fixture fills must be filled here too, or the comparison above proved nothing.
            for key in ["components", "incidents", "scheduled_maintenances", "incident_updates"] where !expected.values(of: key).allSatisfy({ $0.arrayValue.isEmpty }) {
                #expect(ours.values(of: key).contains { !$0.arrayValue.isEmpty }, "\(key) is empty in \(path)")
            }
        }
    }

    @Test func v2ValuesUseStatuspagesVocabularyAndHideInternalThings() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, publisher in
            try await Self.populate(client, harness)
            try await publisher.rebuild()
            let summary = try JSONValue.parse(Data(buffer: try await client.send(.get, "/api/v2/summary.json", token: nil).body))
            let componentStatuses = Set(summary.values(of: "status").compactMap(\.stringValue))
            #expect(componentStatuses.isSubset(of: [
                "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance", "investigating", "identified",
                "monitoring", "resolved", "scheduled", "in_progress", "verifying", "completed",
            ]))
            #expect(summary["status"]?["indicator"] == .string("critical"))
            #expect(summary["status"]?["description"] == .string("Major System Outage"))
            let components = summary["components"]!.arrayValue
            #expect(components.first { $0["id"] == .string("api") }?["status"] == .string("major_outage"))
            #expect(components.first { $0["id"] == .string("database") }?["status"] == .string("under_maintenance"))
            #expect(Set(components.first { $0["name"] == .string("Core") && $0["group"] == .bool(true) }?["components"]?.arrayValue.compactMap(\.stringValue) ?? []) == ["database", "api"])
            #expect(!components.contains { $0["id"] == .string("secrets") })
            let incidents = summary["incidents"]!.arrayValue
            #expect(incidents.map { $0["name"] } == [.string("Elevated errors")])
            #expect(incidents[0]["impact"] == .string("critical"))
            #expect(incidents[0]["incident_updates"]?.arrayValue.first?["status"] == .string("monitoring"))  // newest first
            #expect(incidents[0]["monitoring_at"]?.kind == "string")
            let text = try await client.send(.get, "/api/v2/incidents.json", token: nil).text
            #expect(!text.contains("Internal only"))
            #expect(!text.contains("secrets"))
            let maintenance = try JSONValue.parse(Data(buffer: try await client.send(.get, "/api/v2/summary.json", token: nil).body))["scheduled_maintenances"]!.arrayValue
            #expect(Set(maintenance.compactMap { $0["status"]?.stringValue }) == ["scheduled", "in_progress"])
        }
    }

    /// The goal is a second (bench/status-page measures it); the bound here leaves room for a loaded machine.
    @Test func theSnapshotRebuildsByItselfPromptlyAfterAWrite() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let started = ContinuousClock.now
            try await client.send(.post, "/api/v1/incidents", token: harness.responder, json: ["title": "Checkout is failing", "severity": "sev1"])
            var seen = false
            while ContinuousClock.now - started < .seconds(10) {
                if try await client.send(.get, "/", token: nil).text.contains("Checkout is failing") { seen = true; break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(seen, "the incident did not reach / within 10 seconds")
        }
    }

    @Test func pagesCarryETagsCacheControlAndAStrictPolicy() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, publisher in
            try await publisher.rebuild()
            for path in ["/", "/history", "/api/v2/summary.json", "/history.atom", "/history.rss"] {
                let first = try await client.send(.get, path, token: nil)
                #expect(first.status == .ok, "\(path)")
                let etag = try #require(first.headers[.eTag], "\(path) has no ETag")
                #expect(first.headers[.cacheControl]?.contains("max-age") == true)
                let again = try await client.send(.get, path, token: nil, headers: [.ifNoneMatch: etag])
                #expect(again.status == .notModified, "\(path)")
                #expect(again.body.readableBytes == 0)
                let weak = try await client.send(.get, path, token: nil, headers: [.ifNoneMatch: "\"nope\", W/\(etag)"])
                #expect(weak.status == .notModified)
                let stale = try await client.send(.get, path, token: nil, headers: [.ifNoneMatch: "\"other\""])
                #expect(stale.status == .ok)
            }
            let home = try await client.send(.get, "/", token: nil)
            let policy = try #require(home.headers[.contentSecurityPolicy])
            #expect(!policy.contains("unsafe-inline"))
            #expect(policy.contains("default-src 'none'"))
            // Scripts only from files of our own (the CSP's script-src 'self'), never inline.
            #expect(home.text.components(separatedBy: "<script").count == 2)
            #expect(home.text.contains(#"<script src="/assets/local-time.js?v="#))
            #expect(home.text.contains(#" defer></script>"#))
            #expect(!home.text.contains("style="))
            let css = try await client.send(.get, "/assets/belay.css", token: nil)
            #expect(css.headers[.contentType] == "text/css; charset=utf-8")

            // A change produces a new ETag, so clients holding the old one get the new page.
            let before = home.headers[.eTag]!
            try await client.send(.post, "/api/v1/incidents", token: harness.responder, json: ["title": "New", "severity": "sev3"])
            try await publisher.rebuild()
            #expect(try await client.send(.get, "/", token: nil, headers: [.ifNoneMatch: before]).status == .ok)
        }
    }

    @Test func incidentPagesExistOnlyForPublicIncidents() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, publisher in
            try await Self.populate(client, harness)
            try await publisher.rebuild()
            let page = try await client.send(.get, "/incidents/1", token: nil)
            #expect(page.status == .ok)
            #expect(page.text.contains("Elevated errors"))
            #expect(page.text.contains("A fix has been implemented."))
            #expect(!page.text.contains("Secrets service"))
            let internalID = try await harness.database.incidents(.init()).first { !$0.isPublic }!.id
            let hidden = try await client.send(.get, "/incidents/\(internalID)", token: nil)
            #expect(hidden.status == .notFound)
            #expect(hidden.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(try await client.send(.get, "/incidents/98765", token: nil).status == .notFound)
            let history = try await client.send(.get, "/history", token: nil).text
            #expect(history.contains("Slow website"))
            #expect(!history.contains("Internal only"))
        }
    }

    @Test func hostileTextIsEscapedEverywhereThePublicSeesIt() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, publisher in
            for (index, hostile) in Fixtures.hostileStrings.enumerated() {
                try await client.send(
                    .post, "/api/v1/components", token: harness.admin,
                    json: ["slug": "c\(index)", "name": hostile, "description": hostile, "group": hostile])
                let incident = try await client.send(
                    .post, "/api/v1/incidents", token: harness.responder,
                    json: ["title": hostile, "severity": "sev2", "message": hostile, "components": [["slug": "c\(index)"]]])
                #expect(incident.status == .created)
                try await client.send(
                    .post, "/api/v1/maintenance", token: harness.responder,
                    json: [
                        "title": hostile, "description": hostile, "components": ["c\(index)"],
                        "scheduledStart": BelayJSON.formatDate(harness.clock.now.addingTimeInterval(-60)),
                        "scheduledEnd": BelayJSON.formatDate(harness.clock.now.addingTimeInterval(3600)),
                    ])
            }
            try await publisher.rebuild()
            for path in ["/", "/history", "/incidents/1", "/incidents/3"] {
                let html = try await client.send(.get, path, token: nil).text
                for hostile in Fixtures.hostileStrings where hostile.contains("<") || hostile.contains("\"") {
                    #expect(!html.contains(hostile), "\(path) contains raw \(hostile)")
                }
                #expect(!html.contains("<script>alert"))
                #expect(!html.contains("<img src=x"))
                #expect(!html.contains("<svg onload"))
                if path != "/incidents/3" {
                    #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), "\(path) lost the text instead of escaping it")
                } else {
                    #expect(html.contains("&#39;&gt;&lt;svg onload=alert(1)&gt;"), "\(path) lost the text instead of escaping it")
                }
            }
            for path in ["/history.atom", "/history.rss"] {
                let xml = try await client.send(.get, path, token: nil)
                let parser = XMLParser(data: Data(buffer: xml.body))
                #expect(parser.parse(), "\(path) is not well-formed XML: \(String(describing: parser.parserError))")
                #expect(!xml.text.contains("<script>"))
            }
            // JSON readers get the text back exactly as typed.
            let summary = try JSONValue.parse(Data(buffer: try await client.send(.get, "/api/v2/summary.json", token: nil).body))
            let names = Set(summary["incidents"]!.arrayValue.compactMap { $0["name"]?.stringValue })
            #expect(names == Set(Fixtures.hostileStrings))
        }
    }
}

@Suite struct CompressionTests {
    @Test(arguments: [
        ("gzip", true), ("gzip, deflate, br", true), ("br;q=1.0, gzip;q=0.8", true), ("*", true), ("gzip;q=0", false),
        ("identity", false), ("deflate", false), ("GZIP", true),
    ])
    func acceptEncodingIsReadAsBrowsersSendIt(header: String, expected: Bool) {
        #expect(CachedPage.acceptsGzip(header) == expected)
    }

    @Test func theSameBytesWithOtherHeadersAreAnotherETag() {
        let bytes = Array(String(repeating: "{\"status\":\"ok\"} ", count: 100).utf8)
        let json = CachedPage(bytes: bytes, contentType: "application/json", cacheControl: "no-cache")
        #expect(CachedPage(bytes: bytes, contentType: "application/json", cacheControl: "no-cache").etag == json.etag, "a tag is fixed by the page")
        let others = [
            CachedPage(bytes: bytes, contentType: "text/plain", cacheControl: "no-cache"),
            CachedPage(bytes: bytes, contentType: "application/json", cacheControl: "max-age=60"),
            CachedPage(bytes: bytes, contentType: "application/json", cacheControl: "no-cache", extraHeaders: [.contentDisposition: "attachment"]),
        ]
        // SnapshotResponder shares a head between requests with one tag, so one tag must mean one set of headers.
        #expect(Set(others.map(\.etag) + [json.etag]).count == 4)
        #expect(Set(others.compactMap { $0.gzip?.etag } + [json.gzip?.etag].compactMap { $0 }).count == 4)
    }

    @Test func browsersGetTheSameBytesGzippedWithTheirOwnETag() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, publisher in
            try await StatusPageTests.populate(client, harness)
            try await publisher.rebuild()
            for path in ["/", "/api/v2/summary.json", "/history.atom"] {
                let plain = try await client.send(.get, path, token: nil)
                let zipped = try await client.send(.get, path, token: nil, headers: [.acceptEncoding: "gzip, deflate, br"])
                #expect(plain.headers[.contentEncoding] == nil)
                #expect(zipped.headers[.contentEncoding] == "gzip")
                #expect(zipped.headers[.vary] == "Accept-Encoding" && plain.headers[.vary] == "Accept-Encoding")
                #expect(zipped.body.readableBytes < plain.body.readableBytes)
                #expect(zipped.headers[.eTag] != plain.headers[.eTag])
                var compressed = zipped.body
                var inflated = try compressed.decompress(with: .gzip())
                #expect(inflated.readString(length: inflated.readableBytes) == plain.text)
                let cached = try await client.send(.get, path, token: nil, headers: [.acceptEncoding: "gzip", .ifNoneMatch: zipped.headers[.eTag]!])
                #expect(cached.status == .notModified)
            }
        }
    }
}

@Suite struct TimedRebuildTests {
    @Test func timeAloneRebuildsOnlyWhenAScheduleOrTheDayChangesWhatIsShown() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, publisher in
            let now = harness.clock.now
            try await client.send(
                .post, "/api/v1/maintenance", token: harness.responder,
                json: [
                    "title": "Soon", "scheduledStart": BelayJSON.formatDate(now.addingTimeInterval(600)),
                    "scheduledEnd": BelayJSON.formatDate(now.addingTimeInterval(1200)),
                ])
            try await publisher.rebuild()
            #expect(await publisher.isStale(at: now.addingTimeInterval(60)) == false)
            #expect(await publisher.isStale(at: now.addingTimeInterval(601)))  // the window started
            #expect(await publisher.isStale(at: now.addingTimeInterval(86400)))  // another day
            #expect(await publisher.isStale(at: now.addingTimeInterval(StatusPagePublisher.maximumAge)))
        }
    }
}
