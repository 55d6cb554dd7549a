import Foundation

/// What the domain needs from storage: the composition of the narrow stores, used only where the app is
/// wired together. Each consumer depends on the protocols it uses. Each write is one transaction: it either
/// happens whole, with its events appended to the log, or, when the closure or a check throws, leaves the
/// data exactly as it was.
public protocol BelayStore: AccountStore, TokenStore, ComponentStore, IncidentStore, MaintenanceStore, DetectStore, ChangeStore, EventStore, NotificationStore, LeaseStore, SchemaStore {}

/// Severity definitions, components and the links between them.
public protocol ComponentStore: Sendable {
    func severityDefinitions() async throws -> [SeverityDefinition]
    func saveSeverityDefinition(_ definition: SeverityDefinition) async throws

    func components() async throws -> [Component]
    func component(slug: String) async throws -> Component?
    func createComponent(_ component: Component) async throws -> Component
    /// Applies `change` to the component and saves it, re-validating the dependency map.
    func updateComponent(slug: String, _ change: @escaping @Sendable (inout Component) throws -> Void) async throws -> Component
    /// Deletes a component that no other component depends on and no incident or maintenance names.
    func deleteComponent(slug: String) async throws
}

public protocol IncidentStore: Sendable {
    func incidents(_ query: IncidentQuery) async throws -> [Incident]
    func incident(id: Int64) async throws -> Incident?
    func declareIncident(_ draft: IncidentDraft, author: String, now: Date) async throws -> (Incident, [TimelineEntry])
    /// Loads the incident, applies `change` (which returns the timeline entries recording it; new public
    /// updates are those appended with id 0) and saves everything in one transaction.
    func updateIncident(
        id: Int64, _ change: @escaping @Sendable (inout Incident, _ knownComponents: Set<String>) throws -> [TimelineEntry]
    ) async throws -> (Incident, [TimelineEntry])
    func timeline(incidentID: Int64) async throws -> [TimelineEntry]
}

public protocol MaintenanceStore: Sendable {
    func maintenances(_ query: MaintenanceQuery) async throws -> [MaintenanceWindow]
    func maintenance(id: Int64) async throws -> MaintenanceWindow?
    func scheduleMaintenance(_ draft: MaintenanceDraft, author: String, now: Date) async throws -> MaintenanceWindow
    /// Loads the window, applies `change` (new updates are those appended with id 0) and saves it.
    func updateMaintenance(id: Int64, _ change: @escaping @Sendable (inout MaintenanceWindow) throws -> Void) async throws -> MaintenanceWindow
}

public protocol TokenStore: Sendable {
    func createToken(_ token: APIToken) async throws -> APIToken
    func token(hash: String) async throws -> APIToken?
    func tokens() async throws -> [APIToken]
    func revokeToken(id: Int64, now: Date) async throws -> APIToken
    func hasActiveToken(role: AccessRole) async throws -> Bool
}

public struct IncidentQuery: Sendable, Equatable {
    public var openOnly: Bool
    public var publicOnly: Bool
    /// Only incidents still open, or resolved at or after this time.
    public var activeSince: Date?
    public var limit: Int?

    public init(openOnly: Bool = false, publicOnly: Bool = false, activeSince: Date? = nil, limit: Int? = nil) {
        self.openOnly = openOnly
        self.publicOnly = publicOnly
        self.activeSince = activeSince
        self.limit = limit
    }
}

public struct MaintenanceQuery: Sendable, Equatable {
    public var publicOnly: Bool
    /// Only windows ending at or after this time.
    public var endingAfter: Date?

    public init(publicOnly: Bool = false, endingAfter: Date? = nil) {
        self.publicOnly = publicOnly
        self.endingAfter = endingAfter
    }
}

extension ComponentStore where Self: IncidentStore & MaintenanceStore {
    /// Every component's status at `now`, derived from the open incidents and the maintenance in force.
    public func componentStatuses(at now: Date) async throws -> [String: ComponentStatus] {
        ServiceStatus.componentStatuses(
            components: try await components(), incidents: try await incidents(IncidentQuery(openOnly: true)),
            maintenances: try await maintenances(MaintenanceQuery(endingAfter: now)), now: now)
    }
}

extension IncidentStore {
    /// Holds an incident open, so Belay does not resolve it by itself (or releases it).
    public func setHoldOpen(incidentID: Int64, hold: Bool, author: String, now: Date) async throws -> Incident {
        try await updateIncident(id: incidentID) { incident, _ in incident.setHoldOpen(hold, author: author, now: now) }.0
    }
}
