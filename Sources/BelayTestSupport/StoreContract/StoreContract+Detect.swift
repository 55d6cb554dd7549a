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
            _ = try await store.updateIntegration(id: integration.id) { $0.isEnabled = false }
            let refused = try await store.ingest([batch], policy: SignalPolicy(), now: ContractFixtures.now)
            #expect((try? refused[0].get()) == nil)
        },
    ]
}
