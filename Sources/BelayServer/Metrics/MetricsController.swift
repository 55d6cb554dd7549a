import BelayCore
import BelayFormats
import BelayMonitoring
import Foundation
import Hummingbird
import Logging
import Synchronization

/// Belay watched like any service: `GET /metrics` (Prometheus text), `GET /healthz` (the process serves)
/// and `GET /readyz` (the store answers and has every migration this binary knows). Liveness never touches
/// the store, so a slow database makes Belay unready, not restarted.
struct MetricsController {
    let metrics: BelayMetrics
    let store: any BelayStore
    let queue: IngestQueue
    let scheduler: MonitorScheduler
    /// Client addresses that may read `/metrics` without a token (`--metrics-allow`).
    let allowed: [CIDR]

    static let readinessBudget: Duration = .seconds(2)

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("metrics", use: scrape)
        router.get("healthz") { _, _ in HealthDTO(status: "ok") }
        router.get("readyz", use: ready)
    }

    @Sendable func scrape(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await authorize(request, context: context)
        await collect(logger: context.logger)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: .init(bytes: metrics.exposition())))
    }

    /// An address in `--metrics-allow`, else a bearer token of any role.
    private func authorize(_ request: Request, context: AppRequestContext) async throws {
        if let address = context.clientAddress.flatMap(IPAddress.init(parsing:)), allowed.contains(where: { $0.contains(address) }) { return }
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("/metrics needs a bearer token, or a client address in --metrics-allow")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", parts[1].utf8.count <= 256 else {
            throw APIError.unauthorized("the Authorization header must be 'Bearer <token>'")
        }
        let secret = parts[1].trimmingCharacters(in: .whitespaces)
        guard let token = try await store.token(hash: TokenSecrets.hash(secret)), !token.isRevoked else {
            throw APIError.unauthorized("the token is not valid or has been revoked")
        }
    }

    /// Reads what is cheaper to look at on a scrape than to track on every change. A store that does not
    /// answer leaves the last values and counts a failure, so the scrape itself still succeeds.
    private func collect(logger: Logger) async {
        metrics.queueDepth.set(queue.waitingEvents())
        metrics.scheduler(scheduler.stats())
        let store = store
        switch await Self.within(Self.readinessBudget, { try await store.deliveryCounts() }) {
        case .success(let counts): metrics.outboxCounts(counts)
        case .failure(let error):
            metrics.collectFailed()
            logger.warning("metrics: could not read the outbox counts", metadata: ["error": "\(error)"])
        }
    }

    struct Readiness: ResponseEncodable {
        var status: String
        var checks: [String: String]
    }

    @Sendable func ready(_ request: Request, context: AppRequestContext) async throws -> Response {
        let store = store
        var checks: [String: String] = [:]
        switch await Self.within(Self.readinessBudget, { try await store.eventHead() }) {
        case .success: checks["database"] = "ok"
        case .failure(let error): checks["database"] = error is TimedOut ? "no answer within 2 s" : "failed: \(Self.reason(error))"
        }
        // The server migrates on start; a schema older than this binary since (a restored dump, another
        // database behind the same URL) lacks tables or columns it writes.
        switch await Self.within(Self.readinessBudget, { try await store.migrationStatus() }) {
        case .success(let status): checks["migrations"] = Self.migrationCheck(status)
        case .failure(let error): checks["migrations"] = error is TimedOut ? "no answer within 2 s" : "failed: \(Self.reason(error))"
        }
        let isReady = checks.values.allSatisfy { $0 == "ok" }
        var response = try Readiness(status: isReady ? "ready" : "unready", checks: checks).response(from: request, context: context)
        response.status = isReady ? .ok : .serviceUnavailable
        response.headers[.cacheControl] = "no-store"
        return response
    }

    struct TimedOut: Error {}

    /// "ok" when every migration this binary knows is applied, else the ones missing. A newer schema is
    /// ready: an older replica keeps serving on it through a rolling upgrade (docs/SCALING.md).
    static func migrationCheck(_ status: MigrationStatus) -> String {
        status.isUpToDate ? "ok" : "not applied: " + status.pending.joined(separator: ", ")
    }

    private static func reason(_ error: any Error) -> String {
        (error as? StorageUnavailable)?.reason ?? "the store refused the read"
    }

    /// The work's result, or `TimedOut` after `budget`. The work runs in its own task so a store call that
    /// ignores cancellation cannot hold the answer past the budget.
    static func within<T: Sendable>(_ budget: Duration, _ work: @escaping @Sendable () async throws -> T) async -> Result<T, any Error> {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, any Error>, Never>) in
            let answer = FirstAnswer(continuation)
            let worker = Task {
                do { answer.resume(.success(try await work())) } catch { answer.resume(.failure(error)) }
            }
            Task {
                try? await Task.sleep(for: budget)
                answer.resume(.failure(TimedOut()))
                worker.cancel()
            }
        }
    }
}

/// Resumes its continuation once, with whichever answer comes first.
private final class FirstAnswer<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<Result<T, any Error>, Never>?>

    init(_ continuation: CheckedContinuation<Result<T, any Error>, Never>) { self.continuation = Mutex(continuation) }

    func resume(_ result: Result<T, any Error>) {
        let pending = continuation.withLock { stored in
            defer { stored = nil }
            return stored
        }
        pending?.resume(returning: result)
    }
}

/// Counts every answer by status class, the status page fast path included, so it wraps the whole responder.
struct MeasuredResponder<Next: HTTPResponder>: HTTPResponder where Next.Context == AppRequestContext {
    let metrics: BelayMetrics
    let next: Next

    func respond(to request: Request, context: AppRequestContext) async throws -> Response {
        do {
            let response = try await next.respond(to: request, context: context)
            metrics.requestAnswered(status: response.status.code)
            return response
        } catch {
            metrics.requestAnswered(status: (error as? any HTTPResponseError)?.status.code ?? 500)
            throw error
        }
    }
}
