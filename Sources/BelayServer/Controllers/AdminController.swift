import BelayCore
import Foundation
import Hummingbird

/// /api/v1/tokens and /api/v1/severities: the admin's settings.
struct AdminController {
    let store: any TokenStore & ComponentStore
    let clock: any WallClock

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("tokens", use: listTokens)
        group.post("tokens", use: createToken)
        group.delete("tokens/:id", use: revokeToken)
        group.get("severities", use: listSeverities)
        group.put("severities/:level", use: saveSeverity)
    }

    @Sendable func listTokens(_ request: Request, context: AppRequestContext) async throws -> TokenListDTO {
        _ = try context.require(.admin)
        return TokenListDTO(tokens: try await store.tokens().map { TokenDTO($0) })
    }

    @Sendable func createToken(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<TokenDTO> {
        _ = try context.require(.admin)
        let input = try await request.decode(as: TokenInput.self, context: context)
        let (token, secret) = try await TokenSecrets.issue(name: input.name, role: input.role, store: store, now: clock.now)
        return EditedResponse(status: .created, response: TokenDTO(token, secret: secret))
    }

    @Sendable func revokeToken(_ request: Request, context: AppRequestContext) async throws -> TokenDTO {
        _ = try context.require(.admin)
        let id = try context.resourceID("token")
        return TokenDTO(try await store.revokeToken(id: id, now: clock.now))
    }

    @Sendable func listSeverities(_ request: Request, context: AppRequestContext) async throws -> SeverityListDTO {
        _ = try context.require(.viewer)
        return SeverityListDTO(severities: try await store.severityDefinitions().map(SeverityDTO.init))
    }

    @Sendable func saveSeverity(_ request: Request, context: AppRequestContext) async throws -> SeverityDTO {
        _ = try context.require(.admin)
        let raw = try context.parameters.require("level")
        guard let level = Severity(rawValue: raw) else { throw DomainError.notFound(what: "severity", id: raw) }
        let input = try await request.decode(as: SeverityInput.self, context: context)
        let definition = SeverityDefinition(level: level, name: input.name, definition: input.definition, urgency: input.urgency)
        try await store.saveSeverityDefinition(definition)
        return SeverityDTO(definition)
    }
}
