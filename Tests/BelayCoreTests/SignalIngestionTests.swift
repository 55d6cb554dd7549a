import BelayCore
import Foundation
import Testing

/// The planner decides every dedup, join, acknowledge and clear case on values alone; these tests play the
/// backend's part with a dictionary of signals and counters for ids.
@Suite struct SignalIngestionTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)
    let source = SignalSource(
        kind: .integration, id: 7, name: "prometheus", routing: Routing(defaultComponents: [], defaultSeverity: .sev2), publicIncidents: false)
    let known: Set<String> = ["api", "database"]

    /// A minimal backend: active signals by key, ids handed out in order.
    struct Memory {
        var signals: [String: Signal] = [:]
        var nextSignal: Int64 = 1
        var nextIncident: Int64 = 100
        var fed: Set<Int64> = []

        mutating func run(_ event: SignalEvent, _ ingestion: inout SignalIngestion) throws -> (SignalIngestion.Plan, SignalReceipt) {
            let existing = signals[event.dedupKey]
            let fed = self.fed
            let plan = ingestion.plan(event, matchedRule: nil, existing: existing) { fed.contains($0) }
            let receipt: SignalReceipt
            switch plan {
            case .ignore, .duplicate:
                if case .duplicate(let signal, true) = plan { signals[event.dedupKey] = signal }
                receipt = try ingestion.stored(plan, signal: existing)
            case .openIncident(var signal, _):
                let incidentID = nextIncident
                nextIncident += 1
                signal.incidentID = incidentID
                signal.id = nextSignal
                nextSignal += 1
                signals[event.dedupKey] = signal
                self.fed.insert(incidentID)
                receipt = try ingestion.stored(plan, signal: signal, openedIncidentID: incidentID)
            case .join(var signal, let incidentID):
                signal.id = nextSignal
                nextSignal += 1
                signals[event.dedupKey] = signal
                self.fed.insert(incidentID)
                receipt = try ingestion.stored(plan, signal: signal)
            case .acknowledge(let signal):
                signals[event.dedupKey] = signal
                receipt = try ingestion.stored(plan, signal: signal)
            case .clear(let signal):
                signals[event.dedupKey] = nil
                let remaining = signals.values.filter { $0.incidentID == signal.incidentID && $0.status != .resolved }.count
                receipt = try ingestion.stored(plan, signal: signal, activeRemaining: remaining)
            }
            return (plan, receipt)
        }
    }

    func ingestion(open: [Incident] = [], at date: Date? = nil) -> SignalIngestion {
        SignalIngestion(source: source, openIncidents: open, knownComponents: known, policy: SignalPolicy(), now: date ?? now)
    }

    func fire(_ key: String, component: String? = nil, severity: String? = nil) -> SignalEvent {
        SignalEvent(dedupKey: key, action: .trigger, summary: "\(key) is failing", severity: severity, component: component)
    }

    @Test func aNewAlertOpensAnIncidentWithItsTimelineAndEvents() throws {
        var memory = Memory()
        var batch = ingestion()
        let (plan, receipt) = try memory.run(fire("disk", component: "database"), &batch)
        guard case .openIncident(_, let incident) = plan else { Issue.record("expected an incident, got \(plan)"); return }
        #expect(incident.impacts == [ComponentImpact(slug: "database", impact: .partialOutage)])
        #expect(receipt.effect == .openedIncident)
        #expect(receipt.incidentID == 100)
        #expect(batch.touched == [100])
        let entries = try #require(batch.changedIncidents.first?.1)
        #expect(entries.map(\.kind) == [.declared, .signal])
        #expect(entries[0].fact == .declared(severity: .sev2, status: .investigating, signalID: 1))
        // The incident is declared before any event names it.
        #expect(batch.events.map(\.type) == ["incident.declared", "incident.signal_fired", "signal.triggered"])
        #expect(batch.events.last == .signalTriggered(id: 1, source: .integration, sourceID: 7, dedupKey: "disk", severity: .sev2, incidentID: 100))
        #expect(batch.componentStatusEvents(maintenances: []) == [.componentStatusChanged(slug: "database", from: .operational, to: .partialOutage)])
    }

    @Test func theSameKeyAgainIsADuplicateThatCountsButChangesNothing() throws {
        var memory = Memory()
        var batch = ingestion()
        _ = try memory.run(fire("disk", component: "database"), &batch)
        let eventsBefore = batch.events
        let (plan, receipt) = try memory.run(fire("disk", component: "database"), &batch)
        guard case .duplicate(let signal, counted: true) = plan else { Issue.record("expected a duplicate, got \(plan)"); return }
        #expect(signal.eventCount == 2)
        #expect(receipt.effect == .duplicate)
        #expect(receipt.incidentID == 100)
        #expect(batch.events == eventsBefore)
    }

    @Test func anAlertOnTheSameComponentJoinsTheOpenIncident() throws {
        var memory = Memory()
        var batch = ingestion()
        _ = try memory.run(fire("disk", component: "database"), &batch)
        let (plan, receipt) = try memory.run(fire("latency", component: "api", severity: "critical"), &batch)
        // "api" is a different component: a new incident.
        guard case .openIncident = plan else { Issue.record("expected a new incident, got \(plan)"); return }
        #expect(receipt.incidentID == 101)
        let (joinPlan, joined) = try memory.run(fire("replication", component: "database"), &batch)
        guard case .join(_, incidentID: 100) = joinPlan else { Issue.record("expected to join 100, got \(joinPlan)"); return }
        #expect(joined.effect == .joinedIncident)
        #expect(batch.open[100]?.impacts.map(\.slug) == ["database"])
    }

    @Test func anAlertWithNoComponentJoinsOnlyAnIncidentItsSourceFed() throws {
        var memory = Memory()
        var batch = ingestion()
        _ = try memory.run(fire("a"), &batch)
        let (plan, _) = try memory.run(fire("b"), &batch)
        guard case .join(_, incidentID: 100) = plan else { Issue.record("expected to join the source's incident, got \(plan)"); return }

        // Another source's incident without components is not joined.
        let other = Incident(
            id: 5, title: "other", severity: .sev2, status: .investigating, isPublic: false, createdAt: now, updatedAt: now)
        var fresh = ingestion(open: [other])
        var empty = Memory()
        let (second, _) = try empty.run(fire("c"), &fresh)
        guard case .openIncident = second else { Issue.record("expected a new incident, got \(second)"); return }
    }

    @Test func anIncidentQuietLongerThanTheGroupingWindowIsNotJoined() throws {
        let stale = Incident(
            id: 5, title: "old", severity: .sev2, status: .investigating, isPublic: false,
            impacts: [ComponentImpact(slug: "database", impact: .partialOutage)], createdAt: now.addingTimeInterval(-7200),
            updatedAt: now.addingTimeInterval(-7200))
        var memory = Memory()
        var batch = ingestion(open: [stale])
        let (plan, _) = try memory.run(fire("disk", component: "database"), &batch)
        guard case .openIncident = plan else { Issue.record("expected a new incident, got \(plan)"); return }
    }

    @Test func acknowledgingSetsTheMilestoneOnceAndRepeatsAreNotCounted() throws {
        var memory = Memory()
        var batch = ingestion()
        _ = try memory.run(fire("disk", component: "database"), &batch)
        let ack = SignalEvent(dedupKey: "disk", action: .acknowledge, summary: "")
        let (plan, receipt) = try memory.run(ack, &batch)
        guard case .acknowledge(let signal) = plan else { Issue.record("expected an acknowledgement, got \(plan)"); return }
        #expect(signal.status == .acknowledged)
        #expect(receipt.effect == .acknowledged)
        #expect(batch.open[100]?.milestones.acknowledgedAt == now)
        #expect(batch.events.contains(.signalAcknowledged(id: 1, incidentID: 100)))
        let (again, repeated) = try memory.run(ack, &batch)
        #expect(again == .duplicate(signal, counted: false))
        #expect(repeated.effect == .duplicate)
    }

    @Test func acknowledgingOrResolvingAnUnknownKeyIsIgnored() throws {
        var memory = Memory()
        var batch = ingestion()
        for action in [SignalAction.acknowledge, .resolve] {
            let (plan, receipt) = try memory.run(SignalEvent(dedupKey: "nothing", action: action, summary: ""), &batch)
            #expect(plan == .ignore(dedupKey: "nothing"))
            #expect(receipt == SignalReceipt(dedupKey: "nothing", signalID: nil, incidentID: nil, effect: .ignored))
        }
        #expect(batch.events.isEmpty)
        #expect(batch.touched.isEmpty)
    }

    @Test func clearingTheLastSignalMovesTheIncidentToMonitoring() throws {
        var memory = Memory()
        var batch = ingestion()
        _ = try memory.run(fire("disk", component: "database"), &batch)
        _ = try memory.run(fire("replication", component: "database"), &batch)
        let (_, first) = try memory.run(SignalEvent(dedupKey: "disk", action: .resolve, summary: ""), &batch)
        #expect(first.effect == .resolved)
        #expect(batch.open[100]?.status == .investigating)
        _ = try memory.run(SignalEvent(dedupKey: "replication", action: .resolve, summary: ""), &batch)
        #expect(batch.open[100]?.status == .monitoring)
        #expect(batch.open[100]?.signalsClearedAt == now)
        #expect(batch.events.contains(.incident(id: 100, fact: .statusChanged(from: .investigating, to: .monitoring))))
        #expect(batch.events.filter { if case .signalResolved = $0 { true } else { false } }.count == 2)
    }

    @Test func aSignalClearingAfterItsIncidentWasResolvedIsStillRecorded() throws {
        var memory = Memory()
        memory.signals["disk"] = Signal(
            id: 9, sourceKind: .integration, sourceID: 7, sourceName: "prometheus", dedupKey: "disk", status: .firing, summary: "disk",
            severity: .sev2, components: ["database"], startsAt: now, firstReceivedAt: now, lastReceivedAt: now, incidentID: 42)
        var batch = ingestion()
        let (plan, receipt) = try memory.run(SignalEvent(dedupKey: "disk", action: .resolve, summary: ""), &batch)
        guard case .clear = plan else { Issue.record("expected a clear, got \(plan)"); return }
        #expect(receipt.incidentID == 42)
        #expect(batch.touched.isEmpty)
        #expect(batch.lateEntries.map(\.incidentID) == [42])
        #expect(batch.lateEntries.first?.kind == .signal)
        #expect(batch.events.map(\.type) == ["signal.resolved", "incident.signal_cleared"])
    }

    @Test func aNewAlertAfterTheOldOneClearedOpensASignalAgain() throws {
        var memory = Memory()
        var batch = ingestion()
        _ = try memory.run(fire("disk", component: "database"), &batch)
        _ = try memory.run(SignalEvent(dedupKey: "disk", action: .resolve, summary: ""), &batch)
        let (plan, receipt) = try memory.run(fire("disk", component: "database"), &batch)
        // The incident is monitoring, still open and recent: the returning alert joins it and reopens the investigation.
        guard case .join(_, incidentID: 100) = plan else { Issue.record("expected to join, got \(plan)"); return }
        #expect(receipt.signalID == 2)
        #expect(batch.open[100]?.status == .investigating)
    }
}
