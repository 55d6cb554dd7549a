import Foundation

/// The schema a store has against the one this binary knows, for readiness (`GET /readyz`).
public protocol SchemaStore: Sendable {
    /// This binary's migrations compared with those applied to the database.
    func migrationStatus() async throws -> MigrationStatus
}

/// The migrations a binary knows and those a database has, compared by name (both backends use the same names).
public struct MigrationStatus: Sendable, Equatable {
    /// This binary's migrations, oldest first.
    public var known: [String]
    /// The database's.
    public var applied: Set<String>

    public init(known: [String], applied: some Sequence<String>) {
        self.known = known
        self.applied = Set(applied)
    }

    /// Known here and not applied: the schema is older than this binary, which cannot serve on it.
    public var pending: [String] { known.filter { !applied.contains($0) } }

    /// Applied and not known here: a newer Belay migrated the database. Migrations are additive, so a binary
    /// already running keeps serving through a rolling upgrade (docs/SCALING.md); only a start refuses it.
    public var unknown: [String] { applied.subtracting(known).sorted() }

    /// Every migration this binary knows is applied.
    public var isUpToDate: Bool { pending.isEmpty }
}
