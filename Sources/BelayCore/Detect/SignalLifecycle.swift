import Foundation

/// How signals open, join, acknowledge and clear incidents. Pure functions over values, like
/// `IncidentLifecycle`; the store runs them inside the transaction that records the event.
public enum SignalLifecycle {
    /// An incident's impact on a component, from the severity of the signal that names it.
    public static func impact(for severity: Severity) -> Impact {
        switch severity {
        case .sev1: return .majorOutage
        case .sev2: return .partialOutage
        case .sev3, .sev4: return .degradedPerformance
        }
    }

    /// The open incident a new alert should join: one affecting any of the same components (or, for an
    /// alert with no component, one opened by the same source) and active within the grouping window.
    /// The most recently active such incident wins.
    public static func incidentToJoin(
        components: [String], source: SignalSource, openIncidents: [Incident], fedBySource: (Int64) -> Bool,
        policy: SignalPolicy, now: Date
    ) -> Incident? {
        let wanted = Set(components)
        return openIncidents
            .filter { incident in
                guard incident.isOpen, now.timeIntervalSince(incident.updatedAt) <= policy.groupingWindow else { return false }
                if wanted.isEmpty { return incident.impacts.isEmpty && fedBySource(incident.id) }
                return incident.impacts.contains { wanted.contains($0.slug) }
            }
            .max { $0.updatedAt < $1.updatedAt }
    }

    /// The entry recording that an alert cleared, for an incident already resolved.
    public static func clearedEntry(_ signal: Signal, source: SignalSource, now: Date) -> TimelineEntry {
        signalEntry(signal, .cleared, source: source, occurredAt: min(signal.endsAt ?? now, now), now: now)
    }

    static func signalEntry(_ signal: Signal, _ transition: SignalFact.Transition, source: SignalSource, occurredAt: Date, now: Date) -> TimelineEntry {
        let fact = SignalFact(
            transition: transition, signalID: signal.id, dedupKey: signal.dedupKey, status: signal.status, severity: signal.severity,
            components: signal.components, link: signal.links.first?.href)
        let verb = switch transition {
        case .fired: "Firing"
        case .acknowledged: "Acknowledged"
        case .cleared: "Resolved"
        }
        return TimelineEntry(fact: .signal(fact), author: source.author, occurredAt: occurredAt, recordedAt: now, text: "\(verb): \(signal.summary)")
    }
}

extension Incident {
    /// Opens an incident for a new alert. Nobody has acknowledged it yet; detection is the alert's arrival
    /// and impact began when the sender says the problem started (never later than detection).
    /// `publicComponents` are the components whose automatic incidents are public (`automaticIncidentsPublic`):
    /// the incident is public when its source says so or when it names one of them.
    public static func open(from signal: Signal, source: SignalSource, publicComponents: Set<String> = [], now: Date) -> (Incident, [TimelineEntry]) {
        let impact = SignalLifecycle.impact(for: signal.severity)
        let title = signal.summary.count > IncidentLifecycle.maxTitle ? String(signal.summary.prefix(IncidentLifecycle.maxTitle - 1)) + "…" : signal.summary
        let detected = signal.firstReceivedAt
        let incident = Incident(
            title: title.isEmpty ? "Alert from \(source.name)" : title, severity: signal.severity, status: .investigating, isPublic: source.publicIncidents || signal.components.contains(where: publicComponents.contains),
            impacts: signal.components.map { ComponentImpact(slug: $0, impact: impact) },
            milestones: Milestones(impactStartedAt: min(signal.startsAt, detected), detectedAt: detected),
            createdAt: now, updatedAt: now, autoResolve: true)
        let entries = [
            TimelineEntry(
                fact: .declared(severity: signal.severity, status: .investigating, signalID: signal.id), author: source.author,
                occurredAt: now, recordedAt: now, text: "Opened \(signal.severity.rawValue) incident from \(source.kind.rawValue) \(source.name)"),
            SignalLifecycle.signalEntry(signal, .fired, source: source, occurredAt: signal.startsAt, now: now),
        ]
        return (incident, entries)
    }

    /// A new alert joins this incident: components it names are added, and an incident that was only
    /// being watched goes back to investigating.
    public mutating func join(_ signal: Signal, source: SignalSource, now: Date) throws -> [TimelineEntry] {
        var entries = [SignalLifecycle.signalEntry(signal, .fired, source: source, occurredAt: signal.startsAt, now: now)]
        let missing = signal.components.filter { impact(on: $0) == nil }
        if !missing.isEmpty {
            let impact = SignalLifecycle.impact(for: signal.severity)
            let added = impacts + missing.map { ComponentImpact(slug: $0, impact: impact) }
            entries += try setImpacts(added, knownComponents: Set(added.map(\.slug)), author: source.author, now: now)
        }
        // A more severe alert raises the incident to its severity; never lowers it (people may have raised it).
        if signal.severity < severity {
            let from = severity
            severity = signal.severity
            entries.append(
                TimelineEntry(
                    fact: .severityChanged(from: from, to: signal.severity), author: source.author, occurredAt: now, recordedAt: now,
                    text: "Severity raised from \(from.rawValue) to \(signal.severity.rawValue): a \(signal.severity.rawValue) alert from \(source.kind.rawValue) \(source.name) joined"))
        }
        signalsClearedAt = nil
        if status == .monitoring {
            entries += try changeStatus(to: .investigating, author: source.author, now: now)
        }
        updatedAt = now
        return entries
    }

    /// The sender acknowledged an alert: the incident's acknowledgement milestone, if not yet set.
    public mutating func acknowledge(_ signal: Signal, source: SignalSource, now: Date) -> [TimelineEntry] {
        var entries = [SignalLifecycle.signalEntry(signal, .acknowledged, source: source, occurredAt: now, now: now)]
        if milestones.acknowledgedAt == nil, let detected = milestones.detectedAt, detected <= now {
            milestones.acknowledgedAt = now
            entries.append(
                TimelineEntry(
                    fact: .milestoneSet(milestone: .acknowledgedAt, at: now, previous: nil, backdated: false), author: source.author,
                    occurredAt: now, recordedAt: now, text: "acknowledgedAt set to \(IncidentLifecycle.iso(now))"))
        }
        updatedAt = now
        return entries
    }

    /// An alert cleared. When it was the last active one, the incident moves to monitoring (which marks
    /// it mitigated) and the quiet period starts.
    public mutating func clear(_ signal: Signal, activeRemaining: Int, source: SignalSource, now: Date) throws -> [TimelineEntry] {
        let clearedAt = min(signal.endsAt ?? now, now)
        var entries = [SignalLifecycle.signalEntry(signal, .cleared, source: source, occurredAt: clearedAt, now: now)]
        if activeRemaining == 0 && isOpen {
            signalsClearedAt = now
            if status != .monitoring {
                entries += try changeStatus(to: .monitoring, author: source.author, now: now)
                entries.append(
                    TimelineEntry(
                        fact: .note, author: "belay", occurredAt: now, recordedAt: now,
                        text: autoResolve && !holdOpen
                            ? "Every signal has cleared; Belay will resolve this incident after the quiet period unless it is held open"
                            : "Every signal has cleared"))
            }
        }
        updatedAt = now
        return entries
    }

    /// Whether Belay should now resolve this incident by itself.
    public func dueForAutoResolve(policy: SignalPolicy, now: Date) -> Bool {
        guard autoResolve, !holdOpen, status == .monitoring, let cleared = signalsClearedAt else { return false }
        return now.timeIntervalSince(cleared) >= policy.quietPeriod
    }

    /// Resolves an incident whose signals stayed clear through the quiet period.
    public mutating func autoResolve(policy: SignalPolicy, now: Date) throws -> [TimelineEntry] {
        var entries = try changeStatus(to: .resolved, author: "belay", now: now)
        entries.append(
            TimelineEntry(
                fact: .note, author: "belay", occurredAt: now, recordedAt: now,
                text: "Resolved automatically: no signal for \(Durations.describe(policy.quietPeriod))"))
        return entries
    }

    /// A person holds the incident open (or lets Belay resolve it again).
    public mutating func setHoldOpen(_ hold: Bool, author: String, now: Date) -> [TimelineEntry] {
        guard hold != holdOpen else { return [] }
        holdOpen = hold
        updatedAt = now
        return [
            TimelineEntry(
                fact: .holdOpenChanged(hold: hold), author: author, occurredAt: now, recordedAt: now,
                text: hold ? "Held open: Belay will not resolve this incident by itself" : "Released: Belay may resolve this incident once its signals stay clear")
        ]
    }
}
