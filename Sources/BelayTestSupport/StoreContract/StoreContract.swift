import BelayCore
import Foundation
import Testing

/// Makes a fresh, empty, migrated store of one backend. A backend's test target lists its factories and runs
/// every contract against each: adding a backend means adding a factory.
public struct StoreFactory: Sendable, CustomTestStringConvertible {
    public let name: String
    let make: @Sendable () async throws -> any BelayStore

    public init(_ name: String, make: @escaping @Sendable () async throws -> any BelayStore) {
        self.name = name
        self.make = make
    }

    public var testDescription: String { name }
}

/// One behaviour every store must have, checked through the store protocols alone.
public struct StoreContract: Sendable, CustomTestStringConvertible {
    public let name: String
    let check: @Sendable (any BelayStore) async throws -> Void

    init(_ name: String, _ check: @escaping @Sendable (any BelayStore) async throws -> Void) {
        self.name = name
        self.check = check
    }

    public var testDescription: String { name }

    public func run(on factory: StoreFactory) async throws {
        try await check(try await factory.make())
    }

    /// Every contract, by area.
    public static let all: [StoreContract] = transactions + events + detect + rules + accounts + outbox + signIn + leases + schema
}

/// Values the contracts share.
enum ContractFixtures {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    static func component(_ slug: String, dependsOn: [String] = []) -> Component {
        Component(slug: slug, name: slug.capitalized, dependsOn: dependsOn, createdAt: now, updatedAt: now)
    }

    static func draft(_ title: String, on slugs: [String] = []) -> IncidentDraft {
        IncidentDraft(
            title: title, severity: .sev2, impacts: slugs.map { ComponentImpact(slug: $0, impact: .partialOutage) }, message: "Looking into it")
    }

    static func source(id: Int64 = 1) -> SignalSource {
        SignalSource(kind: .monitor, id: id, name: "probe", routing: Routing(defaultComponents: ["api"]), publicIncidents: false)
    }

    static func fire(_ key: String) -> SignalEvent {
        SignalEvent(dedupKey: key, action: .trigger, summary: "\(key) failing")
    }

    /// Every event from the start of the log, paged `pageSize` at a time.
    static func allEvents(_ store: any EventStore, pageSize: Int = 7) async throws -> [StoredEvent] {
        var all: [StoredEvent] = []
        var after: Int64 = 0
        while true {
            let page = try await store.events(after: after, limit: pageSize)
            guard let last = page.last else { return all }
            all += page
            after = last.sequence
        }
    }
}
