import BelayCore
import Foundation
import Testing

extension StoreContract {
    static let events: [StoreContract] = [
        StoreContract("every write appends typed events in order, and paging returns each once") { store in
            _ = try await store.createComponent(ContractFixtures.component("api"))
            let (incident, _) = try await store.declareIncident(ContractFixtures.draft("Errors", on: ["api"]), author: "a", now: ContractFixtures.now)
            _ = try await store.updateIncident(id: incident.id) { incident, known in
                try incident.postUpdate(status: .identified, message: "Found it", knownComponents: known, author: "a", now: ContractFixtures.now)
            }
            let all = try await ContractFixtures.allEvents(store, pageSize: 2)
            #expect(all.map(\.event.type) == [
                "component.created", "incident.declared", "incident.update_posted", "component.status_changed",
                "incident.status_changed", "incident.update_posted",
            ])
            #expect(all.map(\.sequence) == all.map(\.sequence).sorted())
            #expect(Set(all.map(\.sequence)).count == all.count)
            #expect(all.last?.sequence == (try await store.eventHead()))
            #expect(all.contains { $0.event == .componentStatusChanged(slug: "api", from: .operational, to: .partialOutage) })
            #expect(all.contains { $0.event == .incident(id: incident.id, fact: .statusChanged(from: .investigating, to: .identified)) })
        },
        StoreContract("events record the actor of the task that wrote them, and the system otherwise") { store in
            try await WriteContext.acting(as: .user(id: 4, name: "Dana")) {
                _ = try await store.createComponent(ContractFixtures.component("api"))
            }
            _ = try await store.createComponent(ContractFixtures.component("db"))
            try await WriteContext.unannounced {
                _ = try await store.createComponent(ContractFixtures.component("web"))
            }
            let all = try await ContractFixtures.allEvents(store)
            #expect(all.map(\.actor) == [.user(id: 4, name: "Dana"), .system, .system])
            #expect(all.map(\.announce) == [true, true, false])
        },
        StoreContract("the feed announces each committed head, never a failed write") { store in
            let feed = store.feed.committed()
            var iterator = feed.makeAsyncIterator()
            _ = try await store.createComponent(ContractFixtures.component("api"))
            let head = try await store.eventHead()
            #expect(await iterator.next() == head)
            await #expect(throws: DomainError.self) { _ = try await store.createComponent(ContractFixtures.component("api")) }
            #expect(store.feed.head == head)
            _ = try await store.createComponent(ContractFixtures.component("db"))
            #expect(await iterator.next() == head + 1)
        },
        StoreContract("two writers committing at once never hide or repeat an event from a reader") { store in
            let perWriter = 40
            async let reader: [Int64] = {
                var seen: [Int64] = []
                var after: Int64 = 0
                while seen.count < perWriter * 2 {
                    let page = try await store.events(after: after, limit: 5)
                    if let last = page.last { after = last.sequence } else { await Task.yield() }
                    seen += page.map(\.sequence)
                }
                return seen
            }()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in ["a", "b"] {
                    group.addTask {
                        for index in 0..<perWriter { _ = try await store.createComponent(ContractFixtures.component("\(writer)-\(index)")) }
                    }
                }
                try await group.waitForAll()
            }
            let seen = try await reader
            #expect(seen == seen.sorted())
            #expect(Set(seen).count == perWriter * 2)
            let logged = try await ContractFixtures.allEvents(store, pageSize: 13).map(\.sequence)
            #expect(logged == seen)
        },
        StoreContract("pruning drops old events but never moves the head back") { store in
            _ = try await store.createComponent(ContractFixtures.component("api"))
            let head = try await store.eventHead()
            #expect(try await store.prunedThrough() == 0)
            #expect(try await store.pruneEvents(before: Date().addingTimeInterval(60)) == 1)
            #expect(try await store.events(after: 0, limit: 10).isEmpty)
            #expect(try await store.eventHead() == head)
            #expect(try await store.prunedThrough() == head)
            _ = try await store.createComponent(ContractFixtures.component("db"))
            #expect(try await store.events(after: 0, limit: 10).map(\.sequence) == [head + 1])
        },
        StoreContract("a window that starts and ends on schedule logs its own and its components' transitions") { store in
            _ = try await store.createComponent(ContractFixtures.component("db"))
            let start = Date().addingTimeInterval(-60)
            let window = try await store.scheduleMaintenance(
                MaintenanceDraft(title: "Upgrade", components: ["db"], scheduledStart: start, scheduledEnd: start.addingTimeInterval(3600)),
                author: "a", now: start.addingTimeInterval(-3600))
            let head = try await store.eventHead()
            _ = try await store.updateMaintenance(id: window.id) { $0.followSchedule(at: start.addingTimeInterval(120)) }
            let started = try await store.events(after: head, limit: 10).map(\.event)
            #expect(started == [
                .maintenanceStatusChanged(id: window.id, from: .scheduled, to: .inProgress),
                .componentStatusChanged(slug: "db", from: .operational, to: .underMaintenance),
            ])
            let middle = try await store.eventHead()
            _ = try await store.updateMaintenance(id: window.id) { $0.followSchedule(at: start.addingTimeInterval(7200)) }
            #expect(try await store.events(after: middle, limit: 10).map(\.event) == [
                .maintenanceStatusChanged(id: window.id, from: .inProgress, to: .completed),
                .componentStatusChanged(slug: "db", from: .underMaintenance, to: .operational),
            ])
        },
        StoreContract("events carry no secret") { store in
            _ = try await store.createToken(APIToken(name: "ci", role: .admin, tokenHash: "secret-token-hash", createdAt: ContractFixtures.now))
            _ = try await store.createUser(
                User(name: "Dana", email: "dana@example.com", role: .admin, passwordHash: "secret-password-hash", createdAt: ContractFixtures.now,
                    updatedAt: ContractFixtures.now))
            _ = try await store.createIntegration(
                Integration(
                    name: "prom", kind: .alertmanager, keyHash: "secret-key-hash", keyHint: "abc123", routing: Routing(), publicIncidents: false,
                    createdAt: ContractFixtures.now, updatedAt: ContractFixtures.now))
            let all = try await ContractFixtures.allEvents(store)
            #expect(all.map(\.event.type) == ["token.created", "user.created", "integration.created"])
            let text = try all.map { try DomainEvent.encode($0.event) }.joined()
            for secret in ["secret-token-hash", "secret-password-hash", "secret-key-hash", "dana@example.com"] { #expect(!text.contains(secret)) }
        },
    ]
}
