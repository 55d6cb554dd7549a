import Foundation

/// What a replay produced for one incident.
public struct ReplayIncident: Codable, Sendable {
    public struct Durations: Codable, Sendable, Equatable {
        /// Impact start to detection.
        public var timeToDetect: TimeInterval?
        /// Detection to acknowledgement.
        public var timeToAcknowledge: TimeInterval?
        /// Impact start to mitigation.
        public var timeToMitigate: TimeInterval?
        /// Impact start to resolution: the length of the impact.
        public var timeToResolve: TimeInterval?

        public init(_ m: Milestones) {
            func span(_ a: Date?, _ b: Date?) -> TimeInterval? { a.flatMap { a in b.map { $0.timeIntervalSince(a) } } }
            timeToDetect = span(m.impactStartedAt, m.detectedAt)
            timeToAcknowledge = span(m.detectedAt, m.acknowledgedAt)
            timeToMitigate = span(m.impactStartedAt, m.mitigatedAt)
            timeToResolve = span(m.impactStartedAt, m.resolvedAt)
        }
    }

    public struct SuspectView: Codable, Sendable {
        public var summary: String
        public var kind: ChangeKind
        public var score: Double
        public var reasons: [String]
    }

    public var id: Int64
    public var title: String
    public var status: IncidentStatus
    public var suspects: [SuspectView]
    public var possiblyAffected: [String]
    public var milestones: Milestones
    public var durations: Durations
}

public struct ReplayResult: Codable, Sendable {
    public var incidents: [ReplayIncident]
}

/// Feeds a replay file through the same store and lifecycle functions as live traffic, each step at the
/// time the file gives, then ranks suspects for every incident as of the last event.
public struct ReplayRunner {
    public let store: any BelayStore
    public let author = "replay"
    /// Keep map nodes and components that already exist (several replays loaded into one directory).
    public var reuseExistingMap = false

    public init(store: any BelayStore, reuseExistingMap: Bool = false) {
        self.store = store
        self.reuseExistingMap = reuseExistingMap
    }

    /// Replays `file`. Its events describe the past: they are logged, never announced to anyone.
    public func run(_ file: ReplayFile) async throws -> ReplayResult {
        try await WriteContext.unannounced { try await play(file) }
    }

    private func play(_ file: ReplayFile) async throws -> ReplayResult {
        // The map: nodes in dependency order, then components in dependency order.
        let existing = Set(try await store.dependencyMap().entries.keys)
        var pendingNodes = (file.nodes ?? []).filter { !(reuseExistingMap && existing.contains($0.slug)) }
        while !pendingNodes.isEmpty {
            let known = Set(try await store.dependencyMap().entries.keys)
            guard let index = pendingNodes.firstIndex(where: { ($0.dependsOn ?? []).allSatisfy(known.contains) }) else {
                throw DomainError.invalid(field: "nodes", message: "unknown node or cycle among \(pendingNodes.map(\.slug).joined(separator: ", "))")
            }
            let node = pendingNodes.remove(at: index)
            _ = try await store.saveNode(MapNode(slug: node.slug, name: node.name, kind: node.kind, dependsOn: node.dependsOn ?? [], expiresAt: node.expiresAt))
        }
        let start = file.events.map(\.at).min() ?? Date()
        var pendingComponents = file.components.filter { !(reuseExistingMap && existing.contains($0.slug)) }
        var position = 0
        while !pendingComponents.isEmpty {
            let known = Set(try await store.dependencyMap().entries.keys)
            guard let index = pendingComponents.firstIndex(where: { ($0.dependsOn ?? []).allSatisfy(known.contains) }) else {
                throw DomainError.invalid(field: "components", message: "unknown dependency or cycle among \(pendingComponents.map(\.slug).joined(separator: ", "))")
            }
            let entry = pendingComponents.remove(at: index)
            position += 1
            let created = start.addingTimeInterval(-30 * 86400)
            _ = try await store.createComponent(
                Component(
                    slug: entry.slug, name: entry.name, description: entry.description ?? "", group: entry.group, isPublic: entry.isPublic ?? true,
                    position: position, dependsOn: entry.dependsOn ?? [], createdAt: created, updatedAt: created))
        }
        for entry in file.changes ?? [] {
            _ = try await store.recordChange(
                Change(
                    kind: entry.kind, summary: entry.summary, targets: entry.targets, environment: entry.environment ?? "production", author: entry.author,
                    sourceURL: entry.source.flatMap { $0.hasPrefix("http") ? $0 : nil }, startedAt: entry.startedAt, finishedAt: entry.finishedAt,
                    reviewedBy: entry.reviewedBy, tested: entry.tested, status: entry.status ?? .done, createdAt: entry.startedAt))
        }
        for entry in file.maintenance ?? [] {
            let created = entry.createdAt ?? min(entry.scheduledStart.addingTimeInterval(-86400), entry.updates?.map(\.at).min() ?? entry.scheduledStart)
            let window = try await store.scheduleMaintenance(
                MaintenanceDraft(title: entry.title, description: entry.description ?? "", components: entry.components, scheduledStart: entry.scheduledStart, scheduledEnd: entry.scheduledEnd),
                author: author, now: created)
            for update in entry.updates ?? [] {
                let author = self.author
                _ = try await store.updateMaintenance(id: window.id) { window in
                    if let status = update.status {
                        try window.transition(to: status, message: update.message, author: author, now: update.at)
                    } else if let message = update.message {
                        try window.postUpdate(message: message, author: author, now: update.at)
                    }
                }
            }
        }

        var incidents: [String: Int64] = [:]
        // Every incident this replay opened, in order, whether declared or opened by a signal.
        var created: [Int64] = []
        var sources: [String: Integration] = [:]
        var last = start
        // Time order; events at the same moment keep their order in the file.
        let ordered = file.events.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }
        for (index, event) in ordered {
            let field = "events[\(index)]"
            let now = event.at
            last = max(last, now)
            func incidentID() throws -> Int64 {
                guard let key = event.incident, let id = incidents[key] else {
                    throw DomainError.invalid(field: field, message: "names incident '\(event.incident ?? "")', which no earlier event opened")
                }
                return id
            }
            let author = self.author
            switch event.type {
            case .signal:
                let name = event.source ?? "monitoring"
                var integration = sources[name]
                if integration == nil {
                    integration = try await store.createIntegration(
                        Integration(name: name, kind: .generic, keyHash: "replay-\(UUID().uuidString)", keyHint: "replay", publicIncidents: true, createdAt: now, updatedAt: now))
                    sources[name] = integration
                }
                let components = (event.components ?? []).map(\.slug)
                let severity = event.severity.flatMap(Routing.severity(fromSenderWord:)) ?? .sev2
                let source = SignalSource(
                    kind: .integration, id: integration!.id, name: name, routing: Routing(defaultComponents: components, defaultSeverity: severity),
                    publicIncidents: true)
                let signal = SignalEvent(
                    dedupKey: event.dedupKey ?? "\(name)-\(index)", action: event.action ?? .trigger, summary: event.summary ?? event.title ?? name,
                    severity: event.severity, source: name, startsAt: event.impactStartedAt ?? now, endsAt: event.action == .resolve ? now : nil)
                let results = try await store.ingest([IngestBatch(origin: .source(source), events: [signal])], policy: SignalPolicy(), now: now)
                let receipts = try results[0].get()
                for receipt in receipts where receipt.effect == .openedIncident { if let id = receipt.incidentID { created.append(id) } }
                if let key = event.incident, let id = receipts.first?.incidentID, incidents[key] == nil { incidents[key] = id }
            case .declare:
                guard let key = event.incident else { throw DomainError.invalid(field: field, message: "a declare needs an incident key") }
                let draft = IncidentDraft(
                    title: event.title ?? key, severity: event.severity.flatMap(Severity.init(rawValue:)) ?? .sev2, isPublic: event.public ?? true,
                    impacts: (event.components ?? []).map { ComponentImpact(slug: $0.slug, impact: $0.impact ?? .majorOutage) }, message: event.message,
                    milestones: Milestones(impactStartedAt: event.impactStartedAt))
                let id = try await store.declareIncident(draft, author: author, now: now).0.id
                incidents[key] = id
                created.append(id)
            case .acknowledge:
                _ = try await store.updateIncident(id: try incidentID()) { incident, _ in
                    incident.milestones.acknowledgedAt == nil ? try incident.setMilestone(.acknowledgedAt, to: now, author: author, now: now) : []
                }
            case .update:
                let message = event.message ?? ""
                _ = try await store.updateIncident(id: try incidentID()) { incident, known in
                    // A status-page update is public unless the event says otherwise.
                    var entries = incident.setVisibility(isPublic: event.public ?? true, author: author, now: now)
                    entries += try incident.postUpdate(status: event.status, message: message, knownComponents: known, author: author, now: now)
                    return entries
                }
            case .note:
                let text = event.text ?? event.message ?? ""
                _ = try await store.updateIncident(id: try incidentID()) { incident, _ in [try incident.note(text, occurredAt: now, author: author, now: now)] }
            case .milestone:
                guard let milestone = event.milestone, let value = event.value else {
                    throw DomainError.invalid(field: field, message: "a milestone event needs milestone and value")
                }
                _ = try await store.updateIncident(id: try incidentID()) { incident, _ in try incident.setMilestone(milestone, to: value, author: author, now: now) }
            }
        }

        let zone = file.timezone.flatMap(TimeZone.init(identifier:)) ?? TimeZone.utc
        var result: [ReplayIncident] = []
        // Only the incidents this replay made (the directory may hold earlier replays too).
        for id in created {
            guard let incident = try await store.incident(id: id) else { continue }
            let report = try await store.suspects(incidentID: incident.id, now: last, settings: SuspectRanking.Settings(timeZone: zone))
            result.append(
                ReplayIncident(
                    id: incident.id, title: incident.title, status: incident.status,
                    suspects: report.suspects.prefix(5).map { .init(summary: $0.summary, kind: $0.kind, score: $0.score, reasons: $0.reasons) },
                    possiblyAffected: report.possiblyAffected, milestones: incident.milestones, durations: .init(incident.milestones)))
        }
        return ReplayResult(incidents: result)
    }
}
