import BelayCore
import Foundation
import GRDB

extension AppDatabase: DetectStore {
    // MARK: Monitors

    public func monitors(_ query: MonitorQuery) async throws -> [Monitor] {
        try await read { db in
            var request = MonitorRecord.all()
            if let after = query.after { request = request.filter(Column("id") > after) }
            if let status = query.status { request = request.filter(Column("status") == status.rawValue) }
            if let kind = query.kind { request = request.filter(Column("kind") == kind.rawValue) }
            if let text = query.text, !text.isEmpty {
                let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
                request = request.filter(sql: "name LIKE ? ESCAPE '\\'", arguments: ["%\(escaped)%"])
            }
            return try request.order(Column("id")).limit(query.limit).fetchAll(db).map { try $0.domain() }
        }
    }

    public func monitorCount() async throws -> Int {
        try await read { db in try MonitorRecord.fetchCount(db) }
    }

    public func monitor(id: Int64) async throws -> Monitor? {
        try await read { db in try MonitorRecord.fetchOne(db, key: id)?.domain() }
    }

    public func scheduledMonitors() async throws -> [Monitor] {
        try await read { db in try MonitorRecord.filter(Column("isPaused") == false).order(Column("id")).fetchAll(db).map { try $0.domain() } }
    }

    public func createMonitor(_ monitor: Monitor) async throws -> Monitor {
        try await write { db in
            try monitor.validate(knownComponents: try Self.knownComponents(db))
            var record = MonitorRecord(monitor)
            try record.insert(db)
            return try record.domain()
        }
    }

    public func updateMonitor(id: Int64, _ change: @escaping @Sendable (inout Monitor) throws -> Void) async throws -> Monitor {
        try await write { db in
            guard var monitor = try MonitorRecord.fetchOne(db, key: id)?.domain() else { throw DomainError.notFound(what: "monitor", id: String(id)) }
            let before = monitor
            try change(&monitor)
            guard monitor.id == id, monitor.kind == before.kind else {
                throw DomainError.invalid(field: "kind", message: "a monitor's kind cannot change; create a new monitor")
            }
            try monitor.validate(knownComponents: try Self.knownComponents(db))
            try MonitorRecord(monitor).update(db)
            return monitor
        }
    }

    public func deleteMonitor(id: Int64) async throws {
        try await write { db in
            guard try MonitorRecord.deleteOne(db, key: id) else { throw DomainError.notFound(what: "monitor", id: String(id)) }
        }
    }

    public func recordHeartbeat(tokenHash: String, at now: Date) async throws -> Monitor {
        try await write { db in
            guard var record = try MonitorRecord.filter(Column("heartbeatTokenHash") == tokenHash).fetchOne(db) else {
                throw DomainError.notFound(what: "heartbeat", id: "with this token")
            }
            record.lastPingAt = now
            try record.update(db, columns: ["lastPingAt"])
            return try record.domain()
        }
    }

    public func recordChecks(_ checks: [MonitorCheck], policy: SignalPolicy, now: Date) async throws {
        guard !checks.isEmpty else { return }
        // Results alone change nothing people see at once; only a change of state signals listeners.
        let changed = try await quietWrite { db -> Bool in
            var stored: [CheckResult] = []
            stored.reserveCapacity(checks.count)
            let update = try db.makeStatement(sql: """
                UPDATE monitor SET status = ?, since = ?, lastCheckedAt = ?, lastOutcome = ?, lastMessage = ?, lastLatencyMs = ?,
                consecutiveFailures = ?, consecutiveSuccesses = ?, failingSince = ? WHERE id = ?
                """)
            let insert = try db.makeStatement(sql: "INSERT INTO check_result (monitorId, checkedAt, outcome, latencyMs, message) VALUES (?, ?, ?, ?, ?)")
            var transitions: [(Int64, MonitorStatus)] = []
            for check in checks {
                let s = check.state
                let id = check.result.monitorID
                try update.execute(arguments: [
                    s.status.rawValue, s.since.timeIntervalSince1970, s.lastCheckedAt?.timeIntervalSince1970, s.lastOutcome?.rawValue,
                    s.lastMessage, s.lastLatencyMs, s.consecutiveFailures, s.consecutiveSuccesses, s.failingSince?.timeIntervalSince1970, id,
                ])
                // A monitor deleted while its check ran leaves nothing behind.
                guard db.changesCount > 0 else { continue }
                let r = check.result
                try insert.execute(arguments: [id, r.checkedAt.timeIntervalSince1970, r.outcome.rawValue, r.latencyMs, r.message])
                stored.append(r)
                if let transition = check.transition { transitions.append((id, transition)) }
            }
            try Self.addRollups(CheckRollup.summarize(stored), db)
            for (id, status) in transitions {
                guard let monitor = try MonitorRecord.fetchOne(db, key: id)?.domain() else { continue }
                let event = monitor.signalEvent(for: status, at: now)
                _ = try Self.ingest(IngestBatch(origin: .source(monitor.source), events: [event]), policy: policy, now: now, db)
            }
            return !transitions.isEmpty
        }
        if changed { changes.signal() }
    }

    static func addRollups(_ rollups: [CheckRollup], _ db: Database) throws {
        guard !rollups.isEmpty else { return }
        let statement = try db.makeStatement(sql: """
            INSERT INTO check_rollup (monitorId, granularity, bucket, total, up, degraded, down, latencySumMs, latencyCount, latencyMaxMs)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (monitorId, granularity, bucket) DO UPDATE SET
              total = total + excluded.total, up = up + excluded.up, degraded = degraded + excluded.degraded, down = down + excluded.down,
              latencySumMs = latencySumMs + excluded.latencySumMs, latencyCount = latencyCount + excluded.latencyCount,
              latencyMaxMs = max(latencyMaxMs, excluded.latencyMaxMs)
            """)
        for r in rollups {
            try statement.execute(arguments: [
                r.monitorID, r.granularity.rawValue, r.bucket, r.total, r.up, r.degraded, r.down, r.latencySumMs, r.latencyCount, r.latencyMaxMs,
            ])
        }
    }

    public func results(monitorID: Int64, limit: Int) async throws -> [CheckResult] {
        try await read { db in
            try CheckResultRecord.filter(Column("monitorId") == monitorID).order(Column("checkedAt").desc).limit(limit).fetchAll(db).map { try $0.domain() }
        }
    }

    public func rollups(monitorIDs: [Int64], granularity: RollupGranularity, since: Date) async throws -> [CheckRollup] {
        guard !monitorIDs.isEmpty else { return [] }
        return try await read { db in
            try CheckRollupRecord
                .filter(monitorIDs.contains(Column("monitorId")) && Column("granularity") == granularity.rawValue
                    && Column("bucket") >= granularity.bucket(since))
                .order(Column("monitorId"), Column("bucket")).fetchAll(db).map { try $0.domain() }
        }
    }

    public func measuredDays(since: Date) async throws -> [String: [Int64: MeasuredDay]] {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT m.componentSlug AS slug, r.bucket AS bucket, SUM(r.total) AS checks, SUM(r.up + r.degraded) AS passed
                    FROM check_rollup r JOIN monitor m ON m.id = r.monitorId
                    WHERE r.granularity = 'day' AND r.bucket >= ? AND m.componentSlug IS NOT NULL
                    GROUP BY m.componentSlug, r.bucket
                    """, arguments: [RollupGranularity.day.bucket(since)])
            var result: [String: [Int64: MeasuredDay]] = [:]
            for row in rows {
                let slug: String = row["slug"]
                let bucket: Int64 = row["bucket"]
                result[slug, default: [:]][bucket] = MeasuredDay(checks: row["checks"], passed: row["passed"])
            }
            return result
        }
    }

    public func pruneResults(rawBefore: Date, minuteBefore: Date, hourBefore: Date) async throws -> Int {
        try await quietWrite { db in
            try db.execute(sql: "DELETE FROM check_result WHERE checkedAt < ?", arguments: [rawBefore.timeIntervalSince1970])
            var deleted = db.changesCount
            try db.execute(
                sql: "DELETE FROM check_rollup WHERE granularity = 'minute' AND bucket < ?", arguments: [Int64(minuteBefore.timeIntervalSince1970)])
            deleted += db.changesCount
            try db.execute(
                sql: "DELETE FROM check_rollup WHERE granularity = 'hour' AND bucket < ?", arguments: [Int64(hourBefore.timeIntervalSince1970)])
            return deleted + db.changesCount
        }
    }

    // MARK: Integrations

    public func integrations() async throws -> [Integration] {
        try await read { db in try IntegrationRecord.order(Column("id")).fetchAll(db).map { try $0.domain() } }
    }

    public func integration(keyHash: String) async throws -> Integration? {
        try await read { db in try IntegrationRecord.filter(Column("keyHash") == keyHash).fetchOne(db)?.domain() }
    }

    public func integration(id: Int64) async throws -> Integration? {
        try await read { db in try IntegrationRecord.fetchOne(db, key: id)?.domain() }
    }

    public func createIntegration(_ integration: Integration) async throws -> Integration {
        try await write { db in
            try integration.validate(knownComponents: try Self.knownComponents(db))
            var record = IntegrationRecord(integration)
            try record.insert(db)
            return try record.domain()
        }
    }

    public func updateIntegration(id: Int64, _ change: @escaping @Sendable (inout Integration) throws -> Void) async throws -> Integration {
        try await write { db in
            guard var integration = try IntegrationRecord.fetchOne(db, key: id)?.domain() else {
                throw DomainError.notFound(what: "integration", id: String(id))
            }
            try change(&integration)
            integration.id = id
            try integration.validate(knownComponents: try Self.knownComponents(db))
            try IntegrationRecord(integration).update(db)
            return integration
        }
    }

    public func deleteIntegration(id: Int64) async throws {
        try await write { db in
            guard try IntegrationRecord.deleteOne(db, key: id) else { throw DomainError.notFound(what: "integration", id: String(id)) }
        }
    }

    // MARK: Signals

    public func ingest(_ batches: [IngestBatch], policy: SignalPolicy, now: Date) async throws -> [Result<[SignalReceipt], DomainError>] {
        try await write { db in
            var results: [Result<[SignalReceipt], DomainError>] = []
            results.reserveCapacity(batches.count)
            for batch in batches {
                var receipts: [SignalReceipt] = []
                do {
                    try db.inSavepoint {
                        receipts = try Self.ingest(batch, policy: policy, now: now, db)
                        return .commit
                    }
                    results.append(.success(receipts))
                } catch let error as DomainError {
                    results.append(.failure(error))
                }
            }
            return results
        }
    }

    /// The state of one ingestion pass: open incidents loaded once and written once at the end.
    private struct IngestState {
        var open: [Int64: Incident]
        var entries: [Int64: [TimelineEntry]] = [:]
        var touched: Set<Int64> = []
        /// Incidents known to have a signal from this delivery's source (looked up only when needed).
        var fedBySource: [Int64: Bool] = [:]
        let known: Set<String>
    }

    static func ingest(_ batch: IngestBatch, policy: SignalPolicy, now: Date, _ db: Database) throws -> [SignalReceipt] {
        let source: SignalSource
        switch batch.origin {
        case .integrationKey(let hash):
            guard var record = try IntegrationRecord.filter(Column("keyHash") == hash).fetchOne(db), record.isEnabled else {
                throw DomainError.notFound(what: "integration", id: "with this key")
            }
            record.lastEventAt = now
            record.eventCount += batch.events.count
            try record.update(db, columns: ["lastEventAt", "eventCount"])
            source = try record.domain().source
        case .source(let given):
            source = given
        }
        let openRecords = try IncidentRecord.filter(Column("status") != IncidentStatus.resolved.rawValue).fetchAll(db)
        let open = try hydrate(openRecords, db)
        var state = IngestState(open: Dictionary(uniqueKeysWithValues: open.map { ($0.id, $0) }), known: try knownComponents(db))
        var receipts: [SignalReceipt] = []
        receipts.reserveCapacity(batch.events.count)
        // Rules matched before the transaction hold only while the routing is still the one they used.
        let decided = batch.routedWith == source.routing ? batch.matchedRules.flatMap { $0.count == batch.events.count ? $0 : nil } : nil
        var matcher = RuleMatcher(routing: source.routing)
        for (index, event) in batch.events.enumerated() {
            let rule = if let decided { decided[index] } else { matcher.matchingRule(for: event) }
            receipts.append(try ingest(event, source: source, matchedRule: rule, state: &state, policy: policy, now: now, db))
        }
        for id in state.touched {
            guard var incident = state.open[id] else { continue }
            try IncidentRecord(incident).update(db)
            _ = try saveChildren(of: &incident, entries: state.entries[id] ?? [], db)
        }
        return receipts
    }

    private static func ingest(
        _ event: SignalEvent, source: SignalSource, matchedRule: Int?, state: inout IngestState, policy: SignalPolicy, now: Date, _ db: Database
    ) throws -> SignalReceipt {
        // The hot path of ingestion: a cached statement, not a query built and compiled per alert.
        var existing = try SignalRecord.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM signal WHERE sourceKind = ? AND sourceId = ? AND dedupKey = ? AND status != 'resolved'"),
            arguments: [source.kind.rawValue, source.id, event.dedupKey])
        func touch(_ id: Int64, _ change: (inout Incident) throws -> [TimelineEntry]) throws {
            guard var incident = state.open[id] else { return }
            let entries = try change(&incident)
            state.open[id] = incident
            state.entries[id, default: []] += entries
            state.touched.insert(id)
        }
        switch event.action {
        case .trigger:
            if var record = existing {
                record.lastReceivedAt = now
                record.eventCount += 1
                try record.update(db, columns: ["lastReceivedAt", "eventCount"])
                return SignalReceipt(dedupKey: event.dedupKey, signalID: record.id, incidentID: record.incidentId, effect: .duplicate)
            }
            let route = source.routing.route(event, matchedRule: matchedRule, knownComponents: state.known)
            var signal = Signal(
                sourceKind: source.kind, sourceID: source.id, sourceName: source.name, dedupKey: event.dedupKey, status: .firing,
                summary: event.summary, severity: route.severity, source: event.source, components: route.components, labels: event.labels,
                links: event.links, details: event.details, startsAt: min(event.startsAt ?? now, now), firstReceivedAt: now, lastReceivedAt: now)
            // Decide the incident first, so the signal row is written once, already linked to it.
            let effect: SignalReceipt.Effect
            let incidentID: Int64
            let target = SignalLifecycle.incidentToJoin(
                components: route.components, source: source, openIncidents: Array(state.open.values),
                fedBySource: { id in
                    if let known = state.fedBySource[id] { return known }
                    let fed = (try? Bool.fetchOne(
                        db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM signal WHERE incidentId = ? AND sourceKind = ? AND sourceId = ?)"),
                        arguments: [id, source.kind.rawValue, source.id])) ?? false
                    state.fedBySource[id] = fed
                    return fed
                }, policy: policy, now: now)
            var opened: Incident?
            if let target {
                incidentID = target.id
                effect = .joinedIncident
            } else {
                var (incident, _) = Incident.open(from: signal, source: source, now: now)
                var incidentRecord = IncidentRecord(incident)
                try incidentRecord.insert(db)
                incident.id = incidentRecord.id!
                incidentID = incident.id
                _ = try saveChildren(of: &incident, entries: [], db)
                opened = incident
                effect = .openedIncident
            }
            signal.incidentID = incidentID
            var record = SignalRecord(signal)
            try record.insert(db)
            signal.id = record.id!
            if opened != nil {
                // The timeline names the signal, so its entries are made now that the signal has an id.
                let (incident, entries) = Incident.open(from: signal, source: source, now: now)
                var stored = incident
                stored.id = incidentID
                state.open[incidentID] = stored
                state.entries[incidentID] = entries
                state.touched.insert(incidentID)
            } else {
                try touch(incidentID) { try $0.join(signal, source: source, now: now) }
            }
            state.fedBySource[incidentID] = true
            return SignalReceipt(dedupKey: event.dedupKey, signalID: signal.id, incidentID: incidentID, effect: effect)

        case .acknowledge:
            guard var record = existing else {
                return SignalReceipt(dedupKey: event.dedupKey, signalID: nil, incidentID: nil, effect: .ignored)
            }
            guard record.status == SignalStatus.firing.rawValue else {
                return SignalReceipt(dedupKey: event.dedupKey, signalID: record.id, incidentID: record.incidentId, effect: .duplicate)
            }
            record.status = SignalStatus.acknowledged.rawValue
            record.lastReceivedAt = now
            record.eventCount += 1
            try record.update(db)
            let signal = try record.domain()
            if let id = record.incidentId { try touch(id) { $0.acknowledge(signal, source: source, now: now) } }
            return SignalReceipt(dedupKey: event.dedupKey, signalID: record.id, incidentID: record.incidentId, effect: .acknowledged)

        case .resolve:
            guard existing != nil else {
                return SignalReceipt(dedupKey: event.dedupKey, signalID: nil, incidentID: nil, effect: .ignored)
            }
            existing!.status = SignalStatus.resolved.rawValue
            existing!.endsAt = min(event.endsAt ?? now, now)
            existing!.lastReceivedAt = now
            existing!.eventCount += 1
            try existing!.update(db)
            let record = existing!
            let signal = try record.domain()
            if let id = record.incidentId {
                let remaining = try SignalRecord.filter(Column("incidentId") == id && Column("status") != SignalStatus.resolved.rawValue).fetchCount(db)
                if state.open[id] != nil {
                    try touch(id) { try $0.clear(signal, activeRemaining: remaining, source: source, now: now) }
                } else {
                    // A resolved incident still records that its alert cleared.
                    var entry = SignalLifecycle.clearedEntry(signal, source: source, now: now)
                    entry.incidentID = id
                    var entryRecord = TimelineEntryRecord(entry, incidentId: id)
                    try entryRecord.insert(db)
                }
            }
            return SignalReceipt(dedupKey: event.dedupKey, signalID: record.id, incidentID: record.incidentId, effect: .resolved)
        }
    }

    public func signals(_ query: SignalQuery) async throws -> [Signal] {
        try await read { db in
            var request = SignalRecord.all()
            if let status = query.status { request = request.filter(Column("status") == status.rawValue) }
            if let id = query.incidentID { request = request.filter(Column("incidentId") == id) }
            return try request.order(Column("id").desc).limit(query.limit).fetchAll(db).map { try $0.domain() }
        }
    }

    public func autoResolveIncidents(policy: SignalPolicy, now: Date) async throws -> [Int64] {
        let cutoff = now.addingTimeInterval(-policy.quietPeriod).timeIntervalSince1970
        let candidates = try await read { db in
            try Int64.fetchAll(
                db,
                sql: "SELECT id FROM incident WHERE status = 'monitoring' AND autoResolve = 1 AND holdOpen = 0 AND signalsClearedAt <= ?",
                arguments: [cutoff])
        }
        guard !candidates.isEmpty else { return [] }
        return try await write { db in
            var resolved: [Int64] = []
            for id in candidates {
                guard var incident = try Self.fetchIncident(id, db), incident.dueForAutoResolve(policy: policy, now: now) else { continue }
                let entries = try incident.autoResolve(policy: policy, now: now)
                try IncidentRecord(incident).update(db)
                _ = try Self.saveChildren(of: &incident, entries: entries, db)
                resolved.append(id)
            }
            return resolved
        }
    }
}
