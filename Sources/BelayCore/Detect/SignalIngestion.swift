import Foundation

/// What one alert event does, decided without a database: the backend looks up the active signal with the
/// event's key, asks for a plan, stores what the plan says, and hands the stored signal back so the
/// incidents it touches change here, in Core. One value per delivery: open incidents are loaded once,
/// changed in memory, and written once at the end.
public struct SignalIngestion: Sendable {
    /// What the backend must store for one event.
    public enum Plan: Sendable, Equatable {
        /// Nothing to store: an acknowledgement or resolution for an alert that is not active.
        case ignore(dedupKey: String)
        /// A repeat of an active alert. When `counted`, its last-received time and count are saved.
        case duplicate(Signal, counted: Bool)
        /// A new alert that opens an incident: store the incident, then the signal linked to it.
        case openIncident(Signal, Incident)
        /// A new alert that joins the open incident `incidentID`: store the signal linked to it.
        case join(Signal, incidentID: Int64)
        /// The active alert was acknowledged: save the signal.
        case acknowledge(Signal)
        /// The active alert cleared: save the signal.
        case clear(Signal)
    }

    public let source: SignalSource
    public let policy: SignalPolicy
    public let knownComponents: Set<String>
    /// Components whose automatic incidents are public.
    public let publicComponents: Set<String>
    public let now: Date
    /// Open incidents by id, as changed so far by this delivery.
    public private(set) var open: [Int64: Incident]
    /// Timeline entries to add, per incident.
    public private(set) var entries: [Int64: [TimelineEntry]] = [:]
    /// Incidents to save at the end, in the order first touched.
    public private(set) var touched: [Int64] = []
    /// Events in the order they happened, written once the incidents are saved.
    public private(set) var events: [DomainEvent] = []
    /// Entries for incidents already resolved, which the backend inserts as they are.
    public private(set) var lateEntries: [TimelineEntry] = []
    /// Whether this source has fed an incident, as far as this delivery knows.
    private var fedBySource: [Int64: Bool] = [:]
    private let before: [Incident]

    public init(
        source: SignalSource, openIncidents: [Incident], knownComponents: Set<String>, publicComponents: Set<String> = [], policy: SignalPolicy, now: Date
    ) {
        self.source = source
        self.publicComponents = publicComponents
        self.policy = policy
        self.knownComponents = knownComponents
        self.now = now
        self.before = openIncidents
        self.open = Dictionary(openIncidents.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Decides what `event` does, given the active signal with its key (if any). `fedBySource` answers whether
    /// this source has ever fed an incident; it is asked only for alerts that name no component.
    public mutating func plan(
        _ event: SignalEvent, matchedRule: Int?, existing: Signal?, fedBySource lookup: (Int64) throws -> Bool
    ) rethrows -> Plan {
        switch event.action {
        case .trigger:
            if var signal = existing {
                signal.lastReceivedAt = now
                signal.eventCount += 1
                return .duplicate(signal, counted: true)
            }
            let route = source.routing.route(event, matchedRule: matchedRule, knownComponents: knownComponents)
            let signal = Signal(
                sourceKind: source.kind, sourceID: source.id, sourceName: source.name, dedupKey: event.dedupKey, status: .firing,
                summary: event.summary, severity: route.severity, source: event.source, components: route.components, labels: event.labels,
                links: event.links, details: event.details, startsAt: min(event.startsAt ?? now, now), firstReceivedAt: now, lastReceivedAt: now)
            var fed: [Int64: Bool] = [:]
            for incident in open.values
            where route.components.isEmpty && incident.impacts.isEmpty && now.timeIntervalSince(incident.updatedAt) <= policy.groupingWindow
            {
                if let known = fedBySource[incident.id] { fed[incident.id] = known } else { fed[incident.id] = try lookup(incident.id) }
            }
            fedBySource.merge(fed) { _, new in new }
            let target = SignalLifecycle.incidentToJoin(
                components: route.components, source: source, openIncidents: Array(open.values), fedBySource: { fed[$0] ?? false },
                policy: policy, now: now)
            if let target {
                var linked = signal
                linked.incidentID = target.id
                return .join(linked, incidentID: target.id)
            }
            return .openIncident(signal, Incident.open(from: signal, source: source, publicComponents: publicComponents, now: now).0)
        case .acknowledge:
            guard var signal = existing else { return .ignore(dedupKey: event.dedupKey) }
            guard signal.status == .firing else { return .duplicate(signal, counted: false) }
            signal.status = .acknowledged
            signal.lastReceivedAt = now
            signal.eventCount += 1
            return .acknowledge(signal)
        case .resolve:
            guard var signal = existing else { return .ignore(dedupKey: event.dedupKey) }
            signal.status = .resolved
            signal.endsAt = min(event.endsAt ?? now, now)
            signal.lastReceivedAt = now
            signal.eventCount += 1
            return .clear(signal)
        }
    }

    /// Records what the stored plan did: `signal` is the plan's signal as stored (with its id), `incidentID`
    /// the id of an incident the plan opened, and `activeRemaining` (for a clear) how many other signals of its
    /// incident are still active. Returns the receipt for the sender.
    public mutating func stored(_ plan: Plan, signal: Signal?, openedIncidentID: Int64? = nil, activeRemaining: Int = 0) throws
        -> SignalReceipt
    {
        let source = self.source
        let now = self.now
        switch plan {
        case .ignore(let key):
            return SignalReceipt(dedupKey: key, signalID: nil, incidentID: nil, effect: .ignored)
        case .duplicate(let duplicate, _):
            return SignalReceipt(dedupKey: duplicate.dedupKey, signalID: duplicate.id, incidentID: duplicate.incidentID, effect: .duplicate)
        case .openIncident(_, var incident):
            guard let signal, let id = openedIncidentID else { throw DomainError.invalid(field: "signal", message: "an opened incident was not stored") }
            incident.id = id
            let (_, opening) = Incident.open(from: signal, source: source, publicComponents: publicComponents, now: now)
            open[id] = incident
            touch(id)
            entries[id, default: []] += opening
            // The incident's events first, so no event names an incident the log has not declared yet.
            events += DomainEvent.recording(opening, incidentID: id)
            events.append(triggered(signal))
            fedBySource[id] = true
            return receipt(signal, .openedIncident)
        case .join(_, let id):
            guard let signal else { throw DomainError.invalid(field: "signal", message: "a joining signal was not stored") }
            events.append(triggered(signal))
            try change(id) { try $0.join(signal, source: source, now: now) }
            fedBySource[id] = true
            return receipt(signal, .joinedIncident)
        case .acknowledge(let acknowledged):
            events.append(.signalAcknowledged(id: acknowledged.id, incidentID: acknowledged.incidentID))
            if let id = acknowledged.incidentID { try change(id) { $0.acknowledge(acknowledged, source: source, now: now) } }
            return receipt(acknowledged, .acknowledged)
        case .clear(let cleared):
            events.append(.signalResolved(id: cleared.id, incidentID: cleared.incidentID))
            if let id = cleared.incidentID {
                if open[id] != nil {
                    try change(id) { try $0.clear(cleared, activeRemaining: activeRemaining, source: source, now: now) }
                } else {
                    // A resolved incident still records that its alert cleared.
                    var entry = SignalLifecycle.clearedEntry(cleared, source: source, now: now)
                    entry.incidentID = id
                    lateEntries.append(entry)
                    events += DomainEvent.recording([entry], incidentID: id)
                }
            }
            return receipt(cleared, .resolved)
        }
    }

    /// The incidents to save, with their new timeline entries.
    public var changedIncidents: [(Incident, [TimelineEntry])] {
        touched.compactMap { id in open[id].map { ($0, entries[id] ?? []) } }
    }

    /// The open incidents once this delivery is stored, in id order as a backend reads them: what the next
    /// delivery of the same group commit starts from, so a group reads them once. `saved` holds the
    /// changed incidents as stored (their new updates with the ids the store gave them).
    public func openIncidents(afterSaving saved: [Incident]) -> [Incident] {
        var byID = Dictionary(before.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for incident in saved { byID[incident.id] = incident }
        return byID.values.filter(\.isOpen).sorted { $0.id < $1.id }
    }

    /// Whether any incident this delivery touched changed its impact or was opened, the only ways an alert
    /// can change a component's status; when not, the backend need not load the maintenance in force.
    public var mayChangeComponentStatus: Bool {
        touched.contains { id in
            guard let after = open[id] else { return false }
            guard let old = before.first(where: { $0.id == id }) else { return true }
            return old.impacts != after.impacts || old.isOpen != after.isOpen
        }
    }

    /// Component status changes this delivery caused, given the maintenance in force.
    public func componentStatusEvents(maintenances: [MaintenanceWindow]) -> [DomainEvent] {
        let changed = changedIncidents.map(\.0)
        let slugs = Set(changed.flatMap { $0.impacts.map(\.slug) } + before.filter { touched.contains($0.id) }.flatMap { $0.impacts.map(\.slug) })
        guard !slugs.isEmpty else { return [] }
        return ServiceStatus.statusEvents(slugs: slugs, before: before, after: Array(open.values), maintenances: maintenances, now: now)
    }

    private mutating func change(_ id: Int64, _ body: (inout Incident) throws -> [TimelineEntry]) rethrows {
        guard var incident = open[id] else { return }
        let added = try body(&incident)
        open[id] = incident
        touch(id)
        entries[id, default: []] += added
        events += DomainEvent.recording(added, incidentID: id)
    }

    private mutating func touch(_ id: Int64) {
        if !touched.contains(id) { touched.append(id) }
    }

    private func triggered(_ signal: Signal) -> DomainEvent {
        .signalTriggered(
            id: signal.id, source: signal.sourceKind, sourceID: signal.sourceID, dedupKey: signal.dedupKey, severity: signal.severity,
            incidentID: signal.incidentID)
    }

    private func receipt(_ signal: Signal, _ effect: SignalReceipt.Effect) -> SignalReceipt {
        SignalReceipt(dedupKey: signal.dedupKey, signalID: signal.id, incidentID: signal.incidentID, effect: effect)
    }
}

extension ServiceStatus {
    /// The status changes of `slugs` between two sets of open incidents, as events.
    public static func statusEvents(
        slugs: Set<String>, before: [Incident], after: [Incident], maintenances: [MaintenanceWindow], now: Date
    ) -> [DomainEvent] {
        statusEvents(slugs: slugs, incidents: (before, after), maintenances: (maintenances, maintenances), now: now)
    }

    /// The status changes of `slugs` between two states of the incidents and maintenance windows, as events.
    public static func statusEvents(
        slugs: Set<String>, incidents: (before: [Incident], after: [Incident]),
        maintenances: (before: [MaintenanceWindow], after: [MaintenanceWindow]), now: Date
    ) -> [DomainEvent] {
        let components = slugs.sorted().map { Component(slug: $0, name: $0, createdAt: now, updatedAt: now) }
        let old = componentStatuses(components: components, incidents: incidents.before, maintenances: maintenances.before, now: now)
        let new = componentStatuses(components: components, incidents: incidents.after, maintenances: maintenances.after, now: now)
        return components.compactMap { component in
            let slug = component.slug
            guard let from = old[slug], let to = new[slug], from != to else { return nil }
            return .componentStatusChanged(slug: slug, from: from, to: to)
        }
    }
}
