import BelayCore
import BelayFormats
import Crypto
import Foundation
import Hummingbird
import NIOCore
import NIOPosix

/// The endpoints other tools post alerts to. No bearer token: the integration key in the path (or, for
/// PagerDuty, the routing_key) is the secret. A 2xx is sent only after the events are on disk.
///
/// The order of work is the defence: a full queue answers 503 before anything is read, an unknown key 404
/// before the body is decoded, and decoding and routing (which runs user patterns) happen on the thread
/// pool, off the event loops and outside the write transaction.
struct IngestController {
    let queue: IngestQueue
    let store: any DetectStore
    let bodyLimit: Int
    let maxAlerts: Int
    let metrics: BelayMetrics
    let integrations = IntegrationCache()

    func addRoutes(to router: Router<AppRequestContext>) {
        // ":id" holds the key: Hummingbird's router wants one parameter name per level of a path, and
        // /api/v1/integrations/:id is the integration's own resource.
        router.post("api/v1/integrations/:id/alertmanager", use: measured(.alertmanager, alertmanager))
        router.post("api/v1/integrations/:id/events", use: measured(.generic, generic))
        router.post("v2/enqueue", use: measured(.pagerduty, pagerDuty))
    }

    /// Counts each answer as accepted (with its time) or rejected by reason; PagerDuty's refusals are
    /// answers rather than errors, so both are read.
    private func measured(
        _ format: BelayMetrics.IngestFormat, _ handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Response
    ) -> @Sendable (Request, AppRequestContext) async throws -> Response {
        { [metrics] request, context in
            let started = ContinuousClock.now
            do {
                let response = try await handler(request, context)
                metrics.ingestAnswered(format, status: response.status.code, code: nil, elapsed: ContinuousClock.now - started)
                return response
            } catch {
                let answer = APIError.from(error)
                metrics.ingestAnswered(format, status: answer?.status.code ?? 500, code: answer?.code, elapsed: ContinuousClock.now - started)
                throw error
            }
        }
    }

    @Sendable func alertmanager(_ request: Request, context: AppRequestContext) async throws -> Response {
        try shedIfOverloaded()
        let integration = try await enabledIntegration(key: try context.parameters.require("id"))
        let body = try await read(request)
        let maxAlerts = maxAlerts
        let batch = try await offLoop {
            let webhook = try JSONBody.decode(AlertmanagerWebhook.self, from: body)
            return Self.routed(try webhook.events(maxAlerts: maxAlerts, fingerprint: Self.fingerprint), integration)
        }
        let receipts = try await submit(batch)
        return try json(AlertmanagerAnswer(status: "success", accepted: receipts.count), status: .ok)
    }

    @Sendable func generic(_ request: Request, context: AppRequestContext) async throws -> Response {
        try shedIfOverloaded()
        let integration = try await enabledIntegration(key: try context.parameters.require("id"))
        let body = try await read(request)
        let batch = try await offLoop {
            let event = try JSONBody.decode(GenericEvent.self, from: body).event(generateKey: Self.newKey)
            return Self.routed([event], integration)
        }
        let receipt = try await submit(batch)[0]
        return try json(
            GenericAnswer(status: "accepted", dedupKey: receipt.dedupKey, signalId: receipt.signalID, incidentId: receipt.incidentID, effect: receipt.effect.rawValue),
            status: .accepted)
    }

    /// PagerDuty's Events API v2: its answers and its error shape, so its clients work unchanged. The key is
    /// inside the body, so the body is read, but only the key is looked at before it is known.
    @Sendable func pagerDuty(_ request: Request, context: AppRequestContext) async throws -> Response {
        func invalid(_ errors: [String], status: HTTPResponse.Status = .badRequest) throws -> Response {
            try json(PagerDutyError(status: "invalid event", message: "Event object is invalid", errors: errors), status: status)
        }
        try shedIfOverloaded()
        let body = try await read(request)
        let routingKey: String
        do {
            routingKey = try await offLoop { try JSONBody.decode(PagerDutyEvent.RoutingKey.self, from: body) }.routing_key ?? ""
        } catch let error as MalformedInput {
            return try invalid([error.message])
        }
        guard !routingKey.isEmpty else { return try invalid(["'routing_key' is missing or blank"]) }
        let integration: Integration
        do {
            integration = try await enabledIntegration(key: routingKey)
        } catch let error as APIError where error.status == .notFound {
            return try invalid(["Invalid routing key"], status: .notFound)
        }
        let outcome: Result<IngestBatch, PagerDutyEvent.Problems>
        do {
            outcome = try await offLoop {
                switch try PagerDutyEvent.decode(body).validated(generateKey: Self.newKey) {
                case .success(let valid): return .success(Self.routed([valid.event], integration))
                case .failure(let problems): return .failure(problems)
                }
            }
        } catch let error as MalformedInput {
            return try invalid([error.message])
        }
        switch outcome {
        case .failure(let problems):
            return try invalid(problems.messages)
        case .success(let batch):
            let receipt: SignalReceipt
            do {
                receipt = try await submit(batch)[0]
            } catch let error as APIError where error.status == .notFound {
                // Disabled or deleted since the look-up above (which may answer from `IntegrationCache`).
                return try invalid(["Invalid routing key"], status: .notFound)
            }
            return try json(PagerDutyAnswer(status: "success", message: "Event processed", dedup_key: receipt.dedupKey), status: .accepted)
        }
    }

    /// 503 at once when the queue is full, before the body costs anything.
    private func shedIfOverloaded() throws {
        if let overloaded = queue.overloaded() { throw Self.unavailable(overloaded) }
    }

    private func enabledIntegration(key: String) async throws -> Integration {
        guard key.utf8.count <= 256,
            let integration = try await integrations.integration(keyHash: TokenSecrets.hash(key), load: { try await store.integration(keyHash: $0) }),
            integration.isEnabled
        else {
            throw APIError.notFound("no enabled integration has this key")
        }
        return integration
    }

    private func read(_ request: Request) async throws -> Data {
        let body = try await request.body.collect(upTo: bodyLimit)
        return Data(buffer: body, byteTransferStrategy: .noCopy)
    }

    /// Routing rules matched here, before the write transaction; see `IngestBatch.matchedRules`.
    static func routed(_ events: [SignalEvent], _ integration: Integration) -> IngestBatch {
        var matcher = RuleMatcher(routing: integration.routing)
        let rules = events.map { matcher.matchingRule(for: $0) }
        return IngestBatch(origin: .integrationKey(hash: integration.keyHash), events: events, routedWith: integration.routing, matchedRules: rules)
    }

    /// Runs parsing and routing on the blocking pool: a large delivery or a slow pattern never holds an event loop.
    private func offLoop<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(work)
    }

    /// Commits and unwraps the outcome: a domain error of this delivery becomes its HTTP error.
    private func submit(_ batch: IngestBatch) async throws -> [SignalReceipt] {
        do {
            switch try await queue.submit(batch) {
            case .success(let receipts):
                metrics.eventsAccepted(receipts.count)
                return receipts
            case .failure(let error):
                if case .notFound = error { throw APIError.notFound("no enabled integration has this key") }
                throw error
            }
        } catch let overloaded as IngestQueue.Overloaded {
            throw Self.unavailable(overloaded)
        }
    }

    static func unavailable(_ overloaded: IngestQueue.Overloaded) -> APIError {
        var error = APIError(status: .serviceUnavailable, code: "overloaded", message: "Belay is taking in more alerts than it can store; retry shortly")
        error.headers[.retryAfter] = String(overloaded.retryAfterSeconds)
        return error
    }

    private func json(_ value: some Encodable, status: HTTPResponse.Status) throws -> Response {
        var buffer = ByteBuffer()
        try buffer.writeBytes(BelayJSON.makeEncoder().encode(value))
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: buffer))
    }

    /// A fresh dedup key, 32 hex characters like PagerDuty's.
    static func newKey() -> String {
        (0..<16).map { _ in UInt8.random(in: 0...255) }.hexString
    }

    /// Alertmanager always sends a fingerprint; without one, the sorted label set identifies the alert.
    static func fingerprint(_ labels: [String: String]) -> String {
        let text = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\u{1F}")
        return SHA256.hash(data: Data(text.utf8)).prefix(8).hexString
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
