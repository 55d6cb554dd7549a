import BelayCore
import BelayMonitoring
import Foundation
import Hummingbird

// The shapes of the Detect API (monitors, integrations, signals); docs/detect.md and openapi.json describe them.

struct MonitorDTO: ResponseEncodable {
    var id: Int64
    var name: String
    var kind: MonitorKind
    var settings: MonitorSettings
    var intervalSeconds: Int
    var timeoutSeconds: Int
    var failureThreshold: Int
    var successThreshold: Int
    var component: String?
    var severity: Severity
    var paused: Bool
    var state: MonitorState
    var heartbeatURL: String?
    var createdAt: Date
    var updatedAt: Date

    /// `heartbeatSecret` is a token just made: the URL is in this one answer (create, rotate) and never again.
    init(_ monitor: Monitor, baseURL: String, heartbeatSecret: String? = nil) {
        id = monitor.id
        name = monitor.name
        kind = monitor.kind
        settings = monitor.settings
        intervalSeconds = monitor.intervalSeconds
        timeoutSeconds = monitor.timeoutSeconds
        failureThreshold = monitor.failureThreshold
        successThreshold = monitor.successThreshold
        component = monitor.component
        severity = monitor.severity
        paused = monitor.isPaused
        state = monitor.state
        heartbeatURL = heartbeatSecret.map { "\(baseURL)/api/v1/heartbeats/\($0)" }
        createdAt = monitor.createdAt
        updatedAt = monitor.updatedAt
    }
}

struct MonitorListDTO: ResponseEncodable {
    var monitors: [MonitorDTO]
    /// Pass as `after` for the next page; left out on the last page.
    var nextAfter: Int64?
}

struct MonitorInput: Decodable {
    var name: String
    var kind: MonitorKind
    var settings: MonitorSettings?
    var intervalSeconds: Int?
    var timeoutSeconds: Int?
    var failureThreshold: Int?
    var successThreshold: Int?
    var component: String?
    var severity: Severity?
    var paused: Bool?
}

struct MonitorPatch: Decodable {
    var name: String?
    var settings: MonitorSettings?
    var intervalSeconds: Int?
    var timeoutSeconds: Int?
    var failureThreshold: Int?
    var successThreshold: Int?
    /// An empty string detaches the monitor from its component.
    var component: String?
    var severity: Severity?
    var paused: Bool?
}

struct CheckResultListDTO: ResponseEncodable {
    var results: [CheckResult]
}

struct RollupDTO: Codable {
    var start: Date
    var total: Int
    var up: Int
    var degraded: Int
    var down: Int
    var availability: Double?
    var averageLatencyMs: Double?
    var maxLatencyMs: Double?

    init(_ rollup: CheckRollup) {
        start = Date(timeIntervalSince1970: TimeInterval(rollup.bucket))
        total = rollup.total
        up = rollup.up
        degraded = rollup.degraded
        down = rollup.down
        availability = rollup.availability
        averageLatencyMs = rollup.averageLatencyMs
        maxLatencyMs = rollup.latencyCount == 0 ? nil : rollup.latencyMaxMs
    }
}

struct RollupListDTO: ResponseEncodable {
    var granularity: RollupGranularity
    var rollups: [RollupDTO]
}

struct SchedulerStatsDTO: ResponseEncodable {
    var monitors: Int
    var inFlight: Int
    var checksRun: Int
    var latenessP50Ms: Double
    var latenessP99Ms: Double
    var latenessMaxMs: Double
    var samples: Int
    var pendingResults: Int

    init(_ stats: SchedulerStats) {
        monitors = stats.monitors
        inFlight = stats.inFlight
        checksRun = stats.checksRun
        latenessP50Ms = stats.latenessP50Ms
        latenessP99Ms = stats.latenessP99Ms
        latenessMaxMs = stats.latenessMaxMs
        samples = stats.samples
        pendingResults = stats.pendingResults
    }
}

struct HeartbeatDTO: ResponseEncodable {
    var status: String
    var monitorId: Int64
}

struct IntegrationDTO: ResponseEncodable {
    var id: Int64
    var name: String
    var kind: IntegrationKind
    var keyHint: String
    var routing: Routing
    var publicIncidents: Bool
    var enabled: Bool
    var createdAt: Date
    var updatedAt: Date
    var lastEventAt: Date?
    var eventCount: Int

    init(_ integration: Integration) {
        id = integration.id
        name = integration.name
        kind = integration.kind
        keyHint = integration.keyHint
        routing = integration.routing
        publicIncidents = integration.publicIncidents
        enabled = integration.isEnabled
        createdAt = integration.createdAt
        updatedAt = integration.updatedAt
        lastEventAt = integration.lastEventAt
        eventCount = integration.eventCount
    }
}

struct IntegrationURLs: Codable {
    var alertmanager: String
    var events: String
    var pagerduty: String

    init(baseURL: String, key: String) {
        alertmanager = "\(baseURL)/api/v1/integrations/\(key)/alertmanager"
        events = "\(baseURL)/api/v1/integrations/\(key)/events"
        pagerduty = "\(baseURL)/v2/enqueue"
    }
}

/// The answer to creating an integration or rotating its key: the key is shown this once.
struct IntegrationSecretDTO: ResponseEncodable {
    var integration: IntegrationDTO
    var key: String
    var urls: IntegrationURLs
}

struct IntegrationListDTO: ResponseEncodable {
    var integrations: [IntegrationDTO]
}

struct IntegrationInput: Decodable {
    var name: String
    var kind: IntegrationKind?
    var routing: Routing?
    var publicIncidents: Bool?
}

struct IntegrationPatch: Decodable {
    var name: String?
    var kind: IntegrationKind?
    var routing: Routing?
    var publicIncidents: Bool?
    var enabled: Bool?
}

struct SignalDTO: ResponseEncodable {
    var id: Int64
    var source: String
    var sourceKind: SignalSourceKind
    var sourceId: Int64
    var dedupKey: String
    var status: SignalStatus
    var summary: String
    var severity: Severity
    var origin: String?
    var components: [String]
    var labels: [String: String]
    var links: [SignalLink]
    var details: String?
    var startsAt: Date
    var endsAt: Date?
    var firstReceivedAt: Date
    var lastReceivedAt: Date
    var eventCount: Int
    var incidentId: Int64?

    init(_ signal: Signal) {
        id = signal.id
        source = signal.sourceName
        sourceKind = signal.sourceKind
        sourceId = signal.sourceID
        dedupKey = signal.dedupKey
        status = signal.status
        summary = signal.summary
        severity = signal.severity
        origin = signal.source
        components = signal.components
        labels = signal.labels
        links = signal.links
        details = signal.details
        startsAt = signal.startsAt
        endsAt = signal.endsAt
        firstReceivedAt = signal.firstReceivedAt
        lastReceivedAt = signal.lastReceivedAt
        eventCount = signal.eventCount
        incidentId = signal.incidentID
    }
}

struct SignalListDTO: ResponseEncodable {
    var signals: [SignalDTO]
}

struct HoldInput: Decodable {
    var hold: Bool
}
