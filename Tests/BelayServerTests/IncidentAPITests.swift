import BelayCore
import BelayServer
import BelayTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct IncidentAPITests {
    static var components: [[String: Any]] { [
        ["slug": "database", "name": "Database", "group": "Core"],
        ["slug": "api", "name": "API", "group": "Core", "dependsOn": ["database"]],
        ["slug": "website", "name": "Website", "dependsOn": ["api"]],
    ] }

    static func addComponents(_ client: any TestClientProtocol, token: String) async throws {
        for component in components {
            let response = try await client.send(.post, "/api/v1/components", token: token, json: component)
            #expect(response.status == .created, "\(response.text)")
        }
    }

    /// Adds the components and an incident on the API, already resolved; returns its id.
    static func resolvedIncident(_ client: any TestClientProtocol, _ harness: Harness) async throws -> String {
        try await addComponents(client, token: harness.admin)
        let id = try #require(try await client.send(
            .post, "/api/v1/incidents", token: harness.responder, json: ["title": "t", "severity": "sev3", "components": [["slug": "api"]]]
        ).object()["id"] as? String)
        #expect(try await client.send(.post, "/api/v1/incidents/\(id)/resolve", token: harness.responder).status == .ok)
        return id
    }

    @Test func aResponderRunsAnIncidentFromDeclarationToResolution() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            try await Self.addComponents(client, token: harness.admin)
            let declared = try await client.send(
                .post, "/api/v1/incidents", token: harness.responder,
                json: [
                    "title": "Elevated errors", "severity": "sev2", "message": "Investigating: We're experiencing an elevated level of errors.",
                    "components": [["slug": "api", "impact": "partial_outage"]],
                ])
            #expect(declared.status == .created)
            let incident = try declared.object()
            let id = try #require(incident["id"] as? String)
            #expect(incident["urgency"] as? String == "high")
            #expect(incident["status"] as? String == "investigating")

            harness.clock.advance(by: 300)
            let identified = try await client.send(
                .post, "/api/v1/incidents/\(id)/updates", token: harness.responder, json: ["status": "identified", "message": "Expired client certificate."])
            #expect(identified.status == .created)
            let roles = try await client.send(.patch, "/api/v1/incidents/\(id)/roles", token: harness.responder, json: ["commander": "Dana", "scribe": "Lee"])
            #expect(try (roles.object()["roles"] as? [String: Any])?["commander"] as? String == "Dana")
            let backdated = try await client.send(
                .put, "/api/v1/incidents/\(id)/milestones/impactStartedAt", token: harness.responder, json: ["at": "2026-09-21T13:00:00Z"])
            #expect(backdated.status == .ok, "\(backdated.text)")
            harness.clock.advance(by: 600)
            let resolved = try await client.send(.post, "/api/v1/incidents/\(id)/resolve", token: harness.responder, json: ["message": "Service restored."])
            #expect(resolved.status == .ok)
            let milestones = try #require(try resolved.object()["milestones"] as? [String: Any])
            #expect(milestones["resolvedAt"] as? String == BelayJSON.formatDate(harness.clock.now))
            #expect(milestones["impactStartedAt"] as? String == "2026-09-21T13:00:00.000Z")

            let timeline = try await client.send(.get, "/api/v1/incidents/\(id)/timeline", token: harness.viewer).object()
            let entries = try #require(timeline["entries"] as? [[String: Any]])
            let kinds = entries.map { $0["kind"] as? String ?? "" }
            #expect(kinds.contains("declared") && kinds.contains("status_change") && kinds.contains("role_change") && kinds.contains("milestone"))
            let milestone = try #require(entries.first { $0["kind"] as? String == "milestone" })
            #expect(milestone["isBackdated"] as? Bool == true)

            let reopened = try await client.send(.post, "/api/v1/incidents/\(id)/reopen", token: harness.responder, json: ["reason": "Errors are back"])
            #expect(try reopened.object()["status"] as? String == "investigating")
            #expect(try reopened.object()["reopenCount"] as? Int == 1)
        }
    }

    @Test func anInvalidTransitionIsA409AndChangesNothing() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let id = try await Self.resolvedIncident(client, harness)
            let before = try await client.send(.get, "/api/v1/incidents/\(id)", token: harness.viewer).text
            let timelineBefore = try await client.send(.get, "/api/v1/incidents/\(id)/timeline", token: harness.viewer).text

            for attempt in [("updates", ["status": "monitoring", "message": "m"]), ("status", ["status": "identified"]), ("resolve", ["message": "again"])] {
                let response = try await client.send(.post, "/api/v1/incidents/\(id)/\(attempt.0)", token: harness.responder, json: attempt.1)
                #expect(response.status == .conflict, "\(attempt.0): \(response.text)")
                #expect(response.errorCode == "invalid_transition")
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            }
            #expect(try await client.send(.get, "/api/v1/incidents/\(id)", token: harness.viewer).text == before)
            #expect(try await client.send(.get, "/api/v1/incidents/\(id)/timeline", token: harness.viewer).text == timelineBefore)
        }
    }

    @Test func tokensAreCheckedAndRolesEnforced() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let missing = try await client.send(.get, "/api/v1/incidents", token: nil)
            #expect(missing.status == .unauthorized)
            #expect(missing.errorCode == "unauthorized")
            #expect(missing.headers[.wwwAuthenticate] != nil)
            #expect(try await client.send(.get, "/api/v1/incidents", token: "belay_not-a-real-token").status == .unauthorized)
            #expect(try await client.send(.get, "/api/v1/incidents", token: nil, headers: [.authorization: "Basic YTpi"]).status == .unauthorized)

            let viewerDeclares = try await client.send(.post, "/api/v1/incidents", token: harness.viewer, json: ["title": "t", "severity": "sev3"])
            #expect(viewerDeclares.status == .forbidden)
            #expect(viewerDeclares.errorCode == "forbidden")
            #expect(try await client.send(.post, "/api/v1/components", token: harness.responder, json: ["slug": "x", "name": "X"]).status == .forbidden)
            #expect(try await client.send(.get, "/api/v1/tokens", token: harness.responder).status == .forbidden)
            #expect(try await client.send(.get, "/api/v1/incidents", token: harness.viewer).status == .ok)

            // An admin makes a token; it works until revoked, and its secret is never listed again.
            let created = try await client.send(.post, "/api/v1/tokens", token: harness.admin, json: ["name": "pipeline", "role": "responder"]).object()
            let secret = try #require(created["token"] as? String)
            let tokenID = try #require(created["id"] as? String)
            #expect(try await client.send(.get, "/api/v1/incidents", token: secret).status == .ok)
            let listing = try await client.send(.get, "/api/v1/tokens", token: harness.admin).text
            #expect(!listing.contains(secret))
            #expect(try await client.send(.delete, "/api/v1/tokens/\(tokenID)", token: harness.admin).status == .ok)
            #expect(try await client.send(.get, "/api/v1/incidents", token: secret).status == .unauthorized)
            #expect(try await harness.database.tokens().allSatisfy { !$0.tokenHash.contains("belay_") })
        }
    }

    @Test func badInputGetsAClearErrorAndStoresNothing() async throws {
        let harness = try await Harness.make(maxBodyBytes: 4096)
        try await harness.run { client, _ in
            try await Self.addComponents(client, token: harness.admin)
            let cases: [(String, Any, HTTPResponse.Status, String)] = [
                ("not JSON", "{\"title\": ", .badRequest, "bad_request"),
                ("wrong type", ["title": 42, "severity": "sev1"], .badRequest, "bad_request"),
                ("missing field", ["severity": "sev1"], .badRequest, "bad_request"),
                ("unknown severity", ["title": "t", "severity": "sev9"], .badRequest, "bad_request"),
                ("unknown impact", ["title": "t", "severity": "sev1", "components": [["slug": "api", "impact": "meh"]]], .badRequest, "bad_request"),
                ("unknown component", ["title": "t", "severity": "sev1", "components": [["slug": "nope"]]], .unprocessableContent, "invalid"),
                ("empty title", ["title": "  ", "severity": "sev1"], .unprocessableContent, "invalid"),
                ("title too long", ["title": String(repeating: "x", count: 201), "severity": "sev1"], .unprocessableContent, "invalid"),
                ("future milestone", ["title": "t", "severity": "sev1", "milestones": ["detectedAt": "2099-01-01T00:00:00Z"]], .unprocessableContent, "invalid"),
                ("bad date", ["title": "t", "severity": "sev1", "milestones": ["detectedAt": "yesterday"]], .badRequest, "bad_request"),
                ("oversized body", ["title": String(repeating: "x", count: 5000), "severity": "sev1"], .contentTooLarge, "too_large"),
                ("array instead of object", "[1,2,3]", .badRequest, "bad_request"),
            ]
            for (name, body, status, code) in cases {
                let response = try await client.send(.post, "/api/v1/incidents", token: harness.responder, json: body)
                #expect(response.status == status, "\(name): \(response.text)")
                #expect(response.errorCode == code, "\(name): \(response.text)")
                let message = ((try? response.object())?["error"] as? [String: Any])?["message"] as? String
                #expect(message?.isEmpty == false, "\(name) has no message")
            }
            let empty = try await client.send(.post, "/api/v1/incidents", token: harness.responder, json: "")
            #expect(empty.status == .badRequest)
            #expect(try await harness.database.incidents(.init()).isEmpty)

            #expect(try await client.send(.get, "/api/v1/incidents/999", token: harness.viewer).status == .notFound)
            #expect(try await client.send(.get, "/api/v1/incidents/abc", token: harness.viewer).status == .notFound)
            // One incident, one address: no signs or leading zeros.
            for alias in ["+1", "01", "1.0"] {
                #expect(try await client.send(.get, "/api/v1/incidents/\(alias)", token: harness.viewer).status == .notFound, "\(alias)")
            }
            // A malformed id is a 404 even when the body is also wrong.
            let unknownWithBadBody = try await client.send(
                .put, "/api/v1/incidents/m29/milestones/mitigatedAt", token: harness.responder, json: ["at": "not a date"])
            #expect(unknownWithBadBody.status == .notFound)
            let rolledOver = try await client.send(
                .post, "/api/v1/incidents", token: harness.responder, json: ["title": "t", "severity": "sev1", "milestones": ["detectedAt": "2024-01-01T12:99:00Z"]])
            #expect(rolledOver.status == .badRequest)
            let control = try await client.send(.post, "/api/v1/incidents", token: harness.responder, json: ["title": "bell\u{7F}", "severity": "sev1"])
            #expect(control.status == .unprocessableContent)
            let farPosition = try await client.send(.post, "/api/v1/components", token: harness.admin, json: ["slug": "far", "name": "Far", "position": 5_000_000])
            #expect(farPosition.status == .unprocessableContent)
            #expect(try await client.send(.get, "/api/v1/components/ghost", token: harness.viewer).status == .notFound)
            #expect(try await client.send(.get, "/api/v1/no-such-route", token: harness.viewer).errorCode == "not_found")
            let badSlug = try await client.send(.post, "/api/v1/components", token: harness.admin, json: ["slug": "Bad Slug!", "name": "x"])
            #expect(badSlug.status == .unprocessableContent)
            let duplicate = try await client.send(.post, "/api/v1/components", token: harness.admin, json: ["slug": "api", "name": "Again"])
            #expect(duplicate.status == .conflict)
            let cycle = try await client.send(.patch, "/api/v1/components/database", token: harness.admin, json: ["dependsOn": ["website"]])
            #expect(cycle.status == .unprocessableContent)
            #expect(try await harness.database.component(slug: "database")?.dependsOn == [])
            let badQuery = try await client.send(.get, "/api/v1/incidents?limit=0", token: harness.viewer)
            #expect(badQuery.status == .badRequest)
            let badMilestone = try await client.send(.put, "/api/v1/incidents/1/milestones/lunchAt", token: harness.responder, json: ["at": "2026-01-01T00:00:00Z"])
            #expect(badMilestone.status == .notFound)
        }
    }

    @Test func theLastAdminTokenCannotBeRevoked() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let tokens = try await harness.database.tokens()
            let adminID = try #require(tokens.first { $0.role == .admin }?.id)
            let refused = try await client.send(.delete, "/api/v1/tokens/\(adminID)", token: harness.admin)
            #expect(refused.status == .conflict)
            #expect(refused.errorCode == "last_admin")
            #expect(try await client.send(.get, "/api/v1/tokens", token: harness.admin).status == .ok)
        }
    }

    @Test func aResolvedIncidentKeepsItsImpactUntilReopened() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let id = try await Self.resolvedIncident(client, harness)
            let change = try await client.send(.put, "/api/v1/incidents/\(id)/impact", token: harness.responder, json: ["components": [["slug": "website"]]])
            #expect(change.status == .conflict)
            #expect(try await harness.database.incident(id: Int64(id)!)?.impacts.map(\.slug) == ["api"])
        }
    }

    @Test func aBodyStreamedPastTheLimitWithoutContentLengthIsA413() async throws {
        let harness = try await Harness.make(maxBodyBytes: 1024)
        try await harness.run { client, _ in
            // No Content-Length: HummingbirdTesting sends the body as given; the reader must stop at the limit.
            let big = "{\"title\":\"" + String(repeating: "x", count: 4096) + "\",\"severity\":\"sev1\"}"
            let response = try await client.execute(
                uri: "/api/v1/incidents", method: .post,
                headers: [.authorization: "Bearer \(harness.responder)", .contentType: "application/json", .transferEncoding: "chunked"],
                body: ByteBuffer(string: big))
            #expect(response.status == .contentTooLarge)
            #expect(response.errorCode == "too_large")
        }
    }

    @Test func maintenanceCanBeScheduledAndCancelledOnlyBeforeItStarts() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            try await Self.addComponents(client, token: harness.admin)
            let start = BelayJSON.formatDate(harness.clock.now.addingTimeInterval(86400))
            let end = BelayJSON.formatDate(harness.clock.now.addingTimeInterval(90000))
            let scheduled = try await client.send(
                .post, "/api/v1/maintenance", token: harness.responder,
                json: ["title": "Subnet change", "components": ["database"], "scheduledStart": start, "scheduledEnd": end])
            #expect(scheduled.status == .created)
            let id = try #require(try scheduled.object()["id"] as? String)
            let cancelled = try await client.send(.post, "/api/v1/maintenance/\(id)/cancel", token: harness.responder, json: ["message": "Postponed"])
            #expect(try cancelled.object()["status"] as? String == "cancelled")
            let again = try await client.send(.post, "/api/v1/maintenance/\(id)/start", token: harness.responder)
            #expect(again.status == .conflict)
            let late = try await client.send(.post, "/api/v1/maintenance/\(id)/updates", token: harness.responder, json: ["message": "still cancelled"])
            #expect(late.status == .conflict)
            let backwards = try await client.send(
                .post, "/api/v1/maintenance", token: harness.responder, json: ["title": "x", "scheduledStart": end, "scheduledEnd": start])
            #expect(backwards.status == .unprocessableContent)
        }
    }

    @Test func severityDefinitionsAreListedAndEditableByAdmins() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let list = try await client.send(.get, "/api/v1/severities", token: harness.viewer).object()
            #expect((list["severities"] as? [[String: Any]])?.count == 4)
            let body: [String: Any] = ["name": "Minor", "definition": "Pages during the day.", "urgency": "high"]
            #expect(try await client.send(.put, "/api/v1/severities/sev3", token: harness.responder, json: body).status == .forbidden)
            #expect(try await client.send(.put, "/api/v1/severities/sev3", token: harness.admin, json: body).status == .ok)
            #expect(try await client.send(.put, "/api/v1/severities/sev7", token: harness.admin, json: body).status == .notFound)
            let declared = try await client.send(.post, "/api/v1/incidents", token: harness.responder, json: ["title": "t", "severity": "sev3"]).object()
            #expect(declared["urgency"] as? String == "high")
        }
    }
}
