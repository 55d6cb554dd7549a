import BelayCore
import Foundation
import Testing

extension StoreContract {
    static let transactions: [StoreContract] = [
        StoreContract("a write that throws leaves data and log exactly as they were") { store in
            _ = try await store.createComponent(ContractFixtures.component("api"))
            let (incident, _) = try await store.declareIncident(ContractFixtures.draft("Errors", on: ["api"]), author: "a", now: ContractFixtures.now)
            let head = try await store.eventHead()
            struct Refused: Error {}
            await #expect(throws: Refused.self) {
                _ = try await store.updateIncident(id: incident.id) { incident, _ in
                    let entries = try incident.setSeverity(.sev1, author: "a", now: ContractFixtures.now)
                    _ = entries
                    throw Refused()
                }
            }
            #expect(try await store.incident(id: incident.id)?.severity == .sev2)
            #expect(try await store.eventHead() == head)
            #expect(try await store.timeline(incidentID: incident.id).map(\.kind) == [.declared, .update])
        },
        StoreContract("incidents list newest first and honour limit and filters") { store in
            var ids: [Int64] = []
            for index in 0..<4 {
                let at = ContractFixtures.now.addingTimeInterval(Double(index) * 60)
                ids.append(try await store.declareIncident(ContractFixtures.draft("Incident \(index)"), author: "a", now: at).0.id)
            }
            _ = try await store.updateIncident(id: ids[1]) { incident, _ in
                try incident.changeStatus(to: .resolved, author: "a", now: ContractFixtures.now.addingTimeInterval(600))
            }
            #expect(try await store.incidents(IncidentQuery()).map(\.id) == ids.reversed())
            #expect(try await store.incidents(IncidentQuery(limit: 2)).map(\.id) == [ids[3], ids[2]])
            #expect(try await store.incidents(IncidentQuery(openOnly: true)).map(\.id) == [ids[3], ids[2], ids[0]])
        },
        StoreContract("monitors page by id with after and limit") { store in
            _ = try await store.createComponent(ContractFixtures.component("api"))
            var created: [Int64] = []
            for index in 0..<5 {
                let monitor = Monitor(
                    name: "check \(index)", kind: .http, settings: MonitorSettings(url: "http://10.1.2.3/health"), component: "api",
                    createdAt: ContractFixtures.now, updatedAt: ContractFixtures.now)
                created.append(try await store.createMonitor(monitor).id)
            }
            let first = try await store.monitors(MonitorQuery(limit: 2))
            #expect(first.map(\.id) == Array(created.prefix(2)))
            let rest = try await store.monitors(MonitorQuery(after: first.last?.id, limit: 10))
            #expect(rest.map(\.id) == Array(created.dropFirst(2)))
        },
    ]
}
