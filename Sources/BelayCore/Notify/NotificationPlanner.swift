import Foundation

/// What the planner needs to know about the things events name, read by the dispatcher before planning.
public struct NotificationFacts: Sendable {
    public var incidents: [Int64: Incident]
    public var maintenances: [Int64: MaintenanceWindow]
    public var monitors: [Int64: Monitor]
    public var changes: [Int64: Change]
    public var componentNames: [String: String]
    /// Open incidents, to tell whether a change touched something already broken.
    public var openIncidents: [Incident]

    public init(
        incidents: [Int64: Incident] = [:], maintenances: [Int64: MaintenanceWindow] = [:], monitors: [Int64: Monitor] = [:],
        changes: [Int64: Change] = [:], componentNames: [String: String] = [:], openIncidents: [Incident] = []
    ) {
        self.incidents = incidents
        self.maintenances = maintenances
        self.monitors = monitors
        self.changes = changes
        self.componentNames = componentNames
        self.openIncidents = openIncidents
    }
}

/// Turns events into messages and each message into deliveries, one per destination that wants it.
/// Pure: the dispatcher reads the facts, channels and subscribers, and saves what this returns.
public struct NotificationPlanner: Sendable {
    /// A component whose incidents open and clear repeatedly tells subscribers once per window: an incident
    /// declared within this time of an earlier announcement on the same components is not announced, and
    /// neither are its updates.
    public var dampingWindow: TimeInterval

    public static let defaultDampingWindow: TimeInterval = 30 * 60

    public init(dampingWindow: TimeInterval = NotificationPlanner.defaultDampingWindow) {
        self.dampingWindow = dampingWindow
    }

    /// The ids of what `events` name, so the dispatcher knows what to read.
    public static func subjects(of events: [StoredEvent]) -> (incidents: Set<Int64>, maintenances: Set<Int64>, monitors: Set<Int64>, changes: Set<Int64>) {
        var incidents = Set<Int64>(), maintenances = Set<Int64>(), monitors = Set<Int64>(), changes = Set<Int64>()
        for stored in events where stored.announce {
            switch stored.event {
            case .incident(let id, _): incidents.insert(id)
            case .maintenanceScheduled(let id, _, _, _), .maintenanceStatusChanged(let id, _, _): maintenances.insert(id)
            case .monitorStatusChanged(let id, _, _): monitors.insert(id)
            case .changeRecorded(let id, _, _): changes.insert(id)
            default: break
            }
        }
        return (incidents, maintenances, monitors, changes)
    }

    /// The messages `events` announce, in event order. One write's facts about one incident (an update that
    /// also resolves it) make one message. Events not to be announced (replays, the demo) make none.
    public func messages(for events: [StoredEvent], facts: NotificationFacts) -> [NotificationMessage] {
        var messages: [NotificationMessage] = []
        // Facts about one incident from one write share their sequence run and recording time.
        var pending: (incidentID: Int64, recordedAt: Date, message: NotificationMessage)?
        func flush() {
            if let pending { messages.append(pending.message) }
            pending = nil
        }
        for stored in events where stored.announce {
            if case .incident(let id, let fact) = stored.event {
                guard let incident = facts.incidents[id], let message = incidentMessage(fact, incident: incident, stored: stored, facts: facts) else {
                    continue
                }
                if let current = pending, current.incidentID == id, current.recordedAt == stored.recordedAt {
                    if message.topic < current.message.topic || (message.topic == current.message.topic && message.body != nil) {
                        var merged = message
                        merged.notifySubscribers = current.message.notifySubscribers && message.notifySubscribers
                        pending = (id, stored.recordedAt, merged)
                    } else if !message.notifySubscribers {
                        pending?.message.notifySubscribers = false
                    }
                    continue
                }
                flush()
                pending = (id, stored.recordedAt, message)
                continue
            }
            flush()
            if let message = otherMessage(stored, facts: facts) { messages.append(message) }
        }
        flush()
        return messages
    }

    private func incidentMessage(_ fact: TimelineFact, incident: Incident, stored: StoredEvent, facts: NotificationFacts) -> NotificationMessage? {
        let topic: NotificationTopic
        var status: IncidentStatus
        var notify = true
        var body: String?
        switch fact {
        case .declared(_, let declaredStatus, _):
            topic = .incidentDeclared
            status = declaredStatus
            body = incident.updates.first?.body
        case .statusChanged(_, let to):
            topic = to == .resolved ? .incidentResolved : .incidentStatusChanged
            status = to
        case .reopened(let to, _):
            topic = .incidentStatusChanged
            status = to
        case .updatePosted(let posted, let notifyFlag):
            topic = posted == .resolved ? .incidentResolved : .incidentUpdated
            status = posted
            notify = notifyFlag ?? true
            body = incident.updates.last?.body
        default:
            return nil
        }
        let components = incident.impacts.map {
            NotificationMessage.ComponentRef(slug: $0.slug, name: facts.componentNames[$0.slug] ?? $0.slug, status: $0.impact.componentStatus.rawValue)
        }
        // A declaration happened when the incident was made (the time damping compares); later facts when recorded.
        let occurredAt = topic == .incidentDeclared ? incident.createdAt : stored.recordedAt
        return NotificationMessage(
            topic: topic, eventSequence: stored.sequence, occurredAt: occurredAt, title: incident.title, status: status.rawValue,
            severity: incident.severity, isPublic: incident.isPublic, components: components, body: body, incidentID: incident.id,
            notifySubscribers: notify)
    }

    private func otherMessage(_ stored: StoredEvent, facts: NotificationFacts) -> NotificationMessage? {
        func refs(_ slugs: [String]) -> [NotificationMessage.ComponentRef] {
            slugs.map { NotificationMessage.ComponentRef(slug: $0, name: facts.componentNames[$0] ?? $0) }
        }
        switch stored.event {
        case .maintenanceScheduled(let id, _, _, _), .maintenanceStatusChanged(let id, _, _):
            guard let window = facts.maintenances[id] else { return nil }
            let topic: NotificationTopic
            switch stored.event {
            case .maintenanceScheduled: topic = .maintenanceScheduled
            case .maintenanceStatusChanged(_, _, .inProgress): topic = .maintenanceStarted
            case .maintenanceStatusChanged(_, _, .completed): topic = .maintenanceCompleted
            default: return nil
            }
            let status: MaintenanceStatus = switch topic {
            case .maintenanceStarted: .inProgress
            case .maintenanceCompleted: .completed
            default: .scheduled
            }
            return NotificationMessage(
                topic: topic, eventSequence: stored.sequence, occurredAt: stored.recordedAt, title: window.title, status: status.rawValue,
                isPublic: window.isPublic, components: refs(window.components), body: window.updates.last?.body ?? window.description,
                maintenanceID: id, startsAt: window.scheduledStart, endsAt: window.scheduledEnd)
        case .monitorStatusChanged(let id, let from, let to):
            guard let monitor = facts.monitors[id] else { return nil }
            let topic: NotificationTopic
            if to == .down { topic = .monitorDown } else if from == .down && to == .up { topic = .monitorUp } else { return nil }
            return NotificationMessage(
                topic: topic, eventSequence: stored.sequence, occurredAt: stored.recordedAt, title: monitor.name, status: to.rawValue,
                severity: topic == .monitorDown ? monitor.severity : nil, isPublic: false, components: refs(monitor.component.map { [$0] } ?? []),
                monitorID: id)
        case .changeRecorded(let id, _, let targets):
            let touched = Set(targets)
            guard let incident = facts.openIncidents.first(where: { !Set($0.impacts.map(\.slug)).isDisjoint(with: touched) }) else { return nil }
            let change = facts.changes[id]
            return NotificationMessage(
                topic: .changeRecorded, eventSequence: stored.sequence, occurredAt: stored.recordedAt,
                title: change?.summary ?? "Change \(id)", status: incident.status.rawValue, severity: incident.severity, isPublic: false,
                components: refs(targets.filter { facts.componentNames[$0] != nil }),
                body: "Recorded on a component of the open incident \"\(incident.title)\".", incidentID: incident.id, changeID: id)
        default:
            return nil
        }
    }

    /// The deliveries of `messages`: one per enabled channel whose rule matches, and one per subscriber who
    /// wants it unless damping holds the incident back. `announcements` are earlier ones (for damping).
    public func plan(
        _ messages: [NotificationMessage], channels: [NotificationChannel], subscribers: [Subscriber],
        announcements: [SubscriberAnnouncement], now: Date
    ) -> OutboxBatch {
        var known = announcements
        var entries: [OutboxBatch.Entry] = []
        for message in messages {
            var deliveries: [Delivery] = []
            func add(_ destination: DeliveryDestination, _ transport: Transport) {
                deliveries.append(Delivery(
                    key: Delivery.key(eventSequence: message.eventSequence, topic: message.topic, destination: destination),
                    destination: destination, transport: transport, topic: message.topic, incidentID: message.incidentID,
                    nextAttemptAt: now, createdAt: now))
            }
            for channel in channels where channel.isEnabled && channel.rule.matches(message) {
                add(.channel(channel.id), Transport(channel.kind))
            }
            var announcement: SubscriberAnnouncement?
            if message.isPublic && message.notifySubscribers && NotificationTopic.forSubscribers.contains(message.topic) {
                var damped = false
                if let incidentID = message.incidentID {
                    if message.topic == .incidentDeclared {
                        damped = isFlapping(message, within: known)
                        let made = SubscriberAnnouncement(
                            incidentID: incidentID, components: message.components.map(\.slug), at: message.occurredAt, damped: damped)
                        announcement = made
                        known.append(made)
                    } else {
                        damped = known.contains { $0.incidentID == incidentID && $0.damped }
                    }
                }
                if !damped {
                    for subscriber in subscribers where subscriber.wants(message) {
                        add(.subscriber(subscriber.id), subscriber.kind.transport)
                    }
                }
            }
            entries.append(OutboxBatch.Entry(message: message, deliveries: deliveries, announcement: announcement))
        }
        return OutboxBatch(entries: entries)
    }

    /// Whether an incident declared now follows an announced one on the same components within the window.
    func isFlapping(_ message: NotificationMessage, within announcements: [SubscriberAnnouncement]) -> Bool {
        let slugs = message.componentSlugs
        return announcements.contains { earlier in
            guard !earlier.damped, earlier.incidentID != message.incidentID,
                  message.occurredAt.timeIntervalSince(earlier.at) < dampingWindow, earlier.at <= message.occurredAt
            else { return false }
            let earlierSlugs = Set(earlier.components)
            return slugs.isEmpty ? earlierSlugs.isEmpty : !slugs.isDisjoint(with: earlierSlugs)
        }
    }
}

extension Transport {
    public init(_ kind: NotificationChannel.Kind) {
        switch kind {
        case .webhook: self = .webhook
        case .slack: self = .slack
        case .teams: self = .teams
        case .discord: self = .discord
        case .email: self = .email
        }
    }
}
