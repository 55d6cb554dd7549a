import BelayCore
import Foundation
import Hummingbird

/// /api/v1/changes (the change log and the change guard), /api/v1/map (the dependency map and blast
/// radius), /api/v1/freezes, /api/v1/incidents/{id}/suspects, and the CI webhook.
struct ChangesController {
    /// The whole store: suspects and the change guard read changes, the map, incidents, maintenance and signals.
    let store: any BelayStore
    let clock: any WallClock
    let settings: SuspectRanking.Settings

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("changes", use: list)
        group.post("changes", use: record)
        group.get("changes/check", use: check)
        group.get("changes/:id", use: show)
        group.patch("changes/:id", use: update)
        group.get("map", use: map)
        group.put("map/nodes/:slug", use: saveNode)
        group.delete("map/nodes/:slug", use: deleteNode)
        group.get("map/blast-radius/:slug", use: blastRadius)
        group.get("freezes", use: freezes)
        group.post("freezes", use: createFreeze)
        group.post("freezes/:id/end", use: endFreeze)
        group.get("incidents/:id/suspects", use: suspects)
    }

    /// A pipeline records its change with the integration key instead of a bearer token.
    func addWebhookRoutes(to router: Router<AppRequestContext>) {
        router.post("api/v1/integrations/:id/changes", use: webhook)
    }

    static func change(from input: ChangeInput, author fallback: String?, now: Date) -> Change {
        Change(
            kind: input.kind, summary: input.summary, targets: input.targets, environment: input.environment ?? "production",
            author: input.author ?? fallback, sourceURL: input.sourceURL, commit: input.commit, startedAt: input.startedAt ?? now,
            finishedAt: input.finishedAt, reviewedBy: input.reviewedBy, tested: input.tested, status: input.status ?? .done, createdAt: now)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> ChangeListDTO {
        _ = try context.require(.viewer)
        let query = request.uri.queryParameters
        let now = clock.now
        var from = now.addingTimeInterval(-7 * 86400)
        var to = now.addingTimeInterval(IncidentLifecycle.futureTolerance)
        if let raw = query["since"] {
            guard let date = BelayJSON.parseDate(String(raw)) else { throw APIError.badRequest("since: expected an RFC 3339 date-time") }
            from = date
        }
        if let raw = query["until"] {
            guard let date = BelayJSON.parseDate(String(raw)) else { throw APIError.badRequest("until: expected an RFC 3339 date-time") }
            to = date
        }
        var limit = 100
        if let raw = query["limit"] {
            guard let value = Int(raw), (1...1000).contains(value) else { throw APIError.badRequest("limit: expected a number from 1 to 1000") }
            limit = value
        }
        return ChangeListDTO(changes: try await store.changes(from: from, to: to, limit: limit).map(ChangeDTO.init))
    }

    @Sendable func record(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<ChangeDTO> {
        _ = try context.require(.responder)
        let input = try await request.decode(as: ChangeInput.self, context: context)
        let change = try await store.recordChange(Self.change(from: input, author: context.token?.name, now: clock.now))
        return EditedResponse(status: .created, response: ChangeDTO(change))
    }

    @Sendable func webhook(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<ChangeDTO> {
        let key = try context.parameters.require("id")
        // The key's hash is indexed: one lookup, whatever the number of integrations.
        guard let integration = try await store.integration(keyHash: TokenSecrets.hash(key)), integration.isEnabled else {
            throw APIError.notFound("no enabled integration has this key")
        }
        let input = try await request.decode(as: ChangeInput.self, context: context)
        let change = try await WriteContext.acting(as: .integration(id: integration.id, name: integration.name)) {
            try await store.recordChange(Self.change(from: input, author: integration.name, now: clock.now))
        }
        return EditedResponse(status: .created, response: ChangeDTO(change))
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> ChangeDTO {
        _ = try context.require(.viewer)
        let id = try context.resourceID("change")
        guard let change = try await store.change(id: id) else { throw DomainError.notFound(what: "change", id: String(id)) }
        return ChangeDTO(change)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> ChangeDTO {
        _ = try context.require(.responder)
        let id = try context.resourceID("change")
        let patch = try await request.decode(as: ChangePatch.self, context: context)
        return ChangeDTO(try await store.updateChange(id: id) { change in
            if let status = patch.status { change.status = status }
            if let finishedAt = patch.finishedAt { change.finishedAt = finishedAt }
            if let reviewedBy = patch.reviewedBy { change.reviewedBy = reviewedBy.isEmpty ? nil : reviewedBy }
            if let tested = patch.tested { change.tested = tested }
            if let summary = patch.summary { change.summary = summary }
        })
    }

    @Sendable func check(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<ChangeCheckDTO> {
        _ = try context.require(.viewer)
        let target = request.uri.queryParameters["target"].map(String.init) ?? ""
        // "a,,b" names a and b; a target of only commas names nothing, which must not pass as "ok".
        let slugs = target.split(separator: ",").map(String.init)
        guard !slugs.isEmpty else {
            throw APIError.badRequest("target: give the component or node the change would touch")
        }
        var reasons: [String] = []
        for slug in slugs {
            // A freeze (or an incident) that stands in the way of several targets is one reason, not one per target.
            for reason in try await store.changeGuard(target: slug, now: clock.now) where !reasons.contains(reason) {
                reasons.append(reason)
            }
        }
        return EditedResponse(status: reasons.isEmpty ? .ok : .conflict, response: ChangeCheckDTO(target: target, ok: reasons.isEmpty, reasons: reasons))
    }

    @Sendable func map(_ request: Request, context: AppRequestContext) async throws -> MapDTO {
        _ = try context.require(.viewer)
        let map = try await store.dependencyMap()
        let nodes = Dictionary(uniqueKeysWithValues: try await store.mapNodes().map { ($0.slug, $0) })
        return MapDTO(
            nodes: map.entries.values.sorted { $0.slug < $1.slug }.map {
                MapEntryDTO(slug: $0.slug, name: $0.name, kind: $0.kind, isComponent: $0.isComponent, dependsOn: $0.dependsOn, expiresAt: nodes[$0.slug]?.expiresAt)
            })
    }

    @Sendable func saveNode(_ request: Request, context: AppRequestContext) async throws -> MapNodeDTO {
        _ = try context.require(.admin)
        let slug = try context.parameters.require("slug")
        let input = try await request.decode(as: NodeInput.self, context: context)
        return MapNodeDTO(try await store.saveNode(MapNode(slug: slug, name: input.name, kind: input.kind, dependsOn: input.dependsOn ?? [], expiresAt: input.expiresAt)))
    }

    @Sendable func deleteNode(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        try await store.deleteNode(slug: try context.parameters.require("slug"))
        return Response(status: .noContent)
    }

    @Sendable func blastRadius(_ request: Request, context: AppRequestContext) async throws -> BlastRadiusDTO {
        _ = try context.require(.viewer)
        let slug = try context.parameters.require("slug")
        let map = try await store.dependencyMap()
        guard map.entries[slug] != nil else { throw DomainError.notFound(what: "component or node", id: slug) }
        let downstream = map.downstream(of: slug).filter { $0.key != slug }
        return BlastRadiusDTO(
            slug: slug,
            downstream: downstream.sorted { ($0.value.distance, $0.key) < ($1.value.distance, $1.key) }.map {
                BlastEntryDTO(slug: $0.key, isComponent: map.entries[$0.key]?.isComponent ?? false, distance: $0.value.distance, path: $0.value.path)
            },
            components: map.downstreamComponents(of: slug))
    }

    @Sendable func freezes(_ request: Request, context: AppRequestContext) async throws -> FreezeListDTO {
        _ = try context.require(.viewer)
        return FreezeListDTO(freezes: try await store.freezes().map(FreezeDTO.init))
    }

    @Sendable func createFreeze(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<FreezeDTO> {
        _ = try context.require(.admin)
        let input = try await request.decode(as: FreezeInput.self, context: context)
        let now = clock.now
        let freeze = try await store.createFreeze(ChangeFreeze(reason: input.reason, startsAt: input.startsAt ?? now, endsAt: input.endsAt, createdBy: context.author))
        return EditedResponse(status: .created, response: FreezeDTO(freeze))
    }

    @Sendable func endFreeze(_ request: Request, context: AppRequestContext) async throws -> FreezeDTO {
        _ = try context.require(.admin)
        return FreezeDTO(try await store.endFreeze(id: try context.resourceID("freeze"), at: clock.now))
    }

    @Sendable func suspects(_ request: Request, context: AppRequestContext) async throws -> SuspectReportDTO {
        _ = try context.require(.viewer)
        return SuspectReportDTO(try await store.suspects(incidentID: try context.resourceID("incident"), now: clock.now, settings: settings))
    }
}
