import BelayCore
import Foundation
import Logging
import PostgresNIO

/// Signals: ingestion (Core's `SignalIngestion` plans, this stores), the signal list and auto-resolution, as
/// AppDatabase+Detect.swift does them.
extension PostgresStore: DetectStore {
    public func ingest(_ batches: [IngestBatch], policy: SignalPolicy, now: Date) async throws -> [Result<[SignalReceipt], DomainError>] {
        let logger = logger
        // Each delivery acts as its source (the integration or monitor), whoever queued it.
        return try await write { connection in
            var results: [Result<[SignalReceipt], DomainError>] = []
            var groups: [EventGroup] = []
            results.reserveCapacity(batches.count)
            var reads = try await IngestReads(connection, logger: logger)
            for batch in batches {
                do {
                    let outcome = try await Self.ingestInSavepoint(batch, policy: policy, now: now, reads: &reads, connection, logger: logger)
                    results.append(.success(outcome.receipts))
                    groups.append(EventGroup(actor: outcome.actor, events: outcome.events))
                } catch let error as DomainError {
                    results.append(.failure(error))
                }
            }
            // Each integration's count and last delivery as the committed deliveries left them: one write per
            // integration per group rather than one per delivery.
            for integration in reads.integrations.values {
                try await connection.query(
                    """
                    UPDATE integration SET lastEventAt = \(integration.lastEventAt?.timeIntervalSince1970), eventCount = \(integration.eventCount)
                    WHERE id = \(integration.id)
                    """, logger: logger)
            }
            return Written(results, groups: groups)
        }
    }

    /// One delivery in a savepoint of its own, so its failure undoes only its own writes. Should another
    /// writer have stored the same active alert first (signal_active_key, which holds dedup whoever writes),
    /// the delivery runs once more and finds that alert as a duplicate.
    static func ingestInSavepoint(
        _ batch: IngestBatch, policy: SignalPolicy, now: Date, reads: inout IngestReads, _ connection: PostgresConnection, logger: Logger
    ) async throws -> Ingested {
        var attempt = 0
        while true {
            attempt += 1
            try await connection.query("SAVEPOINT ingest_batch", logger: logger)
            // A rolled-back delivery leaves `reads` as it found them.
            var changed = reads
            do {
                let outcome = try await ingest(batch, policy: policy, now: now, reads: &changed, connection, logger: logger)
                try await connection.query("RELEASE SAVEPOINT ingest_batch", logger: logger)
                reads = changed
                return outcome
            } catch {
                try await connection.query("ROLLBACK TO SAVEPOINT ingest_batch", logger: logger)
                try await connection.query("RELEASE SAVEPOINT ingest_batch", logger: logger)
                if attempt == 1, StorageFault.uniqueViolation(error) == "signal_active_key" { continue }
                throw error
            }
        }
    }

    /// What every delivery of one group commit reads, read once for the group: the advisory write lock keeps
    /// every other writer out while the group's transaction runs, and each delivery leaves the open
    /// incidents and its integration as it stored them for the next.
    struct IngestReads: Sendable {
        var openIncidents: [Incident]
        let knownComponents: Set<String>
        let publicComponents: Set<String>
        /// Integrations by key hash, as this group has stored them.
        var integrations: [String: Integration] = [:]
        /// The maintenance in force, read when a delivery first may change a component's status.
        var windows: [MaintenanceWindow]?

        init(_ connection: PostgresConnection, logger: Logger) async throws {
            openIncidents = try await PostgresStore.openIncidents(connection, logger: logger)
            knownComponents = try await PostgresStore.knownComponents(connection, logger: logger)
            publicComponents = try await PostgresStore.publicAutomaticComponents(connection, logger: logger)
        }

        mutating func integration(keyHash: String, _ connection: PostgresConnection, logger: Logger) async throws -> Integration? {
            if let known = integrations[keyHash] { return known }
            return try await PostgresStore.fetchIntegration(keyHash: keyHash, connection, logger: logger)
        }

        mutating func maintenance(now: Date, _ connection: PostgresConnection, logger: Logger) async throws -> [MaintenanceWindow] {
            if let windows { return windows }
            let stored = try await PostgresStore.storedWindows(now: now, connection, logger: logger)
            windows = stored
            return stored
        }
    }

    /// What one delivery did: receipts for the sender, events for the log, and who sent it.
    struct Ingested: Sendable {
        var receipts: [SignalReceipt]
        var events: [DomainEvent]
        var actor: Actor
    }

    /// Runs the Core planner over one delivery and stores what it decides.
    static func ingest(
        _ batch: IngestBatch, policy: SignalPolicy, now: Date, reads: inout IngestReads, _ connection: PostgresConnection, logger: Logger
    ) async throws -> Ingested {
        let source: SignalSource
        switch batch.origin {
        case .integrationKey(let hash):
            var integration = try await reads.integration(keyHash: hash, connection, logger: logger)
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
        // The planner asks whether this source fed an open incident synchronously, and only for a new alert; the
        // answers for the incidents open at the start are read in one query before the first one. Incidents this
        // delivery opens or feeds, the planner remembers itself.
        var fed: Set<Int64>?
        for (index, event) in batch.events.enumerated() {
            let rule = if let decided { decided[index] } else { matcher.matchingRule(for: event) }
            let existing = try await activeSignal(source: source, dedupKey: event.dedupKey, connection, logger: logger)
            if fed == nil, event.action == .trigger, existing == nil {
                fed = try await fedBySource(source, candidates: Array(ingestion.open.keys), connection, logger: logger)
            }
            let plan = ingestion.plan(event, matchedRule: rule, existing: existing) { fed?.contains($0) ?? false }
            receipts.append(try await store(plan, &ingestion, connection, logger: logger))
        }
        var saved: [Incident] = []
        for (incident, entries) in ingestion.changedIncidents {
            var incident = incident
            _ = try await saveIncident(&incident, entries: entries, connection, logger: logger)
            saved.append(incident)
        }
        reads.openIncidents = ingestion.openIncidents(afterSaving: saved)
        _ = try await insertEntries(ingestion.lateEntries, connection, logger: logger)
        var events = ingestion.events
        if ingestion.mayChangeComponentStatus {
            events += ingestion.componentStatusEvents(maintenances: try await reads.maintenance(now: now, connection, logger: logger))
        }
        return Ingested(receipts: receipts, events: events, actor: Actor(source))
    }

    static func activeSignal(source: SignalSource, dedupKey: String, _ connection: PostgresConnection, logger: Logger) async throws -> Signal? {
        let rows = try await connection.query(
            """
            SELECT \(unescaped: DetectRows.signalColumns) FROM signal
            WHERE sourceKind = \(source.kind.rawValue) AND sourceId = \(source.id) AND dedupKey = \(dedupKey) AND status != 'resolved'
            """, logger: logger)
        for try await row in rows { return try DetectRows.signal(row) }
        return nil
    }

    /// Which of `candidates` this source has fed, in one query.
    static func fedBySource(_ source: SignalSource, candidates: [Int64], _ connection: PostgresConnection, logger: Logger) async throws -> Set<Int64> {
        guard !candidates.isEmpty else { return [] }
        let rows = try await connection.query(
            """
            SELECT DISTINCT incidentId FROM signal
            WHERE incidentId = ANY(\(candidates)) AND sourceKind = \(source.kind.rawValue) AND sourceId = \(source.id)
            """, logger: logger)
        var fed: Set<Int64> = []
        for try await id in rows.decode(Int64.self) { fed.insert(id) }
        return fed
    }

    /// Stores one plan: the signal row (and a new incident's row) exactly as the planner decided.
    private static func store(
        _ plan: SignalIngestion.Plan, _ ingestion: inout SignalIngestion, _ connection: PostgresConnection, logger: Logger
    ) async throws -> SignalReceipt {
        switch plan {
        case .ignore:
            return try ingestion.stored(plan, signal: nil)
        case .duplicate(let signal, let counted):
            if counted {
                try await connection.query(
                    "UPDATE signal SET lastReceivedAt = \(signal.lastReceivedAt.timeIntervalSince1970), eventCount = \(signal.eventCount) WHERE id = \(signal.id)",
                    logger: logger)
            }
            return try ingestion.stored(plan, signal: signal)
        case .openIncident(var signal, let incident):
            var stored = incident
            _ = try await saveIncident(&stored, entries: [], connection, logger: logger)
            signal.incidentID = stored.id
            signal.id = try await insertSignal(signal, connection, logger: logger)
            return try ingestion.stored(plan, signal: signal, openedIncidentID: stored.id)
        case .join(var signal, _):
            signal.id = try await insertSignal(signal, connection, logger: logger)
            return try ingestion.stored(plan, signal: signal)
        case .acknowledge(let signal):
            try await updateSignal(signal, connection, logger: logger)
            return try ingestion.stored(plan, signal: signal)
        case .clear(let signal):
            try await updateSignal(signal, connection, logger: logger)
            var remaining = 0
            if let id = signal.incidentID {
                let rows = try await connection.query(
                    "SELECT COUNT(*) FROM signal WHERE incidentId = \(id) AND status != 'resolved'", logger: logger)
                for try await count in rows.decode(Int.self) { remaining = count }
            }
            return try ingestion.stored(plan, signal: signal, activeRemaining: remaining)
        }
    }

    static func insertSignal(_ signal: Signal, _ connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        let components = try DetectRows.json(signal.components)
        let labels = try DetectRows.json(signal.labels)
        let links = try DetectRows.json(signal.links)
        let rows = try await connection.query(
            """
            INSERT INTO signal (sourceKind, sourceId, sourceName, dedupKey, status, summary, severity, source, components, labels, links, details,
              startsAt, endsAt, firstReceivedAt, lastReceivedAt, eventCount, incidentId)
            VALUES (\(signal.sourceKind.rawValue), \(signal.sourceID), \(signal.sourceName), \(signal.dedupKey), \(signal.status.rawValue),
              \(signal.summary), \(signal.severity.rawValue), \(signal.source), \(components), \(labels), \(links), \(signal.details),
              \(signal.startsAt.timeIntervalSince1970), \(signal.endsAt?.timeIntervalSince1970), \(signal.firstReceivedAt.timeIntervalSince1970),
              \(signal.lastReceivedAt.timeIntervalSince1970), \(signal.eventCount), \(signal.incidentID))
            RETURNING id
            """, logger: logger)
        for try await id in rows.decode(Int64.self) { return id }
        throw DomainError.invalid(field: "signal", message: "was not stored")
    }

    static func updateSignal(_ signal: Signal, _ connection: PostgresConnection, logger: Logger) async throws {
        let components = try DetectRows.json(signal.components)
        let labels = try DetectRows.json(signal.labels)
        let links = try DetectRows.json(signal.links)
        try await connection.query(
            """
            UPDATE signal SET sourceKind = \(signal.sourceKind.rawValue), sourceId = \(signal.sourceID), sourceName = \(signal.sourceName),
              dedupKey = \(signal.dedupKey), status = \(signal.status.rawValue), summary = \(signal.summary), severity = \(signal.severity.rawValue),
              source = \(signal.source), components = \(components), labels = \(labels), links = \(links), details = \(signal.details),
              startsAt = \(signal.startsAt.timeIntervalSince1970), endsAt = \(signal.endsAt?.timeIntervalSince1970),
              firstReceivedAt = \(signal.firstReceivedAt.timeIntervalSince1970), lastReceivedAt = \(signal.lastReceivedAt.timeIntervalSince1970),
              eventCount = \(signal.eventCount), incidentId = \(signal.incidentID)
            WHERE id = \(signal.id)
            """, logger: logger)
    }

    public func signals(_ query: SignalQuery) async throws -> [Signal] {
        let logger = logger
        let status = query.status?.rawValue
        let incidentID = query.incidentID
        let limit: Int? = query.limit < 0 ? nil : query.limit
        return try await read { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: DetectRows.signalColumns) FROM signal
                WHERE (\(status)::TEXT IS NULL OR status = \(status)) AND (\(incidentID)::BIGINT IS NULL OR incidentId = \(incidentID))
                ORDER BY id DESC LIMIT \(limit)::BIGINT
                """, logger: logger)
            var signals: [Signal] = []
            for try await row in rows { signals.append(try DetectRows.signal(row)) }
            return signals
        }
    }

    public func autoResolveIncidents(policy: SignalPolicy, now: Date) async throws -> [Int64] {
        let logger = logger
        let cutoff = now.addingTimeInterval(-policy.quietPeriod).timeIntervalSince1970
        let candidates = try await read { connection in
            let rows = try await connection.query(
                "SELECT id FROM incident WHERE status = 'monitoring' AND autoResolve AND NOT holdOpen AND signalsClearedAt <= \(cutoff)",
                logger: logger)
            var ids: [Int64] = []
            for try await id in rows.decode(Int64.self) { ids.append(id) }
            return ids
        }
        guard !candidates.isEmpty else { return [] }
        return try await write { connection in
            var resolved: [Int64] = []
            var events: [DomainEvent] = []
            // Loaded once; each resolution leaves it for the next one's "before".
            var before = try await Self.openIncidents(connection, logger: logger)
            for id in candidates {
                guard var incident = before.first(where: { $0.id == id }), incident.dueForAutoResolve(policy: policy, now: now) else { continue }
                let entries = try incident.autoResolve(policy: policy, now: now)
                let saved = try await Self.saveIncident(&incident, entries: entries, connection, logger: logger)
                events += DomainEvent.recording(saved, incidentID: id)
                events += try await Self.statusEvents(
                    before: before, changed: incident, slugs: incident.impacts.map(\.slug), now: now, connection, logger: logger)
                before.removeAll { $0.id == id }
                resolved.append(id)
            }
            return Written(resolved, events)
        }
    }
}
