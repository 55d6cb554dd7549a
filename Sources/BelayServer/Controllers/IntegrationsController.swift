import BelayCore
import Foundation
import Hummingbird

/// /api/v1/integrations: alert senders and their routing (admin), and /api/v1/signals (viewer).
struct IntegrationsController {
    let store: any DetectStore & IncidentStore
    let clock: any WallClock
    let baseURL: String

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("integrations", use: list)
        group.post("integrations", use: create)
        group.get("integrations/:id", use: show)
        group.patch("integrations/:id", use: update)
        group.delete("integrations/:id", use: delete)
        group.post("integrations/:id/rotate-key", use: rotateKey)
        group.get("signals", use: signals)
        group.get("incidents/:id/signals", use: incidentSignals)
        group.post("incidents/:id/hold", use: hold)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> IntegrationListDTO {
        _ = try context.require(.admin)
        return IntegrationListDTO(integrations: try await store.integrations().map(IntegrationDTO.init))
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> IntegrationDTO {
        _ = try context.require(.admin)
        let id = try context.resourceID("integration")
        guard let integration = try await store.integration(id: id) else { throw DomainError.notFound(what: "integration", id: String(id)) }
        return IntegrationDTO(integration)
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<IntegrationSecretDTO> {
        _ = try context.require(.admin)
        let input = try await request.decode(as: IntegrationInput.self, context: context)
        let key = IngestController.newKey()  // 32 hex characters, like a PagerDuty routing key
        let now = clock.now
        let integration = try await store.createIntegration(
            Integration(
                name: input.name, kind: input.kind ?? .generic, keyHash: TokenSecrets.hash(key), keyHint: String(key.prefix(6)),
                routing: input.routing ?? Routing(), publicIncidents: input.publicIncidents ?? false, createdAt: now, updatedAt: now))
        return EditedResponse(
            status: .created, response: IntegrationSecretDTO(integration: IntegrationDTO(integration), key: key, urls: IntegrationURLs(baseURL: baseURL, key: key)))
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> IntegrationDTO {
        _ = try context.require(.admin)
        let id = try context.resourceID("integration")
        let patch = try await request.decode(as: IntegrationPatch.self, context: context)
        let now = clock.now
        return IntegrationDTO(
            try await store.updateIntegration(id: id) { integration in
                if let name = patch.name { integration.name = name }
                if let kind = patch.kind { integration.kind = kind }
                if let routing = patch.routing { integration.routing = routing }
                if let value = patch.publicIncidents { integration.publicIncidents = value }
                if let enabled = patch.enabled { integration.isEnabled = enabled }
                integration.updatedAt = now
            })
    }

    @Sendable func rotateKey(_ request: Request, context: AppRequestContext) async throws -> IntegrationSecretDTO {
        _ = try context.require(.admin)
        let id = try context.resourceID("integration")
        let key = IngestController.newKey()  // 32 hex characters, like a PagerDuty routing key
        let now = clock.now
        let integration = try await store.updateIntegration(id: id) { integration in
            integration.keyHash = TokenSecrets.hash(key)
            integration.keyHint = String(key.prefix(6))
            integration.updatedAt = now
        }
        return IntegrationSecretDTO(integration: IntegrationDTO(integration), key: key, urls: IntegrationURLs(baseURL: baseURL, key: key))
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        try await store.deleteIntegration(id: try context.resourceID("integration"))
        return Response(status: .noContent)
    }

    @Sendable func signals(_ request: Request, context: AppRequestContext) async throws -> SignalListDTO {
        _ = try context.require(.viewer)
        let query = request.uri.queryParameters
        var signalQuery = SignalQuery()
        if let raw = query["status"] {
            guard let status = SignalStatus(rawValue: String(raw)) else { throw APIError.badRequest("status: expected firing, acknowledged or resolved") }
            signalQuery.status = status
        }
        if let raw = query["limit"] {
            guard let limit = Int(raw), (1...1000).contains(limit) else { throw APIError.badRequest("limit: expected a number from 1 to 1000") }
            signalQuery.limit = limit
        }
        return SignalListDTO(signals: try await store.signals(signalQuery).map(SignalDTO.init))
    }

    @Sendable func incidentSignals(_ request: Request, context: AppRequestContext) async throws -> SignalListDTO {
        _ = try context.require(.viewer)
        let id = try context.resourceID("incident")
        guard try await store.incident(id: id) != nil else { throw DomainError.notFound(what: "incident", id: String(id)) }
        return SignalListDTO(signals: try await store.signals(SignalQuery(incidentID: id, limit: 1000)).map(SignalDTO.init))
    }

    @Sendable func hold(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<HoldAnswer> {
        _ = try context.require(.responder)
        let id = try context.resourceID("incident")
        let input = try await request.decode(as: HoldInput.self, context: context)
        let incident = try await store.setHoldOpen(incidentID: id, hold: input.hold, author: context.author, now: clock.now)
        return EditedResponse(status: .ok, response: HoldAnswer(id: String(incident.id), holdOpen: incident.holdOpen, autoResolve: incident.autoResolve))
    }
}

struct HoldAnswer: ResponseEncodable {
    var id: String
    var holdOpen: Bool
    var autoResolve: Bool
}
