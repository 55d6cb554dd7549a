import BelayCore
import Foundation
import GRDB

struct MonitorRecord: IdentifiedRecord {
    static let databaseTableName = "monitor"
    var id: Int64?
    var name: String
    var kind: String
    var settings: MonitorSettings
    var intervalSeconds: Int
    var timeoutSeconds: Int
    var failureThreshold: Int
    var successThreshold: Int
    var componentSlug: String?
    var severity: String
    var isPaused: Bool
    var heartbeatTokenHash: String?
    var status: String
    var since: Date
    var lastCheckedAt: Date?
    var lastOutcome: String?
    var lastMessage: String?
    var lastLatencyMs: Double?
    var consecutiveFailures: Int
    var consecutiveSuccesses: Int
    var lastPingAt: Date?
    var failingSince: Date?
    var configurationProblem: String?
    var createdAt: Date
    var updatedAt: Date

    init(_ value: Monitor) {
        id = value.id == 0 ? nil : value.id
        name = value.name
        kind = value.kind.rawValue
        settings = value.settings
        intervalSeconds = value.intervalSeconds
        timeoutSeconds = value.timeoutSeconds
        failureThreshold = value.failureThreshold
        successThreshold = value.successThreshold
        componentSlug = value.component
        severity = value.severity.rawValue
        isPaused = value.isPaused
        heartbeatTokenHash = value.heartbeatTokenHash
        status = value.state.status.rawValue
        since = value.state.since
        lastCheckedAt = value.state.lastCheckedAt
        lastOutcome = value.state.lastOutcome?.rawValue
        lastMessage = value.state.lastMessage
        lastLatencyMs = value.state.lastLatencyMs
        consecutiveFailures = value.state.consecutiveFailures
        consecutiveSuccesses = value.state.consecutiveSuccesses
        lastPingAt = value.state.lastPingAt
        failingSince = value.state.failingSince
        configurationProblem = value.state.configurationProblem
        createdAt = value.createdAt
        updatedAt = value.updatedAt
    }

    func domain() throws -> Monitor {
        var state = MonitorState(
            status: try decode(MonitorStatus.self, status), since: since, lastCheckedAt: lastCheckedAt,
            lastOutcome: try lastOutcome.map { try decode(CheckOutcome.self, $0) }, lastMessage: lastMessage, lastLatencyMs: lastLatencyMs,
            consecutiveFailures: consecutiveFailures, consecutiveSuccesses: consecutiveSuccesses, lastPingAt: lastPingAt)
        state.failingSince = failingSince
        state.configurationProblem = configurationProblem
        return Monitor(
            id: id ?? 0, name: name, kind: try decode(MonitorKind.self, kind), settings: settings, intervalSeconds: intervalSeconds,
            timeoutSeconds: timeoutSeconds, failureThreshold: failureThreshold, successThreshold: successThreshold, component: componentSlug,
            severity: try decode(Severity.self, severity), isPaused: isPaused, heartbeatTokenHash: heartbeatTokenHash, state: state,
            createdAt: createdAt, updatedAt: updatedAt)
    }
}

struct CheckResultRecord: BelayRecord {
    static let databaseTableName = "check_result"
    var monitorId: Int64
    var checkedAt: Date
    var outcome: String
    var latencyMs: Double?
    var message: String

    init(_ value: CheckResult) {
        monitorId = value.monitorID
        checkedAt = value.checkedAt
        outcome = value.outcome.rawValue
        latencyMs = value.latencyMs
        message = value.message
    }

    func domain() throws -> CheckResult {
        CheckResult(monitorID: monitorId, checkedAt: checkedAt, outcome: try decode(CheckOutcome.self, outcome), latencyMs: latencyMs, message: message)
    }
}

struct CheckRollupRecord: BelayRecord {
    static let databaseTableName = "check_rollup"
    var monitorId: Int64
    var granularity: String
    var bucket: Int64
    var total: Int
    var up: Int
    var degraded: Int
    var down: Int
    var latencySumMs: Double
    var latencyCount: Int
    var latencyMaxMs: Double

    func domain() throws -> CheckRollup {
        CheckRollup(
            monitorID: monitorId, granularity: try decode(RollupGranularity.self, granularity), bucket: bucket, total: total, up: up,
            degraded: degraded, down: down, latencySumMs: latencySumMs, latencyCount: latencyCount, latencyMaxMs: latencyMaxMs)
    }
}

struct IntegrationRecord: IdentifiedRecord {
    static let databaseTableName = "integration"
    var id: Int64?
    var name: String
    var kind: String
    var keyHash: String
    var keyHint: String
    var routing: Routing
    var publicIncidents: Bool
    var isEnabled: Bool
    var createdAt: Date
    var updatedAt: Date
    var lastEventAt: Date?
    var eventCount: Int

    init(_ value: Integration) {
        id = value.id == 0 ? nil : value.id
        name = value.name
        kind = value.kind.rawValue
        keyHash = value.keyHash
        keyHint = value.keyHint
        routing = value.routing
        publicIncidents = value.publicIncidents
        isEnabled = value.isEnabled
        createdAt = value.createdAt
        updatedAt = value.updatedAt
        lastEventAt = value.lastEventAt
        eventCount = value.eventCount
    }

    func domain() throws -> Integration {
        Integration(
            id: id ?? 0, name: name, kind: try decode(IntegrationKind.self, kind), keyHash: keyHash, keyHint: keyHint, routing: routing,
            publicIncidents: publicIncidents, isEnabled: isEnabled, createdAt: createdAt, updatedAt: updatedAt, lastEventAt: lastEventAt,
            eventCount: eventCount)
    }
}

struct SignalRecord: IdentifiedRecord {
    static let databaseTableName = "signal"
    var id: Int64?
    var sourceKind: String
    var sourceId: Int64
    var sourceName: String
    var dedupKey: String
    var status: String
    var summary: String
    var severity: String
    var source: String?
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

    init(_ value: Signal) {
        id = value.id == 0 ? nil : value.id
        sourceKind = value.sourceKind.rawValue
        sourceId = value.sourceID
        sourceName = value.sourceName
        dedupKey = value.dedupKey
        status = value.status.rawValue
        summary = value.summary
        severity = value.severity.rawValue
        source = value.source
        components = value.components
        labels = value.labels
        links = value.links
        details = value.details
        startsAt = value.startsAt
        endsAt = value.endsAt
        firstReceivedAt = value.firstReceivedAt
        lastReceivedAt = value.lastReceivedAt
        eventCount = value.eventCount
        incidentId = value.incidentID
    }

    func domain() throws -> Signal {
        Signal(
            id: id ?? 0, sourceKind: try decode(SignalSourceKind.self, sourceKind), sourceID: sourceId, sourceName: sourceName, dedupKey: dedupKey,
            status: try decode(SignalStatus.self, status), summary: summary, severity: try decode(Severity.self, severity), source: source,
            components: components, labels: labels, links: links, details: details, startsAt: startsAt, endsAt: endsAt,
            firstReceivedAt: firstReceivedAt, lastReceivedAt: lastReceivedAt, eventCount: eventCount, incidentID: incidentId)
    }
}
