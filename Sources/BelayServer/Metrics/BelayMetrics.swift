import BelayCore
import BelayMonitoring
import Metrics
import Prometheus
import Synchronization

/// Belay's own instruments (swift-metrics types), all made by one factory over one registry, which
/// `GET /metrics` prints. Each app owns its registry instead of relying on the process-wide
/// `MetricsSystem`, so two apps in one test process never count into each other.
///
/// Every label takes its values from a closed set declared here (a format, a reason, a state, a status
/// class), never from a path, a user's text or an id, and every series exists from the start, so a
/// dashboard shows 0 rather than "no data" before the first event.
public final class BelayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    /// The three ingest endpoints.
    public enum IngestFormat: String, CaseIterable, Sendable {
        case alertmanager, generic, pagerduty
    }

    /// Why a delivery was refused, from its answer's status.
    public enum Rejection: String, CaseIterable, Sendable {
        case overloaded, storage, malformed, invalid, other
        case unknownKey = "unknown_key"
        case tooLarge = "too_large"

        /// `code` is the JSON error code, when the answer is an `APIError`: a 503 is either the queue
        /// shedding load (`overloaded`) or the store failing.
        init(status: Int, code: String?) {
            switch status {
            case 503: self = code == "overloaded" ? .overloaded : .storage
            case 404: self = .unknownKey
            case 400: self = .malformed
            case 413: self = .tooLarge
            case 422: self = .invalid
            default: self = .other
            }
        }
    }

    private let deliveries: [IngestFormat: Metrics.Counter]
    private let rejections: [IngestFormat: [Rejection: Metrics.Counter]]
    private let ingestLatency: [IngestFormat: Metrics.Timer]
    private let events: Metrics.Counter
    let queueDepth: Metrics.Meter
    private let commitDuration: Metrics.Timer
    private let commitFailures: Metrics.Counter
    private let rebuildDuration: Metrics.Timer
    private let rebuildFailures: Metrics.Counter
    private let outbox: [DeliveryState: Metrics.Meter]
    private let collectFailures: Metrics.Counter
    private let monitors: Metrics.Meter
    private let checksInFlight: Metrics.Meter
    private let checks: Metrics.Counter
    private let checksSeen: Mutex<Int>
    private let latenessP50: Metrics.Meter
    private let latenessP99: Metrics.Meter
    private let latenessMax: Metrics.Meter
    private let resultsPending: Metrics.Meter
    private let requests: [String: Metrics.Counter]

    static let statusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        // Status page rebuilds and group commits of a large backlog can take seconds.
        factory.durationHistogramBuckets["belay_status_page_rebuild_duration_seconds"] = [
            .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
        ]
        func counter(_ name: String, _ labels: [(String, String)] = []) -> Metrics.Counter { Metrics.Counter(label: name, dimensions: labels, factory: factory) }
        func meter(_ name: String, _ labels: [(String, String)] = []) -> Metrics.Meter { Metrics.Meter(label: name, dimensions: labels, factory: factory) }
        func timer(_ name: String, _ labels: [(String, String)] = []) -> Metrics.Timer { Metrics.Timer(label: name, dimensions: labels, factory: factory) }

        deliveries = Dictionary(uniqueKeysWithValues: IngestFormat.allCases.map { ($0, counter("belay_ingest_deliveries_total", [("format", $0.rawValue)])) })
        rejections = Dictionary(uniqueKeysWithValues: IngestFormat.allCases.map { format in
            (format, Dictionary(uniqueKeysWithValues: Rejection.allCases.map { reason in
                (reason, counter("belay_ingest_rejections_total", [("format", format.rawValue), ("reason", reason.rawValue)]))
            }))
        })
        ingestLatency = Dictionary(uniqueKeysWithValues: IngestFormat.allCases.map { ($0, timer("belay_ingest_duration_seconds", [("format", $0.rawValue)])) })
        events = counter("belay_ingest_events_total")
        queueDepth = meter("belay_ingest_queue_events")
        commitDuration = timer("belay_ingest_commit_duration_seconds")
        commitFailures = counter("belay_ingest_commit_failures_total")
        rebuildDuration = timer("belay_status_page_rebuild_duration_seconds")
        rebuildFailures = counter("belay_status_page_rebuild_failures_total")
        outbox = Dictionary(uniqueKeysWithValues: DeliveryState.allCases.map { ($0, meter("belay_outbox_deliveries", [("state", $0.rawValue)])) })
        collectFailures = counter("belay_metrics_collect_failures_total")
        monitors = meter("belay_monitors")
        checksInFlight = meter("belay_monitor_checks_in_flight")
        checks = counter("belay_monitor_checks_total")
        checksSeen = Mutex(0)
        latenessP50 = meter("belay_monitor_check_lateness_p50_seconds")
        latenessP99 = meter("belay_monitor_check_lateness_p99_seconds")
        latenessMax = meter("belay_monitor_check_lateness_max_seconds")
        resultsPending = meter("belay_monitor_results_pending")
        requests = Dictionary(uniqueKeysWithValues: (Self.statusClasses + ["other"]).map { ($0, counter("belay_http_requests_total", [("code", $0)])) })
    }

    /// The registry in Prometheus' text exposition format.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }

    // MARK: ingestion

    /// One answered delivery: a 2xx is accepted (and its time recorded), anything else a rejection.
    func ingestAnswered(_ format: IngestFormat, status: Int, code: String?, elapsed: Duration) {
        if (200..<300).contains(status) {
            deliveries[format]?.increment()
            ingestLatency[format]?.recordNanoseconds(Self.nanoseconds(elapsed))
        } else {
            rejections[format]?[Rejection(status: status, code: code)]?.increment()
        }
    }

    func eventsAccepted(_ count: Int) { events.increment(by: count) }

    /// Times one group commit of the ingest queue.
    func timeCommit<T>(_ work: () async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        do {
            let result = try await work()
            commitDuration.recordNanoseconds(Self.nanoseconds(ContinuousClock.now - started))
            return result
        } catch {
            commitFailures.increment()
            throw error
        }
    }

    // MARK: status page

    func statusPageRebuilt(in elapsed: Duration) { rebuildDuration.recordNanoseconds(Self.nanoseconds(elapsed)) }
    func statusPageRebuildFailed() { rebuildFailures.increment() }

    // MARK: read on scrape

    func outboxCounts(_ counts: [DeliveryState: Int]) {
        for (state, gauge) in outbox { gauge.set(counts[state] ?? 0) }
    }

    func collectFailed() { collectFailures.increment() }

    func scheduler(_ stats: SchedulerStats) {
        monitors.set(stats.monitors)
        checksInFlight.set(stats.inFlight)
        // The scheduler keeps a running total; the counter moves by what ran since the last scrape.
        let delta = checksSeen.withLock { seen in
            defer { seen = max(seen, stats.checksRun) }
            return max(0, stats.checksRun - seen)
        }
        if delta > 0 { checks.increment(by: delta) }
        latenessP50.set(stats.latenessP50Ms / 1000)
        latenessP99.set(stats.latenessP99Ms / 1000)
        latenessMax.set(stats.latenessMaxMs / 1000)
        resultsPending.set(stats.pendingResults)
    }

    // MARK: HTTP

    func requestAnswered(status: Int) {
        let name = (100..<600).contains(status) ? Self.statusClasses[status / 100 - 1] : "other"
        requests[name]?.increment()
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}
