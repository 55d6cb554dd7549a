import BelayCore
import Foundation
import Logging
import PostgresNIO

/// Monitors, their results and rollups: AppDatabase+Detect.swift's monitor half, statement for statement,
/// with the per-check loops of `recordChecks` made multi-row writes.
extension PostgresStore {
    public func monitors(_ query: MonitorQuery) async throws -> [Monitor] {
        let logger = logger
        let status = query.status?.rawValue
        let kind = query.kind?.rawValue
        let pattern = query.text.flatMap { $0.isEmpty ? nil : "%" + Self.likeEscaped($0) + "%" }
        // SQLite takes a negative limit as none; so does LIMIT NULL.
        let limit: Int? = query.limit < 0 ? nil : query.limit
        let after = query.after
        return try await read { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: DetectRows.monitorColumns) FROM monitor
                WHERE (\(after)::BIGINT IS NULL OR id > \(after)) AND (\(status)::TEXT IS NULL OR status = \(status))
                  AND (\(kind)::TEXT IS NULL OR kind = \(kind)) AND (\(pattern)::TEXT IS NULL OR name ILIKE \(pattern) ESCAPE '\\')
                ORDER BY id LIMIT \(limit)::BIGINT
                """, logger: logger)
            var monitors: [Monitor] = []
            for try await row in rows { monitors.append(try DetectRows.monitor(row)) }
            return monitors
        }
    }

    /// `text` matched literally by LIKE: its own wildcards and the escape character escaped.
    static func likeEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }

    public func monitorCount() async throws -> Int {
        let logger = logger
        return try await read { connection in
            var count = 0
            for try await value in try await connection.query("SELECT COUNT(*) FROM monitor", logger: logger).decode(Int.self) { count = value }
            return count
        }
    }

    public func monitor(id: Int64) async throws -> Monitor? {
        let logger = logger
        return try await read { connection in try await Self.fetchMonitor(id, connection, logger: logger) }
    }

    static func fetchMonitor(_ id: Int64, _ connection: PostgresConnection, logger: Logger) async throws -> Monitor? {
        let rows = try await connection.query("SELECT \(unescaped: DetectRows.monitorColumns) FROM monitor WHERE id = \(id)", logger: logger)
        for try await row in rows { return try DetectRows.monitor(row) }
        return nil
    }

    public func scheduledMonitors() async throws -> [Monitor] {
        let logger = logger
        return try await read { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: DetectRows.monitorColumns) FROM monitor WHERE NOT isPaused ORDER BY id", logger: logger)
            var monitors: [Monitor] = []
            for try await row in rows { monitors.append(try DetectRows.monitor(row)) }
            return monitors
        }
    }

    public func createMonitor(_ monitor: Monitor) async throws -> Monitor {
        let logger = logger
        return try await write { connection in
            try monitor.validate(knownComponents: try await Self.knownComponents(connection, logger: logger))
            var stored = monitor
            stored.id = try await Self.insertMonitor(monitor, connection, logger: logger)
            return Written(stored, [.monitorCreated(id: stored.id)])
        }
    }

    /// Inserts `monitor` and returns its id. The database always hands out the id (as SQLite does for id 0),
    /// so an id given here can never collide with the identity's later ones.
    static func insertMonitor(_ monitor: Monitor, _ connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        let s = monitor.state
        let settings = try DetectRows.json(monitor.settings)
        let rows = try await connection.query(
            """
            INSERT INTO monitor (name, kind, settings, intervalSeconds, timeoutSeconds, failureThreshold, successThreshold, componentSlug, severity,
              isPaused, heartbeatTokenHash, status, since, lastCheckedAt, lastOutcome, lastMessage, lastLatencyMs, consecutiveFailures,
              consecutiveSuccesses, lastPingAt, failingSince, configurationProblem, createdAt, updatedAt)
            VALUES (\(monitor.name), \(monitor.kind.rawValue), \(settings), \(monitor.intervalSeconds), \(monitor.timeoutSeconds),
              \(monitor.failureThreshold), \(monitor.successThreshold), \(monitor.component), \(monitor.severity.rawValue), \(monitor.isPaused),
              \(monitor.heartbeatTokenHash), \(s.status.rawValue), \(s.since.timeIntervalSince1970), \(s.lastCheckedAt?.timeIntervalSince1970),
              \(s.lastOutcome?.rawValue), \(s.lastMessage), \(s.lastLatencyMs), \(s.consecutiveFailures), \(s.consecutiveSuccesses),
              \(s.lastPingAt?.timeIntervalSince1970), \(s.failingSince?.timeIntervalSince1970), \(s.configurationProblem),
              \(monitor.createdAt.timeIntervalSince1970), \(monitor.updatedAt.timeIntervalSince1970))
            RETURNING id
            """, logger: logger)
        for try await id in rows.decode(Int64.self) { return id }
        throw DomainError.invalid(field: "monitor", message: "was not stored")
    }

    public func updateMonitor(id: Int64, _ change: @escaping @Sendable (inout Monitor) throws -> Void) async throws -> Monitor {
        let logger = logger
        return try await write { connection in
            guard var monitor = try await Self.fetchMonitor(id, connection, logger: logger) else {
                throw DomainError.notFound(what: "monitor", id: String(id))
            }
            let before = monitor
            try change(&monitor)
            try monitor.checkEdit(of: before)
            try monitor.validate(knownComponents: try await Self.knownComponents(connection, logger: logger))
            let s = monitor.state
            let settings = try DetectRows.json(monitor.settings)
            try await connection.query(
                """
                UPDATE monitor SET name = \(monitor.name), kind = \(monitor.kind.rawValue), settings = \(settings),
                  intervalSeconds = \(monitor.intervalSeconds), timeoutSeconds = \(monitor.timeoutSeconds),
                  failureThreshold = \(monitor.failureThreshold), successThreshold = \(monitor.successThreshold),
                  componentSlug = \(monitor.component), severity = \(monitor.severity.rawValue), isPaused = \(monitor.isPaused),
                  heartbeatTokenHash = \(monitor.heartbeatTokenHash), status = \(s.status.rawValue), since = \(s.since.timeIntervalSince1970),
                  lastCheckedAt = \(s.lastCheckedAt?.timeIntervalSince1970), lastOutcome = \(s.lastOutcome?.rawValue),
                  lastMessage = \(s.lastMessage), lastLatencyMs = \(s.lastLatencyMs), consecutiveFailures = \(s.consecutiveFailures),
                  consecutiveSuccesses = \(s.consecutiveSuccesses), lastPingAt = \(s.lastPingAt?.timeIntervalSince1970),
                  failingSince = \(s.failingSince?.timeIntervalSince1970), configurationProblem = \(s.configurationProblem),
                  createdAt = \(monitor.createdAt.timeIntervalSince1970), updatedAt = \(monitor.updatedAt.timeIntervalSince1970)
                WHERE id = \(id)
                """, logger: logger)
            return Written(monitor, [.monitorUpdated(id: id)])
        }
    }

    public func deleteMonitor(id: Int64) async throws {
        let logger = logger
        try await write { connection in
            let rows = try await connection.query("DELETE FROM monitor WHERE id = \(id) RETURNING id", logger: logger)
            var deleted = false
            for try await _ in rows.decode(Int64.self) { deleted = true }
            guard deleted else { throw DomainError.notFound(what: "monitor", id: String(id)) }
            return Written([.monitorDeleted(id: id)])
        }
    }

    public func recordHeartbeat(tokenHash: String, at now: Date) async throws -> Monitor {
        // A ping is a check result, not a transition; the scheduler's next check turns it into state.
        let logger = logger
        return try await quietWrite { connection in
            let rows = try await connection.query(
                """
                UPDATE monitor SET lastPingAt = \(now.timeIntervalSince1970) WHERE heartbeatTokenHash = \(tokenHash)
                RETURNING \(unescaped: DetectRows.monitorColumns)
                """, logger: logger)
            for try await row in rows { return try DetectRows.monitor(row) }
            throw DomainError.notFound(what: "heartbeat", id: "with this token")
        }
    }

    public func recordChecks(_ checks: [MonitorCheck], policy: SignalPolicy, now: Date) async throws {
        guard !checks.isEmpty else { return }
        let logger = logger
        // Results alone are not events; a change of a monitor's state is, with the signal it raises.
        try await write { connection -> Written<Void> in
            // The statuses as they stand, then as each check leaves them: what SQLite reads before each update.
            var statuses: [Int64: String] = [:]
            let ids = Array(Set(checks.map(\.monitorID)))
            for try await (id, status) in try await connection.query(
                "SELECT id, status FROM monitor WHERE id = ANY(\(ids))", logger: logger
            ).decode((Int64, String).self) {
                statuses[id] = status
            }
            var states: [Int64: MonitorState] = [:]
            var stored: [CheckResult] = []
            stored.reserveCapacity(checks.count)
            var transitions: [(id: Int64, from: MonitorStatus?, to: MonitorStatus)] = []
            for check in checks {
                let id = check.monitorID
                // A monitor deleted while its check ran leaves nothing behind.
                guard let previous = statuses[id] else { continue }
                statuses[id] = check.state.status.rawValue
                states[id] = check.state
                guard let r = check.result else { continue }
                stored.append(r)
                if let transition = check.transition {
                    transitions.append((id, MonitorStatus(rawValue: previous), transition))
                }
            }
            try await Self.saveStates(states, connection, logger: logger)
            try await Self.insertResults(stored, connection, logger: logger)
            try await Self.addRollups(CheckRollup.summarize(stored), connection, logger: logger)
            var groups: [EventGroup] = []
            // Read once, when some monitor changed state, for all of them.
            var reads: IngestReads?
            for (id, from, status) in transitions {
                guard let monitor = try await Self.fetchMonitor(id, connection, logger: logger) else { continue }
                // The monitor itself changed state: it is the actor, like the signal it raises.
                if let from, from != status {
                    groups.append(EventGroup(actor: Actor(monitor.source), events: [.monitorStatusChanged(id: id, from: from, to: status)]))
                }
                let event = monitor.signalEvent(for: status, at: now)
                var current = if let reads { reads } else { try await IngestReads(connection, logger: logger) }
                let outcome = try await Self.ingest(
                    IngestBatch(origin: .source(monitor.source), events: [event]), policy: policy, now: now, reads: &current, connection, logger: logger)
                reads = current
                groups.append(EventGroup(actor: outcome.actor, events: outcome.events))
            }
            return Written((), groups: groups)
        }
    }

    /// One monitor's state as a row of `json_to_recordset`.
    private struct StateRow: Encodable {
        var id: Int64
        var status: String
        var since: Double
        var lastCheckedAt: Double?
        var lastOutcome: String?
        var lastMessage: String?
        var lastLatencyMs: Double?
        var consecutiveFailures: Int
        var consecutiveSuccesses: Int
        var failingSince: Double?
        var configurationProblem: String?
    }

    /// Saves each monitor's latest state in one statement.
    static func saveStates(_ states: [Int64: MonitorState], _ connection: PostgresConnection, logger: Logger) async throws {
        guard !states.isEmpty else { return }
        let rows = try DetectRows.recordset(
            states.map { id, s in
                StateRow(
                    id: id, status: s.status.rawValue, since: s.since.timeIntervalSince1970, lastCheckedAt: s.lastCheckedAt?.timeIntervalSince1970,
                    lastOutcome: s.lastOutcome?.rawValue, lastMessage: s.lastMessage, lastLatencyMs: s.lastLatencyMs,
                    consecutiveFailures: s.consecutiveFailures, consecutiveSuccesses: s.consecutiveSuccesses,
                    failingSince: s.failingSince?.timeIntervalSince1970, configurationProblem: s.configurationProblem)
            })
        try await connection.query(
            """
            UPDATE monitor m SET status = s.status, since = s.since, lastCheckedAt = s.lastCheckedAt, lastOutcome = s.lastOutcome,
              lastMessage = s.lastMessage, lastLatencyMs = s.lastLatencyMs, consecutiveFailures = s.consecutiveFailures,
              consecutiveSuccesses = s.consecutiveSuccesses, failingSince = s.failingSince, configurationProblem = s.configurationProblem
            FROM json_to_recordset(\(rows)::json) AS s(id BIGINT, status TEXT, since DOUBLE PRECISION, lastCheckedAt DOUBLE PRECISION,
              lastOutcome TEXT, lastMessage TEXT, lastLatencyMs DOUBLE PRECISION, consecutiveFailures BIGINT, consecutiveSuccesses BIGINT,
              failingSince DOUBLE PRECISION, configurationProblem TEXT)
            WHERE m.id = s.id
            """, logger: logger)
    }

    private struct ResultRow: Encodable {
        var monitorId: Int64
        var checkedAt: Double
        var outcome: String
        var latencyMs: Double?
        var message: String
    }

    static func insertResults(_ results: [CheckResult], _ connection: PostgresConnection, logger: Logger) async throws {
        guard !results.isEmpty else { return }
        let rows = try DetectRows.recordset(
            results.map {
                ResultRow(monitorId: $0.monitorID, checkedAt: $0.checkedAt.timeIntervalSince1970, outcome: $0.outcome.rawValue, latencyMs: $0.latencyMs, message: $0.message)
            })
        try await connection.query(
            """
            INSERT INTO check_result (monitorId, checkedAt, outcome, latencyMs, message)
            SELECT monitorId, checkedAt, outcome, latencyMs, message
            FROM json_to_recordset(\(rows)::json) AS r(monitorId BIGINT, checkedAt DOUBLE PRECISION, outcome TEXT, latencyMs DOUBLE PRECISION, message TEXT)
            """, logger: logger)
    }

    private struct RollupRow: Encodable {
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
    }

    /// Adds `rollups` to the stored sums (one row per monitor, granularity and bucket, as `summarize` makes them).
    static func addRollups(_ rollups: [CheckRollup], _ connection: PostgresConnection, logger: Logger) async throws {
        guard !rollups.isEmpty else { return }
        let rows = try DetectRows.recordset(
            rollups.map {
                RollupRow(
                    monitorId: $0.monitorID, granularity: $0.granularity.rawValue, bucket: $0.bucket, total: $0.total, up: $0.up, degraded: $0.degraded,
                    down: $0.down, latencySumMs: $0.latencySumMs, latencyCount: $0.latencyCount, latencyMaxMs: $0.latencyMaxMs)
            })
        try await connection.query(
            """
            INSERT INTO check_rollup AS c (monitorId, granularity, bucket, total, up, degraded, down, latencySumMs, latencyCount, latencyMaxMs)
            SELECT monitorId, granularity, bucket, total, up, degraded, down, latencySumMs, latencyCount, latencyMaxMs
            FROM json_to_recordset(\(rows)::json) AS r(monitorId BIGINT, granularity TEXT, bucket BIGINT, total BIGINT, up BIGINT, degraded BIGINT,
              down BIGINT, latencySumMs DOUBLE PRECISION, latencyCount BIGINT, latencyMaxMs DOUBLE PRECISION)
            ON CONFLICT (monitorId, granularity, bucket) DO UPDATE SET
              total = c.total + excluded.total, up = c.up + excluded.up, degraded = c.degraded + excluded.degraded, down = c.down + excluded.down,
              latencySumMs = c.latencySumMs + excluded.latencySumMs, latencyCount = c.latencyCount + excluded.latencyCount,
              latencyMaxMs = GREATEST(c.latencyMaxMs, excluded.latencyMaxMs)
            """, logger: logger)
    }

    public func results(monitorID: Int64, limit: Int) async throws -> [CheckResult] {
        let logger = logger
        let limit: Int? = limit < 0 ? nil : limit
        return try await read { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: DetectRows.resultColumns) FROM check_result WHERE monitorId = \(monitorID)
                ORDER BY checkedAt DESC LIMIT \(limit)::BIGINT
                """, logger: logger)
            var results: [CheckResult] = []
            for try await row in rows { results.append(try DetectRows.result(row)) }
            return results
        }
    }

    public func rollups(monitorIDs: [Int64], granularity: RollupGranularity, since: Date) async throws -> [CheckRollup] {
        guard !monitorIDs.isEmpty else { return [] }
        let logger = logger
        let bucket = granularity.bucket(since)
        return try await read { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: DetectRows.rollupColumns) FROM check_rollup
                WHERE monitorId = ANY(\(monitorIDs)) AND granularity = \(granularity.rawValue) AND bucket >= \(bucket)
                ORDER BY monitorId, bucket
                """, logger: logger)
            var rollups: [CheckRollup] = []
            for try await row in rows { rollups.append(try DetectRows.rollup(row)) }
            return rollups
        }
    }

    public func measuredDays(since: Date) async throws -> [String: [Int64: MeasuredDay]] {
        let logger = logger
        let bucket = RollupGranularity.day.bucket(since)
        return try await read { connection in
            let rows = try await connection.query(
                """
                SELECT m.componentSlug, r.bucket, SUM(r.total)::BIGINT, SUM(r.up + r.degraded)::BIGINT
                FROM check_rollup r JOIN monitor m ON m.id = r.monitorId
                WHERE r.granularity = 'day' AND r.bucket >= \(bucket) AND m.componentSlug IS NOT NULL
                GROUP BY m.componentSlug, r.bucket
                """, logger: logger)
            var result: [String: [Int64: MeasuredDay]] = [:]
            for try await (slug, bucket, checks, passed) in rows.decode((String, Int64, Int, Int).self) {
                result[slug, default: [:]][bucket] = MeasuredDay(checks: checks, passed: passed)
            }
            return result
        }
    }

    public func pruneResults(rawBefore: Date, minuteBefore: Date, hourBefore: Date) async throws -> Int {
        let logger = logger
        return try await quietWrite { connection in
            let rows = try await connection.query(
                """
                WITH raw AS (DELETE FROM check_result WHERE checkedAt < \(rawBefore.timeIntervalSince1970) RETURNING 1),
                  minute AS (DELETE FROM check_rollup WHERE granularity = 'minute' AND bucket < \(Int64(minuteBefore.timeIntervalSince1970)) RETURNING 1),
                  hour AS (DELETE FROM check_rollup WHERE granularity = 'hour' AND bucket < \(Int64(hourBefore.timeIntervalSince1970)) RETURNING 1)
                SELECT (SELECT COUNT(*) FROM raw) + (SELECT COUNT(*) FROM minute) + (SELECT COUNT(*) FROM hour)
                """, logger: logger)
            var deleted = 0
            for try await count in rows.decode(Int.self) { deleted = count }
            return deleted
        }
    }
}
