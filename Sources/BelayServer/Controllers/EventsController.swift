import BelayCore
import Foundation
import Hummingbird

/// GET /api/v1/events: the event log, for systems that follow Belay. A client keeps the `next` it was
/// given and asks again with `after=next`; it never misses or repeats an event.
struct EventsController {
    let store: any EventStore
    static let maxPage = 1000

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("events", use: list)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> EventPageDTO {
        _ = try context.require(.admin)
        let query = request.uri.queryParameters
        var after: Int64 = 0
        if let raw = query["after"] {
            guard let value = Int64(raw), value >= 0 else { throw APIError.badRequest("after: expected a sequence number (0 or more)") }
            after = value
        }
        var limit = 100
        if let raw = query["limit"] {
            guard let value = Int(raw), (1...Self.maxPage).contains(value) else {
                throw APIError.badRequest("limit: expected a number from 1 to \(Self.maxPage)")
            }
            limit = value
        }
        let pruned = try await store.prunedThrough()
        guard after >= pruned else {
            throw APIError(
                status: .gone, code: "events_pruned",
                message: "events up to \(pruned) are past the retention and were pruned; start again from after=\(pruned)")
        }
        // The head is read first: a page can only end at or after it, so `head` never runs ahead of the events shown.
        let head = try await store.eventHead()
        let events = try await store.events(after: after, limit: limit)
        return EventPageDTO(events: events.map(EventDTO.init), next: events.last?.sequence ?? after, head: max(head, events.last?.sequence ?? 0))
    }
}

struct EventPageDTO: ResponseEncodable {
    var events: [EventDTO]
    /// Pass as `after` for the next page.
    var next: Int64
    /// The newest committed sequence when the page was read.
    var head: Int64
}

/// One event as the API shows it. Events hold ids, names and public facts only, so nothing needs redacting
/// here: secrets (keys, token hashes, passwords) and addresses never enter the log.
struct EventDTO: Codable {
    struct ActorDTO: Codable {
        var kind: Actor.Kind
        var id: String?
        var name: String
    }

    var sequence: Int64
    var type: String
    var recordedAt: Date
    var subject: EventSubject
    var actor: ActorDTO
    /// False for events that describe the past (replays, the demo): logged, never announced.
    var announce: Bool
    var data: DomainEvent

    init(_ stored: StoredEvent) {
        sequence = stored.sequence
        type = stored.event.type
        recordedAt = stored.recordedAt
        subject = stored.event.subject
        actor = ActorDTO(kind: stored.actor.kind, id: stored.actor.id.map(String.init), name: stored.actor.name)
        announce = stored.announce
        data = stored.event
    }
}
