import BelayCore
import Foundation
import PostgresNIO

/// Row mapping for monitors, results, rollups, integrations and signals: the same columns as SQLite's
/// records (Records+Detect.swift), JSON columns encoded as SQLite's `JSONColumn` does.
enum DetectRows {
    static let monitorColumns = """
        id, name, kind, settings, intervalSeconds, timeoutSeconds, failureThreshold, successThreshold, componentSlug, severity, isPaused,
        heartbeatTokenHash, status, since, lastCheckedAt, lastOutcome, lastMessage, lastLatencyMs, consecutiveFailures, consecutiveSuccesses,
        lastPingAt, failingSince, configurationProblem, createdAt, updatedAt
        """

    static func monitor(_ row: PostgresRow) throws -> Monitor {
        let (
            id, name, kind, settings, intervalSeconds, timeoutSeconds, failureThreshold, successThreshold, componentSlug, severity, isPaused,
            heartbeatTokenHash, status, since, lastCheckedAt, lastOutcome, lastMessage, lastLatencyMs, consecutiveFailures, consecutiveSuccesses,
            lastPingAt, failingSince, configurationProblem, createdAt, updatedAt
        ) = try row.decode(
            (
                Int64, String, String, String, Int, Int, Int, Int, String?, String, Bool, String?, String, Double, Double?, String?, String?,
                Double?, Int, Int, Double?, Double?, String?, Double, Double
            ).self)
        var state = MonitorState(
            status: try value(MonitorStatus.self, status, column: "monitor.status"), since: date(since), lastCheckedAt: lastCheckedAt.map(date),
            lastOutcome: try lastOutcome.map { try value(CheckOutcome.self, $0, column: "monitor.lastOutcome") }, lastMessage: lastMessage,
            lastLatencyMs: lastLatencyMs, consecutiveFailures: consecutiveFailures, consecutiveSuccesses: consecutiveSuccesses,
            lastPingAt: lastPingAt.map(date))
        state.failingSince = failingSince.map(date)
        state.configurationProblem = configurationProblem
        return Monitor(
            id: id, name: name, kind: try value(MonitorKind.self, kind, column: "monitor.kind"), settings: try json(MonitorSettings.self, settings),
            intervalSeconds: intervalSeconds, timeoutSeconds: timeoutSeconds, failureThreshold: failureThreshold,
            successThreshold: successThreshold, component: componentSlug, severity: try value(Severity.self, severity, column: "monitor.severity"),
            isPaused: isPaused, heartbeatTokenHash: heartbeatTokenHash, state: state, createdAt: date(createdAt), updatedAt: date(updatedAt))
    }

    static let resultColumns = "monitorId, checkedAt, outcome, latencyMs, message"

    static func result(_ row: PostgresRow) throws -> CheckResult {
        let (monitorID, checkedAt, outcome, latencyMs, message) = try row.decode((Int64, Double, String, Double?, String).self)
        return CheckResult(
            monitorID: monitorID, checkedAt: date(checkedAt), outcome: try value(CheckOutcome.self, outcome, column: "check_result.outcome"),
            latencyMs: latencyMs, message: message)
    }

    static let rollupColumns = "monitorId, granularity, bucket, total, up, degraded, down, latencySumMs, latencyCount, latencyMaxMs"

    static func rollup(_ row: PostgresRow) throws -> CheckRollup {
        let (monitorID, granularity, bucket, total, up, degraded, down, latencySumMs, latencyCount, latencyMaxMs) = try row.decode(
            (Int64, String, Int64, Int, Int, Int, Int, Double, Int, Double).self)
        return CheckRollup(
            monitorID: monitorID, granularity: try value(RollupGranularity.self, granularity, column: "check_rollup.granularity"), bucket: bucket,
            total: total, up: up, degraded: degraded, down: down, latencySumMs: latencySumMs, latencyCount: latencyCount, latencyMaxMs: latencyMaxMs)
    }

    static let integrationColumns = "id, name, kind, keyHash, keyHint, routing, publicIncidents, isEnabled, createdAt, updatedAt, lastEventAt, eventCount"

    static func integration(_ row: PostgresRow) throws -> Integration {
        let (id, name, kind, keyHash, keyHint, routing, publicIncidents, isEnabled, createdAt, updatedAt, lastEventAt, eventCount) = try row.decode(
            (Int64, String, String, String, String, String, Bool, Bool, Double, Double, Double?, Int).self)
        return Integration(
            id: id, name: name, kind: try value(IntegrationKind.self, kind, column: "integration.kind"), keyHash: keyHash, keyHint: keyHint,
            routing: try json(Routing.self, routing), publicIncidents: publicIncidents, isEnabled: isEnabled, createdAt: date(createdAt),
            updatedAt: date(updatedAt), lastEventAt: lastEventAt.map(date), eventCount: eventCount)
    }

    static let signalColumns = """
        id, sourceKind, sourceId, sourceName, dedupKey, status, summary, severity, source, components, labels, links, details, startsAt, endsAt,
        firstReceivedAt, lastReceivedAt, eventCount, incidentId
        """

    static func signal(_ row: PostgresRow) throws -> Signal {
        let (
            id, sourceKind, sourceID, sourceName, dedupKey, status, summary, severity, source, components, labels, links, details, startsAt, endsAt,
            firstReceivedAt, lastReceivedAt, eventCount, incidentID
        ) = try row.decode(
            (
                Int64, String, Int64, String, String, String, String, String, String?, String, String, String, String?, Double, Double?, Double,
                Double, Int, Int64?
            ).self)
        return Signal(
            id: id, sourceKind: try value(SignalSourceKind.self, sourceKind, column: "signal.sourceKind"), sourceID: sourceID, sourceName: sourceName,
            dedupKey: dedupKey, status: try value(SignalStatus.self, status, column: "signal.status"), summary: summary,
            severity: try value(Severity.self, severity, column: "signal.severity"), source: source, components: try json([String].self, components),
            labels: try json([String: String].self, labels), links: try json([SignalLink].self, links), details: details, startsAt: date(startsAt),
            endsAt: endsAt.map(date), firstReceivedAt: date(firstReceivedAt), lastReceivedAt: date(lastReceivedAt), eventCount: eventCount,
            incidentID: incidentID)
    }

    static func value<T: RawRepresentable>(_ type: T.Type, _ raw: String, column: String) throws -> T where T.RawValue == String {
        guard let value = T(rawValue: raw) else { throw StoredValueInvalid(column: column, value: raw) }
        return value
    }

    static func date(_ seconds: Double) -> Date { Date(timeIntervalSince1970: seconds) }

    static func json<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try EventCoding.decoder.decode(type, from: Data(text.utf8))
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try EventCoding.encoder.encode(value), as: UTF8.self)
    }

    /// Rows as one JSON array, for multi-row writes through `json_to_recordset`: one parameter however many
    /// rows, with NULLs (which postgres-nio's arrays cannot carry).
    static func recordset<T: Encodable>(_ rows: [T]) throws -> String {
        String(decoding: try recordsetEncoder.encode(rows), as: UTF8.self)
    }

    /// Plain numbers (seconds as Doubles, which PostgreSQL reads back exactly); keys in lower case, as
    /// PostgreSQL folds the unquoted column names of `AS rows(monitorId BIGINT, ...)` that it matches them to.
    static let recordsetEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .custom { path in LowercasedKey(path.last?.stringValue.lowercased() ?? "") }
        return encoder
    }()

    private struct LowercasedKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
