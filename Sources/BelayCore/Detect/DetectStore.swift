import Foundation

/// A page of monitors in id order.
public struct MonitorQuery: Sendable, Equatable {
    public var after: Int64?
    public var limit: Int
    public var status: MonitorStatus?
    public var kind: MonitorKind?
    /// Case-insensitive text in the name.
    public var text: String?

    public init(after: Int64? = nil, limit: Int = 50, status: MonitorStatus? = nil, kind: MonitorKind? = nil, text: String? = nil) {
        self.after = after
        self.limit = limit
        self.status = status
        self.kind = kind
        self.text = text
    }
}

public struct SignalQuery: Sendable, Equatable {
    public var status: SignalStatus?
    public var incidentID: Int64?
    public var limit: Int

    public init(status: SignalStatus? = nil, incidentID: Int64? = nil, limit: Int = 100) {
        self.status = status
        self.incidentID = incidentID
        self.limit = limit
    }
}

/// One delivery to ingest: events from the integration holding `keyHash`, or from a monitor.
public struct IngestBatch: Sendable {
    public enum Origin: Sendable {
        case integrationKey(hash: String)
        case source(SignalSource)
    }

    public var origin: Origin
    public var events: [SignalEvent]
    /// Which rule routes each event, decided before the write transaction by a `RuleMatcher` over
    /// `routedWith`, so user patterns never run while every other write waits. Used only while the
    /// source's routing is still that one; otherwise the store routes again.
    public var matchedRules: [Int?]?
    public var routedWith: Routing?

    public init(origin: Origin, events: [SignalEvent], routedWith: Routing? = nil, matchedRules: [Int?]? = nil) {
        self.origin = origin
        self.events = events
        self.routedWith = routedWith
        self.matchedRules = matchedRules
    }

    /// The rules matched before the transaction, if they still hold: only while the source's routing is the
    /// one they were matched with, and one per event.
    public func matchedRules(for routing: Routing) -> [Int?]? {
        guard routedWith == routing, let matchedRules, matchedRules.count == events.count else { return nil }
        return matchedRules
    }
}

/// One monitor's check as the scheduler hands it to the store: the result and the monitor's new state.
public struct MonitorCheck: Sendable {
    public var monitorID: Int64
    /// Nil when the check could not run (a configuration problem), so no result counts against uptime.
    public var result: CheckResult?
    public var state: MonitorState
    /// Set when the state changed, so the store turns it into a signal in the same transaction.
    public var transition: MonitorStatus?

    public init(result: CheckResult, state: MonitorState, transition: MonitorStatus?) {
        self.monitorID = result.monitorID
        self.result = result
        self.state = state
        self.transition = transition
    }

    /// A check that could not run: only the monitor's state is saved.
    public init(monitorID: Int64, state: MonitorState) {
        self.monitorID = monitorID
        self.result = nil
        self.state = state
        self.transition = nil
    }
}

/// Storage for monitors, integrations and signals.
public protocol DetectStore: Sendable {
    // MARK: Monitors
    func monitors(_ query: MonitorQuery) async throws -> [Monitor]
    func monitorCount() async throws -> Int
    func monitor(id: Int64) async throws -> Monitor?
    /// Every monitor that is not paused, for the scheduler.
    func scheduledMonitors() async throws -> [Monitor]
    func createMonitor(_ monitor: Monitor) async throws -> Monitor
    func updateMonitor(id: Int64, _ change: @escaping @Sendable (inout Monitor) throws -> Void) async throws -> Monitor
    /// Deletes the monitor and its results; its signals and incidents stay.
    func deleteMonitor(id: Int64) async throws
    /// Records a ping for the heartbeat monitor with this token.
    /// Records a ping for the heartbeat monitor whose token hashes to `tokenHash`.
    func recordHeartbeat(tokenHash: String, at now: Date) async throws -> Monitor
    /// Saves results, rollups and states in one transaction; state changes become signals.
    func recordChecks(_ checks: [MonitorCheck], policy: SignalPolicy, now: Date) async throws
    func results(monitorID: Int64, limit: Int) async throws -> [CheckResult]
    func rollups(monitorIDs: [Int64], granularity: RollupGranularity, since: Date) async throws -> [CheckRollup]
    /// Per component with monitors, the checks run and passed each day since `since` (daily rollups summed).
    func measuredDays(since: Date) async throws -> [String: [Int64: MeasuredDay]]
    /// Deletes raw results and rollups older than their retention.
    func pruneResults(rawBefore: Date, minuteBefore: Date, hourBefore: Date) async throws -> Int

    // MARK: Integrations
    func integrations() async throws -> [Integration]
    func integration(id: Int64) async throws -> Integration?
    /// The integration whose key hashes to `keyHash`, enabled or not.
    func integration(keyHash: String) async throws -> Integration?
    func createIntegration(_ integration: Integration) async throws -> Integration
    func updateIntegration(id: Int64, _ change: @escaping @Sendable (inout Integration) throws -> Void) async throws -> Integration
    func deleteIntegration(id: Int64) async throws

    // MARK: Signals
    /// Ingests many deliveries in one transaction, each in its own savepoint: one failing does not
    /// spoil the others. Returns one result per batch, in order.
    func ingest(_ batches: [IngestBatch], policy: SignalPolicy, now: Date) async throws -> [Result<[SignalReceipt], DomainError>]
    func signals(_ query: SignalQuery) async throws -> [Signal]
    /// Resolves every incident whose quiet period has passed; returns their ids.
    func autoResolveIncidents(policy: SignalPolicy, now: Date) async throws -> [Int64]
}
