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
            let stored = try record.domain()
            return Written(stored, [.monitorCreated(id: stored.id)])
        }
    }

    public func updateMonitor(id: Int64, _ change: @escaping @Sendable (inout Monitor) throws -> Void) async throws -> Monitor {
        try await write { db in
            guard var monitor = try MonitorRecord.fetchOne(db, key: id)?.domain() else { throw DomainError.notFound(what: "monitor", id: String(id)) }
            let before = monitor
            try change(&monitor)
            try monitor.checkEdit(of: before)
            try monitor.validate(knownComponents: try Self.knownComponents(db))
            try MonitorRecord(monitor).update(db)
            return Written(monitor, [.monitorUpdated(id: id)])
        }
    }

    public func deleteMonitor(id: Int64) async throws {
        try await write { db in
            guard try MonitorRecord.deleteOne(db, key: id) else { throw DomainError.notFound(what: "monitor", id: String(id)) }
            return Written([.monitorDeleted(id: id)])
        }
    }

    public func recordHeartbeat(tokenHash: String, at now: Date) async throws -> Monitor {
        // A ping is a check result, not a transition; the scheduler's next check turns it into state.
        try await quietWrite { db in
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
        // Results alone are not events; a change of a monitor's state is, with the signal it raises.
        try await write { db -> Written<Void> in
            var stored: [CheckResult] = []
            stored.reserveCapacity(checks.count)
            let update = try db.makeStatement(sql: """
                UPDATE monitor SET status = ?, since = ?, lastCheckedAt = ?, lastOutcome = ?, lastMessage = ?, lastLatencyMs = ?,
                consecutiveFailures = ?, consecutiveSuccesses = ?, failingSince = ?, configurationProblem = ? WHERE id = ?
                """)
            let insert = try db.makeStatement(sql: "INSERT INTO check_result (monitorId, checkedAt, outcome, latencyMs, message) VALUES (?, ?, ?, ?, ?)")
            var transitions: [(id: Int64, from: MonitorStatus?, to: MonitorStatus)] = []
            var groups: [EventGroup] = []
            for check in checks {
                let s = check.state
                let id = check.monitorID
                let previous = check.transition == nil ? nil : try String.fetchOne(db, sql: "SELECT status FROM monitor WHERE id = ?", arguments: [id])
                try update.execute(arguments: [
                    s.status.rawValue, s.since.timeIntervalSince1970, s.lastCheckedAt?.timeIntervalSince1970, s.lastOutcome?.rawValue,
                    s.lastMessage, s.lastLatencyMs, s.consecutiveFailures, s.consecutiveSuccesses, s.failingSince?.timeIntervalSince1970,
                    s.configurationProblem, id,
                ])
                // A monitor deleted while its check ran leaves nothing behind.
                guard db.changesCount > 0, let r = check.result else { continue }
                try insert.execute(arguments: [id, r.checkedAt.timeIntervalSince1970, r.outcome.rawValue, r.latencyMs, r.message])
                stored.append(r)
                if let transition = check.transition {
                    transitions.append((id, previous.flatMap(MonitorStatus.init(rawValue:)), transition))
                }
            }
            try Self.addRollups(CheckRollup.summarize(stored), db)
            // Read once, when some monitor changed state, for all of them.
            var reads: IngestReads?
            for (id, from, status) in transitions {
                guard let monitor = try MonitorRecord.fetchOne(db, key: id)?.domain() else { continue }
                // The monitor itself changed state: it is the actor, like the signal it raises.
                if let from, from != status {
                    groups.append(EventGroup(actor: Actor(monitor.source), events: [.monitorStatusChanged(id: id, from: from, to: status)]))
                }
                let event = monitor.signalEvent(for: status, at: now)
                var current = try reads ?? IngestReads(db, now: now)
                let outcome = try Self.ingest(IngestBatch(origin: .source(monitor.source), events: [event]), policy: policy, now: now, reads: &current, db)
                reads = current
                groups.append(EventGroup(actor: outcome.actor, events: outcome.events))
            }
            return Written((), groups: groups)
        }
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
            let stored = try record.domain()
            return Written(stored, [.integrationCreated(id: stored.id)])
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
            return Written(integration, [.integrationUpdated(id: id)])
        }
    }

    public func deleteIntegration(id: Int64) async throws {
        try await write { db in
            guard try IntegrationRecord.deleteOne(db, key: id) else { throw DomainError.notFound(what: "integration", id: String(id)) }
            return Written([.integrationDeleted(id: id)])
        }
    }

    // MARK: Signals

    public func ingest(_ batches: [IngestBatch], policy: SignalPolicy, now: Date) async throws -> [Result<[SignalReceipt], DomainError>] {
        // Each delivery acts as its source (the integration or monitor), whoever queued it.
        try await write { db in
            var results: [Result<[SignalReceipt], DomainError>] = []
            var groups: [EventGroup] = []
            results.reserveCapacity(batches.count)
            var reads = try IngestReads(db, now: now)
            for batch in batches {
                var outcome: Ingested?
                // A failed delivery's savepoint is rolled back, and so is what it would have changed in `reads`.
                var attempt = reads
                do {
                    try db.inSavepoint {
                        outcome = try Self.ingest(batch, policy: policy, now: now, reads: &attempt, db)
                        return .commit
                    }
                    if let outcome {
                        reads = attempt
                        results.append(.success(outcome.receipts))
                        groups.append(EventGroup(actor: outcome.actor, events: outcome.events))
                    }
                } catch let error as DomainError {
                    results.append(.failure(error))
                }
            }
            // Each integration's count and last delivery as the committed deliveries left them: one write per
            // integration per group rather than a whole record encoded per delivery.
            let counted = try db.cachedStatement(sql: "UPDATE integration SET lastEventAt = ?, eventCount = ? WHERE id = ?")
            for integration in reads.integrations.values {
                try counted.execute(arguments: [integration.lastEventAt?.timeIntervalSince1970, integration.eventCount, integration.id])
            }
            return Written(results, groups: groups)
        }
    }

    /// What every delivery of one group commit reads, read once for the group: nothing else writes while
    /// the group's transaction runs, and each delivery leaves the open incidents and its integration as it
    /// stored them for the next.
    struct IngestReads {
        var openIncidents: [Incident]
        let knownComponents: Set<String>
        let publicComponents: Set<String>
        /// Integrations by key hash, as this group has stored them.
        var integrations: [String: Integration] = [:]
        /// The maintenance in force, read when a delivery first may change a component's status.
        var windows: [MaintenanceWindow]?

        init(_ db: Database, now: Date) throws {
            openIncidents = try AppDatabase.openIncidents(db)
            knownComponents = try AppDatabase.knownComponents(db)
            publicComponents = try AppDatabase.publicAutomaticComponents(db)
        }

        mutating func integration(keyHash: String, _ db: Database) throws -> Integration? {
            if let known = integrations[keyHash] { return known }
            return try IntegrationRecord.filter(Column("keyHash") == keyHash).fetchOne(db)?.domain()
        }

        mutating func maintenance(now: Date, _ db: Database) throws -> [MaintenanceWindow] {
            if let windows { return windows }
            let stored = try AppDatabase.storedWindows(now: now, db)
            windows = stored
            return stored
        }
    }

    /// What one delivery did: receipts for the sender, events for the log, and who sent it.
    struct Ingested {
        var receipts: [SignalReceipt]
        var events: [DomainEvent]
        var actor: Actor
    }

    /// Runs the Core planner over one delivery and stores what it decides.
    static func ingest(_ batch: IngestBatch, policy: SignalPolicy, now: Date, reads: inout IngestReads, _ db: Database) throws -> Ingested {
        let source: SignalSource
        switch batch.origin {
        case .integrationKey(let hash):
            var integration = try reads.integration(keyHash: hash, db)
            try Integration.checkAccepts(integration)
            integration?.recordDelivery(events: batch.events.count, at: now)
            guard let integration else { throw DomainError.notFound(what: "integration", id: "with this key") }
            // Its delivery count is written once for the group (`ingest(_:policy:now:)`).
            reads.integrations[hash] = integration
            source = integration.source
        case .source(let given):
            source = given
        }
        var ingestion = SignalIngestion(
            source: source, openIncidents: reads.openIncidents, knownComponents: reads.knownComponents,
            publicComponents: reads.publicComponents, policy: policy, now: now)
        var receipts: [SignalReceipt] = []
        receipts.reserveCapacity(batch.events.count)
        let decided = batch.matchedRules(for: source.routing)
        var matcher = RuleMatcher(routing: source.routing)
        // The hot path of ingestion: cached statements, not queries built and compiled per alert.
        let active = try db.cachedStatement(sql: "SELECT * FROM signal WHERE sourceKind = ? AND sourceId = ? AND dedupKey = ? AND status != 'resolved'")
        let fed = try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM signal WHERE incidentId = ? AND sourceKind = ? AND sourceId = ?)")
        for (index, event) in batch.events.enumerated() {
            let rule = if let decided { decided[index] } else { matcher.matchingRule(for: event) }
            let existing = try SignalRecord.fetchOne(active, arguments: [source.kind.rawValue, source.id, event.dedupKey])?.domain()
            let plan = try ingestion.plan(event, matchedRule: rule, existing: existing) { id in
                try Bool.fetchOne(fed, arguments: [id, source.kind.rawValue, source.id]) ?? false
            }
            receipts.append(try store(plan, &ingestion, db))
        }
        var saved: [Incident] = []
        for (incident, entries) in ingestion.changedIncidents {
            var incident = incident
            try IncidentRecord(incident).update(db)
            _ = try saveChildren(of: &incident, entries: entries, db)
            saved.append(incident)
        }
        reads.openIncidents = ingestion.openIncidents(afterSaving: saved)
        for entry in ingestion.lateEntries {
            var record = try TimelineEntryRecord(entry, incidentId: entry.incidentID)
            try record.insert(db)
        }
        var events = ingestion.events
        if ingestion.mayChangeComponentStatus {
            events += ingestion.componentStatusEvents(maintenances: try reads.maintenance(now: now, db))
        }
        return Ingested(receipts: receipts, events: events, actor: Actor(source))
    }

    /// Stores one plan: the signal row (and a new incident's row) exactly as the planner decided.
    private static func store(_ plan: SignalIngestion.Plan, _ ingestion: inout SignalIngestion, _ db: Database) throws -> SignalReceipt {
        switch plan {
        case .ignore:
            return try ingestion.stored(plan, signal: nil)
        case .duplicate(let signal, let counted):
            if counted {
                try db.execute(
                    sql: "UPDATE signal SET lastReceivedAt = ?, eventCount = ? WHERE id = ?",
                    arguments: [signal.lastReceivedAt.timeIntervalSince1970, signal.eventCount, signal.id])
            }
            return try ingestion.stored(plan, signal: signal)
        case .openIncident(var signal, let incident):
            var incidentRecord = IncidentRecord(incident)
            try incidentRecord.insert(db)
            guard let incidentID = incidentRecord.id else { throw DomainError.invalid(field: "incident", message: "was not stored") }
            var stored = incident
            stored.id = incidentID
            _ = try saveChildren(of: &stored, entries: [], db)
            signal.incidentID = incidentID
            var record = SignalRecord(signal)
            try record.insert(db)
            signal.id = record.id ?? 0
            return try ingestion.stored(plan, signal: signal, openedIncidentID: incidentID)
        case .join(var signal, _):
            var record = SignalRecord(signal)
            try record.insert(db)
            signal.id = record.id ?? 0
            return try ingestion.stored(plan, signal: signal)
        case .acknowledge(let signal):
            try SignalRecord(signal).update(db)
            return try ingestion.stored(plan, signal: signal)
        case .clear(let signal):
            try SignalRecord(signal).update(db)
            let remaining = try signal.incidentID.map { id in
                try SignalRecord.filter(Column("incidentId") == id && Column("status") != SignalStatus.resolved.rawValue).fetchCount(db)
            } ?? 0
            return try ingestion.stored(plan, signal: signal, activeRemaining: remaining)
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
            var events: [DomainEvent] = []
            // Loaded once; each resolution leaves it for the next one's "before".
            var before = try Self.openIncidents(db)
            for id in candidates {
                guard var incident = before.first(where: { $0.id == id }), incident.dueForAutoResolve(policy: policy, now: now) else { continue }
                let entries = try incident.autoResolve(policy: policy, now: now)
                try IncidentRecord(incident).update(db)
                let saved = try Self.saveChildren(of: &incident, entries: entries, db)
                events += DomainEvent.recording(saved, incidentID: id)
                events += try Self.statusEvents(before: before, changed: incident, slugs: incident.impacts.map(\.slug), now: now, db)
                before.removeAll { $0.id == id }
                resolved.append(id)
            }
            return Written(resolved, events)
        }
    }
}
