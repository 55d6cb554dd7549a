import BelayCore
import BelayFormats
import BelayNotify
import Foundation
import Hummingbird

/// /api/v1/subscribers (admin): list, add, remove, and CSV export and import.
struct SubscribersController {
    let store: any BelayStore
    let clock: any WallClock
    let subscriptions: Subscriptions
    let configuration: ServerConfiguration

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("subscribers", use: list)
        group.post("subscribers", use: create)
        group.get("subscribers/export", use: export)
        group.post("subscribers/import", use: importCSV)
        group.delete("subscribers/:id", use: delete)
        group.post("subscribers/bounces", use: bounce)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> SubscriberListDTO {
        _ = try context.require(.admin)
        let parameters = request.uri.queryParameters
        var query = SubscriberQuery(limit: 1000)
        if let raw = parameters["state"] {
            guard !raw.isEmpty, let state = Subscriber.State(rawValue: String(raw)) else {
                throw APIError.badRequest("state: expected pending, confirmed, unsubscribed or stopped")
            }
            query.state = state
        }
        if let raw = parameters["kind"] {
            guard let kind = Subscriber.Kind(rawValue: String(raw)) else { throw APIError.badRequest("kind: expected email, webhook or slack") }
            query.kind = kind
        }
        if let raw = parameters["after"] {
            guard let id = Validate.id(String(raw)) else { throw APIError.badRequest("after: expected an id") }
            query.afterID = id
        }
        if let raw = parameters["limit"] {
            guard let limit = Int(raw), (1...1000).contains(limit) else { throw APIError.badRequest("limit: expected a number from 1 to 1000") }
            query.limit = limit
        }
        return SubscriberListDTO(subscribers: try await store.subscribers(query).map(SubscriberDTO.init))
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<SubscriberSecretDTO> {
        _ = try context.require(.admin)
        let input = try await request.decode(as: SubscriberInput.self, context: context)
        guard configuration.http.publicURL != nil else {
            throw DomainError.conflict(code: "public_url_required", message: "messages to subscribers link back to the status page: start Belay with --public-url")
        }
        let kind = input.kind ?? .email
        if kind == .email && !configuration.notify.hasSMTP {
            throw DomainError.conflict(code: "smtp_required", message: "email subscribers need an SMTP relay: start Belay with --smtp-url and --smtp-from")
        }
        let (saved, secret) = try await subscriptions.add(
            kind: kind, address: input.address, components: input.components ?? [], confirmed: input.confirmed ?? false)
        return EditedResponse(status: .created, response: SubscriberSecretDTO(subscriber: SubscriberDTO(saved), secret: secret))
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        try await store.deleteSubscriber(id: try context.resourceID("subscriber"))
        return Response(status: .noContent)
    }

    /// A bounce or complaint reported by the mail provider (its webhook, or a script reading the bounce
    /// mailbox): the address stops receiving, as after a 5xx from the relay.
    @Sendable func bounce(_ request: Request, context: AppRequestContext) async throws -> BounceResultDTO {
        _ = try context.require(.admin)
        let input = try await request.decode(as: BounceInput.self, context: context)
        let reason = input.reason ?? "reported as bounced"
        try Validate.text(reason, field: "reason", max: 300, allowEmpty: true)
        let address = EmailAddress.normalized(input.address)
        guard var subscriber = try await store.subscriber(kind: .email, address: address) else { return BounceResultDTO(stopped: false) }
        guard subscriber.state != .stopped && subscriber.state != .unsubscribed else { return BounceResultDTO(stopped: false) }
        subscriber.state = .stopped
        subscriber.stopReason = reason.isEmpty ? "reported as bounced" : reason
        subscriber.updatedAt = clock.now
        _ = try await store.saveSubscribers([subscriber])
        return BounceResultDTO(stopped: true)
    }

    @Sendable func export(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        let text = try await subscriptions.exportCSV()
        return Response(
            status: .ok,
            headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"subscribers.csv\"", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    @Sendable func importCSV(_ request: Request, context: AppRequestContext) async throws -> ImportResultDTO {
        _ = try context.require(.admin)
        guard configuration.http.publicURL != nil else {
            throw DomainError.conflict(code: "public_url_required", message: "messages to subscribers link back to the status page: start Belay with --public-url")
        }
        let bytes = try await request.body.collect(upTo: context.maxUploadSize)
        guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else { throw APIError.badRequest("the file is not UTF-8 text") }
        return try await subscriptions.importCSV(text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text, canEmail: configuration.notify.hasSMTP)
    }
}
