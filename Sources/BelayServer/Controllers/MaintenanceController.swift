import BelayCore
import Foundation
import Hummingbird

/// /api/v1/maintenance: schedule, start, complete and cancel maintenance windows.
struct MaintenanceController {
    let store: any MaintenanceStore
    let clock: any WallClock

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("maintenance", use: list)
        group.post("maintenance", use: schedule)
        group.get("maintenance/:id", use: show)
        group.post("maintenance/:id/updates", use: postUpdate)
        group.post("maintenance/:id/start", use: start)
        group.post("maintenance/:id/complete", use: complete)
        group.post("maintenance/:id/cancel", use: cancel)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> MaintenanceListDTO {
        _ = try context.require(.viewer)
        let now = clock.now
        return MaintenanceListDTO(maintenances: try await store.maintenances(MaintenanceQuery()).map { MaintenanceDTO($0, now: now) })
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> MaintenanceDTO {
        _ = try context.require(.viewer)
        let id = try context.resourceID("maintenance")
        guard let window = try await store.maintenance(id: id) else { throw DomainError.notFound(what: "maintenance", id: String(id)) }
        return MaintenanceDTO(window, now: clock.now)
    }

    @Sendable func schedule(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<MaintenanceDTO> {
        let token = try context.require(.responder)
        let input = try await request.decode(as: MaintenanceInput.self, context: context)
        let now = clock.now
        let window = try await store.scheduleMaintenance(
            MaintenanceDraft(
                title: input.title, description: input.description ?? "", components: input.components ?? [],
                scheduledStart: input.scheduledStart, scheduledEnd: input.scheduledEnd, autoTransitions: input.autoTransitions ?? true,
                isPublic: input.isPublic ?? true),
            author: "token:\(token.name)", now: now)
        return EditedResponse(status: .created, response: MaintenanceDTO(window, now: now))
    }

    func move(_ request: Request, _ context: AppRequestContext, to target: MaintenanceStatus) async throws -> MaintenanceDTO {
        let token = try context.require(.responder)
        let id = try context.resourceID("maintenance")
        let input = try await decodeOptional(MessageInput.self, request, context)
        let now = clock.now
        let window = try await store.updateMaintenance(id: id) { window in
            try window.transition(to: target, message: input?.message, author: "token:\(token.name)", now: now)
        }
        return MaintenanceDTO(window, now: now)
    }

    @Sendable func start(_ request: Request, context: AppRequestContext) async throws -> MaintenanceDTO {
        try await move(request, context, to: .inProgress)
    }

    @Sendable func complete(_ request: Request, context: AppRequestContext) async throws -> MaintenanceDTO {
        try await move(request, context, to: .completed)
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> MaintenanceDTO {
        try await move(request, context, to: .cancelled)
    }

    @Sendable func postUpdate(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<MaintenanceDTO> {
        let token = try context.require(.responder)
        let id = try context.resourceID("maintenance")
        let input = try await request.decode(as: MessageInput.self, context: context)
        guard let message = input.message else { throw DomainError.invalid(field: "message", message: "must not be empty") }
        let now = clock.now
        let window = try await store.updateMaintenance(id: id) { window in
            try window.postUpdate(message: message, author: "token:\(token.name)", now: now)
        }
        return EditedResponse(status: .created, response: MaintenanceDTO(window, now: now))
    }
}
