import BelayCore
import Foundation
import Hummingbird
import NIOCore

/// The endpoints other tools post alerts to. No bearer token: the integration key in the path (or, for
/// PagerDuty, the routing_key) is the secret. A 2xx is sent only after the events are on disk.
struct IngestController {
    let queue: IngestQueue
    let bodyLimit: Int

    func addRoutes(to router: Router<AppRequestContext>) {
        router.post("api/v1/integrations/:id/alertmanager", use: alertmanager)
        router.post("api/v1/integrations/:id/events", use: generic)
        router.post("v2/enqueue", use: pagerDuty)
    }

    @Sendable func alertmanager(_ request: Request, context: AppRequestContext) async throws -> Response {
        let key = try context.parameters.require("id")
        let webhook = try await decode(AlertmanagerWebhook.self, request)
        let events = try webhook.events()
        let receipts = try await submit(IngestBatch(origin: .integrationKey(hash: TokenSecrets.hash(key)), events: events))
        return try json(AlertmanagerAnswer(status: "success", accepted: receipts.count), status: .ok)
    }

    @Sendable func generic(_ request: Request, context: AppRequestContext) async throws -> Response {
        let key = try context.parameters.require("id")
        let body = try await decode(GenericEvent.self, request)
        let event = try body.event(generateKey: Self.newKey)
        let receipt = try await submit(IngestBatch(origin: .integrationKey(hash: TokenSecrets.hash(key)), events: [event]))[0]
        return try json(
            GenericAnswer(status: "accepted", dedupKey: receipt.dedupKey, signalId: receipt.signalID, incidentId: receipt.incidentID, effect: receipt.effect.rawValue),
            status: .accepted)
    }

    /// PagerDuty's Events API v2: its answers and its error shape, so its clients work unchanged.
    @Sendable func pagerDuty(_ request: Request, context: AppRequestContext) async throws -> Response {
        let event: PagerDutyEvent
        do {
            event = try await decode(PagerDutyEvent.self, request)
        } catch let error as APIError where error.status == .badRequest {
            return try json(PagerDutyError(status: "invalid event", message: "Event object is invalid", errors: [error.message]), status: .badRequest)
        }
        guard let (routingKey, signalEvent) = event.validated(generateKey: Self.newKey) else {
            return try json(PagerDutyError(status: "invalid event", message: "Event object is invalid", errors: event.problems), status: .badRequest)
        }
        do {
            let receipt = try await submit(IngestBatch(origin: .integrationKey(hash: TokenSecrets.hash(routingKey)), events: [signalEvent]))[0]
            return try json(PagerDutyAnswer(status: "success", message: "Event processed", dedup_key: receipt.dedupKey), status: .accepted)
        } catch let error as APIError where error.status == .notFound {
            return try json(PagerDutyError(status: "invalid event", message: "Event object is invalid", errors: ["Invalid routing key"]), status: .notFound)
        }
    }

    /// Commits and unwraps the outcome: a domain error of this delivery becomes its HTTP error.
    private func submit(_ batch: IngestBatch) async throws -> [SignalReceipt] {
        do {
            switch try await queue.submit(batch) {
            case .success(let receipts): return receipts
            case .failure(let error):
                if case .notFound = error { throw APIError.notFound("no enabled integration has this key") }
                throw error
            }
        } catch let overloaded as IngestQueue.Overloaded {
            var error = APIError(status: .serviceUnavailable, code: "overloaded", message: "Belay is taking in more alerts than it can store; retry shortly")
            error.headers[.retryAfter] = String(overloaded.retryAfterSeconds)
            throw error
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let body = try await request.body.collect(upTo: bodyLimit)
        guard body.readableBytes > 0 else { throw APIError.badRequest("the request body is empty; expected a JSON object") }
        do {
            // BelayJSON's decoder reads dates as RFC 3339 strings (the generic format's startsAt/endsAt); a plain
            // JSONDecoder would expect a number of seconds since 2001 and refuse every documented date.
            return try BelayJSON.makeDecoder().decode(T.self, from: Data(buffer: body, byteTransferStrategy: .noCopy))
        } catch let error as DecodingError {
            throw APIError.badRequest(BelayJSON.describe(error))
        }
    }

    private func json(_ value: some Encodable, status: HTTPResponse.Status) throws -> Response {
        var buffer = ByteBuffer()
        try buffer.writeBytes(BelayJSON.makeEncoder().encode(value))
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: buffer))
    }

    /// A fresh dedup key, 32 hex characters like PagerDuty's.
    static func newKey() -> String {
        (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}

struct AlertmanagerAnswer: Encodable {
    var status: String
    var accepted: Int
}

struct GenericAnswer: Encodable {
    var status: String
    var dedupKey: String
    var signalId: Int64?
    var incidentId: Int64?
    var effect: String
}

struct PagerDutyAnswer: Encodable {
    var status: String
    var message: String
    var dedup_key: String
}

struct PagerDutyError: Encodable {
    var status: String
    var message: String
    var errors: [String]
}
