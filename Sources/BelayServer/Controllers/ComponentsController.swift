import BelayCore
import Foundation
import Hummingbird

/// /api/v1/components: the components and their dependency edges.
struct ComponentsController {
    let store: any ComponentStore & IncidentStore & MaintenanceStore
    let clock: any WallClock

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("components", use: list)
        group.post("components", use: create)
        group.get("components/:slug", use: show)
        group.patch("components/:slug", use: update)
        group.delete("components/:slug", use: delete)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> ComponentListDTO {
        _ = try context.require(.viewer)
        let statuses = try await store.componentStatuses(at: clock.now)
        return ComponentListDTO(components: try await store.components().map { ComponentDTO($0, status: statuses[$0.slug] ?? .operational) })
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> ComponentDTO {
        _ = try context.require(.viewer)
        let slug = try context.parameters.require("slug")
        guard let component = try await store.component(slug: slug) else { throw DomainError.notFound(what: "component", id: slug) }
        return ComponentDTO(component, status: try await store.componentStatuses(at: clock.now)[slug] ?? .operational)
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<ComponentDTO> {
        _ = try context.require(.admin)
        let input = try await request.decode(as: ComponentInput.self, context: context)
        let now = clock.now
        let component = try await store.createComponent(
            Component(
                slug: input.slug, name: input.name, description: input.description ?? "", group: Self.normalizedGroup(input.group), isPublic: input.isPublic ?? true,
                automaticIncidentsPublic: input.automaticIncidentsPublic ?? false, position: input.position ?? 0, dependsOn: input.dependsOn ?? [], createdAt: now, updatedAt: now))
        return EditedResponse(status: .created, response: ComponentDTO(component, status: .operational))
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> ComponentDTO {
        _ = try context.require(.admin)
        let slug = try context.parameters.require("slug")
        let patch = try await request.decode(as: ComponentPatch.self, context: context)
        let now = clock.now
        let component = try await store.updateComponent(slug: slug) { component in
            if let name = patch.name { component.name = name }
            if let description = patch.description { component.description = description }
            if let group = patch.group { component.group = Self.normalizedGroup(group) }
            if let isPublic = patch.isPublic { component.isPublic = isPublic }
            if let value = patch.automaticIncidentsPublic { component.automaticIncidentsPublic = value }
            if let position = patch.position { component.position = position }
            if let dependsOn = patch.dependsOn { component.dependsOn = dependsOn }
            component.updatedAt = now
        }
        return ComponentDTO(component, status: try await store.componentStatuses(at: clock.now)[slug] ?? .operational)
    }

    /// An empty or blank group means "no group", on create and update alike.
    static func normalizedGroup(_ group: String?) -> String? {
        guard let group, !group.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        return group
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        try await store.deleteComponent(slug: try context.parameters.require("slug"))
        return Response(status: .noContent)
    }
}
