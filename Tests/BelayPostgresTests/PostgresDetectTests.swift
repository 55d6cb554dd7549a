import BelayCore
import BelayPostgres
import Foundation
import Logging
import PostgresNIO
import Testing

/// DetectStore on PostgreSQL: what StoreContract+Detect and the SQLite tests check, plus dedup held by the
/// signal_active_key constraint under concurrent deliveries.
@Suite(.enabled(if: TestDatabase.isAvailable, "needs BELAY_TEST_POSTGRES_URL"))
struct PostgresDetectTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    static func source(id: Int64 = 1) -> SignalSource {
        SignalSource(kind: .monitor, id: id, name: "probe", routing: Routing(defaultComponents: ["api"]), publicIncidents: false)
    }

    static func fire(_ key: String) -> SignalEvent { SignalEvent(dedupKey: key, action: .trigger, summary: "\(key) failing") }

    static func http(_ name: String, component: String? = nil, isPaused: Bool = false) -> Monitor {
        Monitor(
            name: name, kind: .http, settings: MonitorSettings(url: "https://example.com/health", headers: ["X-Probe": "1"]),
            failureThreshold: 1, component: component, isPaused: isPaused, createdAt: now, updatedAt: now)
    }

    /// Components go in by SQL, so these tests need no other store area.
    static func addComponent(_ slug: String, _ store: PostgresStore) async throws {
        try await store.client.query(
            """
            INSERT INTO component (slug, name, description, isPublic, position, createdAt, updatedAt)
            VALUES (\(slug), \(slug), '', true, 0, \(now.timeIntervalSince1970), \(now.timeIntervalSince1970))
            """, logger: TestDatabase.logger)
    }

    static func count(_ sql: String, _ store: PostgresStore) async throws -> Int {
        var count = 0
        for try await value in try await store.client.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger).decode(Int.self) {
            count = value
        }
        return count
    }

    static func incidentStatuses(_ store: PostgresStore) async throws -> [String] {
        var statuses: [String] = []
        for try await status in try await store.client.query("SELECT status FROM incident ORDER BY id", logger: TestDatabase.logger).decode(String.self) {
            statuses.append(status)
        }
        return statuses
    }

    static func allEvents(_ store: PostgresStore, after: Int64 = 0) async throws -> [StoredEvent] {
        try await store.events(after: after, limit: 10_000)
    }

    // MARK: Monitors

    @Test func monitorsRoundTripFilterAndPage() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await Self.addComponent("api", store)
        let api = try await store.createMonitor(Self.http("API 100%_ok", component: "api"))
        let paused = try await store.createMonitor(Self.http("Paused one", isPaused: true))
        let beat = try await store.createMonitor(
            Monitor(name: "Nightly job", kind: .heartbeat, settings: MonitorSettings(graceSeconds: 30), heartbeatTokenHash: "beat-hash",
                    createdAt: Self.now, updatedAt: Self.now))
        #expect(api.id > 0 && paused.id > api.id && beat.id > paused.id)
        #expect(try await store.monitor(id: api.id) == api)
        #expect(try await store.monitor(id: 9999) == nil)
        #expect(try await store.monitorCount() == 3)
        #expect(try await store.monitors(MonitorQuery()).map(\.id) == [api.id, paused.id, beat.id])
        #expect(try await store.monitors(MonitorQuery(after: api.id, limit: 1)).map(\.id) == [paused.id])
        #expect(try await store.monitors(MonitorQuery(status: .paused)).map(\.id) == [paused.id])
        #expect(try await store.monitors(MonitorQuery(kind: .heartbeat)).map(\.id) == [beat.id])
        // Case-insensitive, and LIKE's wildcards in the text are literal.
        #expect(try await store.monitors(MonitorQuery(text: "api")).map(\.id) == [api.id])
        #expect(try await store.monitors(MonitorQuery(text: "100%_")).map(\.id) == [api.id])
        #expect(try await store.monitors(MonitorQuery(text: "%")).map(\.id) == [api.id])
        #expect(try await store.monitors(MonitorQuery(text: "_")).map(\.id) == [api.id])
        #expect(try await store.scheduledMonitors().map(\.id) == [api.id, beat.id])

        let renamed = try await store.updateMonitor(id: api.id) { $0.name = "API" }
        #expect(renamed.name == "API")
        #expect(try await store.monitor(id: api.id) == renamed)
        await #expect(throws: DomainError.self) { _ = try await store.updateMonitor(id: api.id) { $0.kind = .tcp } }
        await #expect(throws: DomainError.invalid(field: "component", message: "unknown component 'nope'")) {
            _ = try await store.updateMonitor(id: api.id) { $0.component = "nope" }
        }
        await #expect(throws: DomainError.self) { _ = try await store.createMonitor(Self.http("Orphan", component: "nope")) }
        await #expect(throws: DomainError.notFound(what: "monitor", id: "9999")) { _ = try await store.updateMonitor(id: 9999) { _ in } }

        try await store.deleteMonitor(id: paused.id)
        await #expect(throws: DomainError.notFound(what: "monitor", id: String(paused.id))) { try await store.deleteMonitor(id: paused.id) }
        #expect(try await store.monitorCount() == 2)
        let types = try await Self.allEvents(store).map(\.event.type)
        #expect(types == ["monitor.created", "monitor.created", "monitor.created", "monitor.updated", "monitor.deleted"])
    }

    @Test func aHeartbeatIsFoundByItsTokenHashAndLogsNothing() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let beat = try await store.createMonitor(
            Monitor(name: "Nightly job", kind: .heartbeat, settings: MonitorSettings(), heartbeatTokenHash: "beat-hash",
                    createdAt: Self.now, updatedAt: Self.now))
        let head = try await store.eventHead()
        let pinged = try await store.recordHeartbeat(tokenHash: "beat-hash", at: Self.now.addingTimeInterval(5))
        #expect(pinged.id == beat.id)
        #expect(pinged.state.lastPingAt == Self.now.addingTimeInterval(5))
        #expect(try await store.monitor(id: beat.id)?.state.lastPingAt == Self.now.addingTimeInterval(5))
        await #expect(throws: DomainError.notFound(what: "heartbeat", id: "with this token")) {
            _ = try await store.recordHeartbeat(tokenHash: "other", at: Self.now)
        }
        #expect(try await store.eventHead() == head)
    }

    @Test func checksSaveResultsRollupsAndStatesAndATransitionBecomesASignal() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await Self.addComponent("api", store)
        var monitor = try await store.createMonitor(Self.http("API", component: "api"))
        let gone = try await store.createMonitor(Self.http("Gone"))
        try await store.deleteMonitor(id: gone.id)
        let head = try await store.eventHead()

        // Two ups in one minute, then a down that turns the monitor down.
        var checks: [MonitorCheck] = []
        for (offset, outcome, latency) in [(0.0, CheckOutcome.up, 10.0), (20, .up, 30), (40, .down, nil)] as [(Double, CheckOutcome, Double?)] {
            let at = Self.now.addingTimeInterval(offset)
            let transition = monitor.record(outcome, message: outcome.rawValue, latencyMs: latency, at: at)
            let result = CheckResult(monitorID: monitor.id, checkedAt: at, outcome: outcome, latencyMs: latency, message: outcome.rawValue)
            checks.append(MonitorCheck(result: result, state: monitor.state, transition: transition))
        }
        let orphan = CheckResult(monitorID: gone.id, checkedAt: Self.now, outcome: .down, latencyMs: nil, message: "x")
        checks.append(MonitorCheck(result: orphan, state: MonitorState(status: .down, since: Self.now), transition: .down))
        try await store.recordChecks(checks, policy: SignalPolicy(), now: Self.now.addingTimeInterval(40))

        let stored = try #require(try await store.monitor(id: monitor.id))
        #expect(stored.state == monitor.state)
        #expect(stored.state.status == .down)
        let results = try await store.results(monitorID: monitor.id, limit: 10)
        #expect(results.map(\.checkedAt) == [40, 20, 0].map { Self.now.addingTimeInterval($0) })
        #expect(results.first?.latencyMs == nil && results.last?.latencyMs == 10)
        #expect(try await store.results(monitorID: monitor.id, limit: 1).count == 1)
        #expect(try await store.results(monitorID: gone.id, limit: 10).isEmpty)

        let minute = try await store.rollups(monitorIDs: [monitor.id, gone.id], granularity: .minute, since: Self.now.addingTimeInterval(-3600))
        #expect(minute.reduce(0) { $0 + $1.total } == 3)
        #expect(minute.allSatisfy { $0.monitorID == monitor.id })
        // A second batch in the same day adds to the stored sums.
        let later = Self.now.addingTimeInterval(120)
        let transition = monitor.record(.up, message: "ok", latencyMs: 50, at: later)
        try await store.recordChecks(
            [MonitorCheck(result: CheckResult(monitorID: monitor.id, checkedAt: later, outcome: .up, latencyMs: 50, message: "ok"), state: monitor.state,
                          transition: transition)], policy: SignalPolicy(), now: later)
        let day = try #require(try await store.rollups(monitorIDs: [monitor.id], granularity: .day, since: Self.now).first)
        #expect(day.total == 4 && day.up == 3 && day.down == 1 && day.latencyCount == 3 && day.latencySumMs == 90 && day.latencyMaxMs == 50)
        #expect(try await store.rollups(monitorIDs: [], granularity: .day, since: Self.now).isEmpty)
        let days = try await store.measuredDays(since: Self.now)
        #expect(days == ["api": [RollupGranularity.day.bucket(Self.now): MeasuredDay(checks: 4, passed: 3)]])

        // Down opened an incident through a signal; up resolved it. The monitor is the actor.
        let events = try await Self.allEvents(store, after: head)
        // Pending to up, then up to down.
        #expect(events.map(\.event.type).prefix(6) == [
            "monitor.status_changed", "monitor.status_changed", "incident.declared", "incident.signal_fired", "signal.triggered", "component.status_changed",
        ])
        #expect(events.allSatisfy { $0.actor == .monitor(id: monitor.id, name: "API") })
        #expect(events.map(\.event.type).contains("signal.resolved"))
        let signal = try #require(try await store.signals(SignalQuery()).first)
        #expect(signal.dedupKey == "monitor-\(monitor.id)" && signal.status == .resolved && signal.components == ["api"])
        #expect(try await Self.incidentStatuses(store) == ["monitoring"])

        // Raw results and fine rollups go at their retention; day rollups stay.
        let pruned = try await store.pruneResults(
            rawBefore: later.addingTimeInterval(1), minuteBefore: later.addingTimeInterval(61), hourBefore: Self.now.addingTimeInterval(-3600))
        // Four results and the three minutes they fell in; the hour and the day stay.
        #expect(pruned == 4 + 3)
        #expect(try await store.results(monitorID: monitor.id, limit: 10).isEmpty)
        #expect(try await store.rollups(monitorIDs: [monitor.id], granularity: .minute, since: Self.now.addingTimeInterval(-3600)).isEmpty)
        #expect(try await store.rollups(monitorIDs: [monitor.id], granularity: .hour, since: Self.now.addingTimeInterval(-3600)).count == 1)
        monitor = try #require(try await store.monitor(id: monitor.id))
        #expect(monitor.state.status == .up)
    }

    @Test func aCheckThatCouldNotRunSavesOnlyTheState() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        var monitor = try await store.createMonitor(Self.http("API"))
        monitor.recordConfigurationProblem("egress refused", at: Self.now)
        let head = try await store.eventHead()
        try await store.recordChecks([MonitorCheck(monitorID: monitor.id, state: monitor.state)], policy: SignalPolicy(), now: Self.now)
        #expect(try await store.monitor(id: monitor.id)?.state.configurationProblem == "egress refused")
        #expect(try await store.results(monitorID: monitor.id, limit: 10).isEmpty)
        #expect(try await store.eventHead() == head)
    }

    // MARK: Integrations

    @Test func integrationsRoundTripAndAreFoundByKeyHash() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await Self.addComponent("api", store)
        let routing = Routing(rules: [RoutingRule(match: ["team": "db"], components: ["api"], severity: .sev1)], defaultComponents: ["api"])
        let created = try await store.createIntegration(
            Integration(name: "prom", kind: .alertmanager, keyHash: "hash-1", keyHint: "abc123", routing: routing, createdAt: Self.now, updatedAt: Self.now))
        #expect(created.id > 0)
        #expect(try await store.integration(id: created.id) == created)
        #expect(try await store.integration(keyHash: "hash-1") == created)
        #expect(try await store.integration(keyHash: "hash-2") == nil)
        #expect(try await store.integrations() == [created])
        let updated = try await store.updateIntegration(id: created.id) { $0.name = "prometheus"; $0.id = 77 }
        #expect(updated.id == created.id && updated.name == "prometheus")
        #expect(try await store.integration(id: created.id) == updated)
        await #expect(throws: DomainError.self) {
            _ = try await store.updateIntegration(id: created.id) { $0.routing = Routing(defaultComponents: ["nope"]) }
        }
        await #expect(throws: DomainError.notFound(what: "integration", id: "5")) { _ = try await store.updateIntegration(id: 5) { _ in } }
        try await store.deleteIntegration(id: created.id)
        await #expect(throws: DomainError.notFound(what: "integration", id: String(created.id))) { try await store.deleteIntegration(id: created.id) }
        #expect(try await Self.allEvents(store).map(\.event.type) == ["integration.created", "integration.updated", "integration.deleted"])
    }

    // MARK: Signals

    @Test func oneKeyMakesOneSignalAndOneIncidentAndRepeatsAreDuplicates() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await Self.addComponent("api", store)
        let batch = IngestBatch(origin: .source(Self.source()), events: [Self.fire("disk"), Self.fire("disk")])
        let receipts = try (try await store.ingest([batch], policy: SignalPolicy(), now: Self.now))[0].get()
        #expect(receipts.map(\.effect) == [.openedIncident, .duplicate])
        #expect(receipts[0].signalID == receipts[1].signalID)
        let signals = try await store.signals(SignalQuery())
        #expect(signals.count == 1 && signals.first?.eventCount == 2 && signals.first?.incidentID == receipts[0].incidentID)
        #expect(try await Self.count("SELECT COUNT(*) FROM incident", store) == 1)
        #expect(try await Self.allEvents(store).map(\.event.type) == [
            "incident.declared", "incident.signal_fired", "signal.triggered", "component.status_changed",
        ])
    }

    @Test func fiftyConcurrentDeliveriesOfOneKeyMakeOneSignalAndOneIncident() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await Self.addComponent("api", store)
        let batch = IngestBatch(origin: .source(Self.source()), events: [Self.fire("disk")])
        let effects = try await withThrowingTaskGroup(of: [SignalReceipt.Effect].self) { group in
            for _ in 0..<50 { group.addTask { try (try await store.ingest([batch], policy: SignalPolicy(), now: Self.now))[0].get().map(\.effect) } }
            var all: [SignalReceipt.Effect] = []
            for try await effects in group { all += effects }
            return all
        }
        #expect(effects.filter { $0 == .openedIncident }.count == 1)
        #expect(effects.filter { $0 == .duplicate }.count == 49)
        let signals = try await store.signals(SignalQuery())
        #expect(signals.count == 1)
        #expect(signals.first?.eventCount == 50)
        #expect(try await Self.count("SELECT COUNT(*) FROM incident", store) == 1)
    }

    @Test func theActiveKeyIsUniqueInTheSchemaNotOnlyInCode() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        _ = try await store.ingest([IngestBatch(origin: .source(Self.source()), events: [Self.fire("disk")])], policy: SignalPolicy(), now: Self.now)
        let copy = "INSERT INTO signal (sourceKind, sourceId, sourceName, dedupKey, status, summary, severity, components, labels, links, startsAt, firstReceivedAt, lastReceivedAt, eventCount) SELECT sourceKind, sourceId, sourceName, dedupKey, status, summary, severity, components, labels, links, startsAt, firstReceivedAt, lastReceivedAt, eventCount FROM signal"
        do {
            try await store.client.query(PostgresQuery(unsafeSQL: copy), logger: TestDatabase.logger)
            Issue.record("a second active signal with one key was stored")
        } catch let error as PSQLError {
            #expect(error.serverInfo?[.sqlState] == "23505")
            #expect(error.serverInfo?[.constraintName] == "signal_active_key")
        }
        // Once resolved, the same key may start a new alert.
        try await store.client.query("UPDATE signal SET status = 'resolved'", logger: TestDatabase.logger)
        try await store.client.query(PostgresQuery(unsafeSQL: copy), logger: TestDatabase.logger)
        #expect(try await Self.count("SELECT COUNT(*) FROM signal", store) == 2)
    }

    @Test func oneFailingDeliveryInABatchSpoilsNoneOfTheOthers() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await Self.addComponent("api", store)
        let good = IngestBatch(origin: .source(Self.source()), events: [Self.fire("disk")])
        let unknown = IngestBatch(origin: .integrationKey(hash: "no-such-key"), events: [Self.fire("x")])
        let results = try await store.ingest([good, unknown, good], policy: SignalPolicy(), now: Self.now)
        #expect((try? results[0].get())?.map(\.effect) == [.openedIncident])
        #expect(throws: DomainError.notFound(what: "integration", id: "with this key")) { try results[1].get() }
        #expect((try? results[2].get())?.map(\.effect) == [.duplicate])
        #expect(try await store.signals(SignalQuery()).count == 1)
    }

    @Test func aDeliveryBeatenToItsKeyIsUndoneToItsSavepointAndRunsAgainAsADuplicate() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await Self.addComponent("api", store)
        let integration = try await store.createIntegration(
            Integration(name: "prom", kind: .generic, keyHash: "hash-1", keyHint: "abc", routing: Routing(defaultComponents: ["api"]),
                        createdAt: Self.now, updatedAt: Self.now))
        // Stands in for another writer storing the same active alert first: the first signal insert fails as the
        // constraint would, after the delivery has already counted itself and opened its incident.
        for sql in [
            "CREATE SEQUENCE beaten",
            """
            CREATE FUNCTION beaten_once() RETURNS trigger AS $$ BEGIN
              IF nextval('beaten') = 1 THEN RAISE unique_violation USING CONSTRAINT = 'signal_active_key'; END IF;
              RETURN NEW; END $$ LANGUAGE plpgsql
            """,
            "CREATE TRIGGER beaten BEFORE INSERT ON signal FOR EACH ROW EXECUTE FUNCTION beaten_once()",
        ] {
            try await store.client.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger)
        }
        let batch = IngestBatch(origin: .integrationKey(hash: "hash-1"), events: [Self.fire("disk"), Self.fire("disk")])
        let receipts = try (try await store.ingest([batch], policy: SignalPolicy(), now: Self.now))[0].get()
        #expect(receipts.map(\.effect) == [.openedIncident, .duplicate])
        #expect(try await store.integration(id: integration.id)?.eventCount == 2)
        #expect(try await Self.count("SELECT COUNT(*) FROM incident", store) == 1)
        #expect(try await store.signals(SignalQuery()).count == 1)
        let declared = try await Self.allEvents(store).filter { $0.event.type == "incident.declared" }
        #expect(declared.count == 1)
    }

    @Test func aDatabaseFailureInOneDeliveryFailsTheWholeIngestAndStoresNothing() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await Self.addComponent("api", store)
        for sql in [
            "CREATE FUNCTION refuse_boom() RETURNS trigger AS $$ BEGIN IF NEW.dedupKey = 'boom' THEN RAISE 'refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON signal FOR EACH ROW EXECUTE FUNCTION refuse_boom()",
        ] {
            try await store.client.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger)
        }
        let good = IngestBatch(origin: .source(Self.source()), events: [Self.fire("disk")])
        let bad = IngestBatch(origin: .source(Self.source(id: 2)), events: [Self.fire("boom")])
        await #expect(throws: (any Error).self) { _ = try await store.ingest([good, bad], policy: SignalPolicy(), now: Self.now) }
        #expect(try await store.signals(SignalQuery()).isEmpty)
        #expect(try await store.eventHead() == 0)
    }

    @Test func clearingEverySignalMovesTheIncidentToMonitoringAndQuietResolvesIt() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await Self.addComponent("api", store)
        let source = Self.source()
        _ = try await store.ingest(
            [IngestBatch(origin: .source(source), events: [Self.fire("disk"), Self.fire("cpu")])], policy: SignalPolicy(), now: Self.now)
        let head = try await store.eventHead()
        let resolve = SignalEvent(dedupKey: "disk", action: .resolve, summary: "")
        let first = try await store.ingest([IngestBatch(origin: .source(source), events: [resolve])], policy: SignalPolicy(), now: Self.now.addingTimeInterval(60))
        #expect(try first[0].get().map(\.effect) == [.resolved])
        #expect(try await Self.incidentStatuses(store) != ["monitoring"])
        let cpu = SignalEvent(dedupKey: "cpu", action: .resolve, summary: "")
        let ack = SignalEvent(dedupKey: "nothing", action: .acknowledge, summary: "")
        let second = try await store.ingest(
            [IngestBatch(origin: .source(source), events: [cpu, ack])], policy: SignalPolicy(), now: Self.now.addingTimeInterval(60))
        #expect(try second[0].get().map(\.effect) == [.resolved, .ignored])
        #expect(try await Self.incidentStatuses(store) == ["monitoring"])
        #expect(try await store.signals(SignalQuery(status: .resolved)).count == 2)
        #expect(try await store.signals(SignalQuery(status: .firing)).isEmpty)
        let later = try await store.events(after: head, limit: 100)
        #expect(later.contains { $0.event.type == "incident.status_changed" })
        #expect(later.allSatisfy { $0.actor == .monitor(id: source.id, name: source.name) })
        // A monitoring incident still impairs its component until it resolves.
        #expect(!later.contains { $0.event.type == "component.status_changed" })

        let policy = SignalPolicy()
        #expect(try await store.autoResolveIncidents(policy: policy, now: Self.now.addingTimeInterval(60 + policy.quietPeriod - 1)).isEmpty)
        let incidentID = try #require(try await store.signals(SignalQuery()).first?.incidentID)
        let resolvedAt = Self.now.addingTimeInterval(60 + policy.quietPeriod)
        let beforeResolve = try await store.eventHead()
        #expect(try await store.autoResolveIncidents(policy: policy, now: resolvedAt) == [incidentID])
        #expect(try await Self.incidentStatuses(store) == ["resolved"])
        let resolvedEvents = try await store.events(after: beforeResolve, limit: 100).map(\.event.type)
        #expect(resolvedEvents.contains("incident.status_changed") && resolvedEvents.contains("component.status_changed"))
        #expect(try await store.autoResolveIncidents(policy: policy, now: resolvedAt).isEmpty)
        #expect(try await store.signals(SignalQuery(incidentID: incidentID, limit: 1)).count == 1)
        #expect(try await store.signals(SignalQuery(incidentID: incidentID + 1)).isEmpty)
    }

    @Test func anIntegrationsDeliveriesCountAgainstItAndRefuseOnceDisabled() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let integration = try await store.createIntegration(
            Integration(name: "prom", kind: .alertmanager, keyHash: "hash-1", keyHint: "abc123", createdAt: Self.now, updatedAt: Self.now))
        let batch = IngestBatch(origin: .integrationKey(hash: "hash-1"), events: [Self.fire("a"), Self.fire("b")])
        let receipts = try (try await store.ingest([batch], policy: SignalPolicy(), now: Self.now))[0].get()
        // Alerts that name no component group into one incident.
        #expect(receipts.map(\.effect) == [.openedIncident, .joinedIncident])
        let counted = try #require(try await store.integration(id: integration.id))
        #expect(counted.eventCount == 2 && counted.lastEventAt == Self.now)
        let events = try await Self.allEvents(store)
        #expect(events.filter { $0.event.type != "integration.created" }.allSatisfy { $0.actor == .integration(id: integration.id, name: "prom") })
        _ = try await store.updateIntegration(id: integration.id) { $0.isEnabled = false }
        let refused = try await store.ingest([batch], policy: SignalPolicy(), now: Self.now)
        #expect((try? refused[0].get()) == nil)
        #expect(try await store.integration(id: integration.id)?.eventCount == 2)
    }
}
