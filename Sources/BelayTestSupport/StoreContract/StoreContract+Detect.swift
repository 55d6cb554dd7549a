import BelayCore
import Foundation
import Testing

extension StoreContract {
    static let detect: [StoreContract] = [
        StoreContract("one key makes one signal and one incident, and repeats are duplicates") { store in
            _ = try await store.createComponent(ContractFixtures.component("api"))
            let batch = IngestBatch(origin: .source(ContractFixtures.source()), events: [ContractFixtures.fire("disk"), ContractFixtures.fire("disk")])
            let results = try await store.ingest([batch], policy: SignalPolicy(), now: ContractFixtures.now)
            let receipts = try results[0].get()
            #expect(receipts.map(\.effect) == [.openedIncident, .duplicate])
            #expect(receipts[0].signalID == receipts[1].signalID)
            #expect(try await store.signals(SignalQuery()).count == 1)
            #expect(try await store.incidents(IncidentQuery()).count == 1)
            let types = try await ContractFixtures.allEvents(store).map(\.event.type)
            #expect(types == [
                "component.created", "incident.declared", "incident.signal_fired", "signal.triggered", "component.status_changed",
            ])
        },
        StoreContract("concurrent deliveries of one key still make one signal and one incident") { store in
            _ = try await store.createComponent(ContractFixtures.component("api"))
            let batch = IngestBatch(origin: .source(ContractFixtures.source()), events: [ContractFixtures.fire("disk")])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 { group.addTask { _ = try await store.ingest([batch], policy: SignalPolicy(), now: ContractFixtures.now) } }
                try await group.waitForAll()
            }
            let signals = try await store.signals(SignalQuery())
            #expect(signals.count == 1)
            #expect(signals.first?.eventCount == 20)
            #expect(try await store.incidents(IncidentQuery()).count == 1)
        },
        StoreContract("one failing delivery in a batch spoils none of the others") { store in
            _ = try await store.createComponent(ContractFixtures.component("api"))
            let good = IngestBatch(origin: .source(ContractFixtures.source()), events: [ContractFixtures.fire("disk")])
            let unknown = IngestBatch(origin: .integrationKey(hash: "no-such-key"), events: [ContractFixtures.fire("x")])
            let results = try await store.ingest([good, unknown, good], policy: SignalPolicy(), now: ContractFixtures.now)
            #expect((try? results[0].get())?.map(\.effect) == [.openedIncident])
            #expect((try? results[1].get()) == nil)
            #expect((try? results[2].get())?.map(\.effect) == [.duplicate])
            #expect(try await store.signals(SignalQuery()).count == 1)
        },
        StoreContract("deliveries in one group commit each see what the ones before stored, as if committed one by one") { store in
            // The backends read open incidents, components and integrations once per group; the same deliveries
            // one per commit (on another component, from another source) must end in the same state.
            _ = try await store.createComponent(ContractFixtures.component("api"))
            _ = try await store.createComponent(ContractFixtures.component("web"))
            var grouped = ContractFixtures.source(id: 1)
            var single = ContractFixtures.source(id: 2)
            single.routing = Routing(defaultComponents: ["web"])
            grouped.name = "grouped"
            single.name = "single"
            func deliveries(_ source: SignalSource) -> [IngestBatch] {
                let events: [[SignalEvent]] = [
                    [ContractFixtures.fire("a")], [ContractFixtures.fire("b"), ContractFixtures.fire("a")],
                    [SignalEvent(dedupKey: "b", action: .acknowledge, summary: "")],
                    [SignalEvent(dedupKey: "a", action: .resolve, summary: ""), SignalEvent(dedupKey: "b", action: .resolve, summary: "")],
                    [ContractFixtures.fire("c")],
                ]
                return events.map { IngestBatch(origin: .source(source), events: $0) }
            }
            let unknown = IngestBatch(origin: .integrationKey(hash: "no-such-key"), events: [ContractFixtures.fire("x")])
            var batches = deliveries(grouped)
            batches.insert(unknown, at: 2)
            let together = try await store.ingest(batches, policy: SignalPolicy(), now: ContractFixtures.now)
            #expect((try? together[2].get()) == nil)
            var oneByOne: [[SignalReceipt.Effect]] = []
            for batch in deliveries(single) {
                oneByOne.append(try await store.ingest([batch], policy: SignalPolicy(), now: ContractFixtures.now)[0].get().map(\.effect))
            }
            let groupedEffects = try together.enumerated().filter { $0.offset != 2 }.map { try $0.element.get().map(\.effect) }
            #expect(groupedEffects == oneByOne)
            #expect(groupedEffects.first == [.openedIncident] && groupedEffects[1] == [.joinedIncident, .duplicate])
            let incidents = try await store.incidents(IncidentQuery())
            func on(_ slug: String) -> [Incident] { incidents.filter { $0.impacts.contains { $0.slug == slug } }.sorted { $0.id < $1.id } }
            #expect(on("api").count == on("web").count && !on("api").isEmpty)
            for (a, b) in zip(on("api"), on("web")) {
                #expect(a.status == b.status)
                #expect(a.updates.count == b.updates.count)
                #expect(a.milestones == b.milestones)
                #expect(try await store.timeline(incidentID: a.id).count == store.timeline(incidentID: b.id).count)
            }
        },
        StoreContract("clearing every signal moves the incident to monitoring and logs who cleared it") { store in
            _ = try await store.createComponent(ContractFixtures.component("api"))
            let source = ContractFixtures.source()
            _ = try await store.ingest(
                [IngestBatch(origin: .source(source), events: [ContractFixtures.fire("disk")])], policy: SignalPolicy(), now: ContractFixtures.now)
            let head = try await store.eventHead()
            let resolve = SignalEvent(dedupKey: "disk", action: .resolve, summary: "")
            let receipts = try await store.ingest(
                [IngestBatch(origin: .source(source), events: [resolve])], policy: SignalPolicy(), now: ContractFixtures.now.addingTimeInterval(60))
            #expect(try receipts[0].get().map(\.effect) == [.resolved])
            let incident = try #require(try await store.incidents(IncidentQuery()).first)
            #expect(incident.status == .monitoring)
            let later = try await store.events(after: head, limit: 100)
            #expect(later.map(\.event.type).prefix(3) == ["signal.resolved", "incident.signal_cleared", "incident.status_changed"])
            #expect(later.allSatisfy { $0.actor == .monitor(id: source.id, name: source.name) })
            // A monitoring incident still impairs its component until it resolves.
            #expect(!later.contains { $0.event.type == "component.status_changed" })
        },
        StoreContract("an integration's deliveries count against it and refuse once it is disabled") { store in
            let integration = try await store.createIntegration(
                Integration(
                    name: "prom", kind: .alertmanager, keyHash: "hash-1", keyHint: "abc123", createdAt: ContractFixtures.now, updatedAt: ContractFixtures.now))
            let batch = IngestBatch(origin: .integrationKey(hash: "hash-1"), events: [ContractFixtures.fire("a"), ContractFixtures.fire("b")])
            _ = try await store.ingest([batch], policy: SignalPolicy(), now: ContractFixtures.now)
            #expect(try await store.integration(id: integration.id)?.eventCount == 2)
            // One group: two deliveries to it around one refused (an unknown key). The count and the time of
            // the last delivery are the committed deliveries', once.
            let later = ContractFixtures.now.addingTimeInterval(60)
            let group = [
                IngestBatch(origin: .integrationKey(hash: "hash-1"), events: [ContractFixtures.fire("c")]),
                IngestBatch(origin: .integrationKey(hash: "no-such-hash"), events: [ContractFixtures.fire("d")]),
                IngestBatch(origin: .integrationKey(hash: "hash-1"), events: [ContractFixtures.fire("e"), ContractFixtures.fire("f")]),
            ]
            let outcomes = try await store.ingest(group, policy: SignalPolicy(), now: later)
            #expect(outcomes.map { (try? $0.get()) != nil } == [true, false, true])
            let counted = try #require(try await store.integration(id: integration.id))
            #expect(counted.eventCount == 5 && counted.lastEventAt == later)
            _ = try await store.updateIntegration(id: integration.id) { $0.isEnabled = false }
            let refused = try await store.ingest([batch], policy: SignalPolicy(), now: ContractFixtures.now)
            #expect((try? refused[0].get()) == nil)
        },
    ]
}
