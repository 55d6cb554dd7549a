import BelayCore
import Crypto
import Foundation
import GRDB

/// Belay's data on embedded SQLite: one value over a GRDB `DatabaseWriter`, migrated on open.
/// Writes are named by intent, each one transaction (see the `BelayStore` conformance).
public struct AppDatabase: Sendable {
    /// How hard SQLite works to make a commit durable. FULL survives a power cut; NORMAL in WAL mode may
    /// lose the last transactions on power loss but never corrupts.
    public enum Synchronous: String, Sendable, CaseIterable {
        case full = "FULL"
        case normal = "NORMAL"
        case off = "OFF"
    }

    public let writer: any DatabaseWriter
    public let feed = EventFeed()

    /// Opens (creating and migrating if needed) the database file `belay.sqlite` in `directory`, in WAL mode.
    public static func open(directory: URL, synchronous: Synchronous = .full) throws -> AppDatabase {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("belay.sqlite").path
        let pool = try DatabasePool(path: path, configuration: makeConfiguration(synchronous: synchronous))
        let database = AppDatabase(pool)
        try database.migrate()
        return database
    }

    /// An in-memory database, for tests that do not need a file.
    public static func inMemory() throws -> AppDatabase {
        let database = AppDatabase(try DatabaseQueue(configuration: makeConfiguration(synchronous: .full)))
        try database.migrate()
        return database
    }

    /// Wraps an open database; call `migrate()` before use (`open` and `inMemory` do).
    public init(_ writer: any DatabaseWriter) {
        self.writer = writer
    }

    /// Brings the schema up to date. Refuses a database made by a newer Belay, whose schema this binary
    /// does not know.
    public func migrate() throws {
        let migrator = Self.migrator
        let applied = try writer.read { db in try migrator.appliedIdentifiers(db) }
        let known = Set(migrator.migrations)
        let unknown = applied.subtracting(known)
        guard unknown.isEmpty else {
            throw StorageUnavailable(
                reason: "the database was migrated by a newer Belay (\(unknown.sorted().joined(separator: ", "))); run that version or newer")
        }
        try migrator.migrate(writer)
    }

    public func migrationStatus() async throws -> MigrationStatus {
        try await read { db in
            let migrator = Self.migrator
            return try MigrationStatus(known: migrator.migrations, applied: migrator.appliedIdentifiers(db))
        }
    }

    static func makeConfiguration(synchronous: Synchronous) -> Configuration {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)")
        }
        return configuration
    }

    /// The schema. Shipped migrations are never edited; changes come as new migrations.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-foundation") { db in
            try db.create(table: "severity_level") { t in
                t.primaryKey("level", .text)
                t.column("name", .text).notNull()
                t.column("definition", .text).notNull()
                t.column("urgency", .text).notNull()
            }
            for definition in SeverityDefinition.defaults {
                try SeverityRecord(definition).insert(db)
            }

            try db.create(table: "component") { t in
                t.primaryKey("slug", .text)
                t.column("name", .text).notNull()
                t.column("description", .text).notNull()
                t.column("groupName", .text)
                t.column("isPublic", .boolean).notNull()
                t.column("position", .integer).notNull()
                t.column("createdAt", .double).notNull()
                t.column("updatedAt", .double).notNull()
            }
            try db.create(table: "component_dependency") { t in
                t.column("componentSlug", .text).notNull().references("component", onDelete: .cascade)
                t.column("dependsOnSlug", .text).notNull().references("component", onDelete: .restrict)
                t.primaryKey(["componentSlug", "dependsOnSlug"])
            }
            try db.create(index: "component_dependency_on_target", on: "component_dependency", columns: ["dependsOnSlug"])

            try db.create(table: "incident") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("title", .text).notNull()
                t.column("severity", .text).notNull()
                t.column("status", .text).notNull()
                t.column("isPublic", .boolean).notNull()
                t.column("impactStartedAt", .double)
                t.column("detectedAt", .double)
                t.column("acknowledgedAt", .double)
                t.column("mitigatedAt", .double)
                t.column("resolvedAt", .double)
                t.column("commander", .text)
                t.column("communications", .text)
                t.column("scribe", .text)
                t.column("reopenCount", .integer).notNull()
                t.column("createdAt", .double).notNull()
                t.column("updatedAt", .double).notNull()
            }
            try db.create(index: "incident_by_status", on: "incident", columns: ["status", "resolvedAt"])
            try db.create(table: "incident_component") { t in
                t.column("incidentId", .integer).notNull().references("incident", onDelete: .cascade)
                t.column("componentSlug", .text).notNull().references("component", onDelete: .restrict)
                t.column("impact", .text).notNull()
                t.column("position", .integer).notNull()
                t.primaryKey(["incidentId", "componentSlug"])
            }
            try db.create(index: "incident_component_by_component", on: "incident_component", columns: ["componentSlug"])
            try db.create(table: "incident_update") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("incidentId", .integer).notNull().references("incident", onDelete: .cascade).indexed()
                t.column("status", .text).notNull()
                t.column("body", .text).notNull()
                t.column("author", .text).notNull()
                t.column("createdAt", .double).notNull()
                t.column("displayAt", .double).notNull()
                t.column("affectedComponents", .jsonText).notNull()
            }
            try db.create(table: "timeline_entry") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("incidentId", .integer).notNull().references("incident", onDelete: .cascade).indexed()
                t.column("kind", .text).notNull()
                t.column("author", .text).notNull()
                t.column("occurredAt", .double).notNull()
                t.column("recordedAt", .double).notNull()
                t.column("text", .text).notNull()
                t.column("details", .jsonText).notNull()
            }

            try db.create(table: "maintenance") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("title", .text).notNull()
                t.column("description", .text).notNull()
                t.column("scheduledStart", .double).notNull()
                t.column("scheduledEnd", .double).notNull().indexed()
                t.column("status", .text).notNull()
                t.column("autoTransitions", .boolean).notNull()
                t.column("isPublic", .boolean).notNull()
                t.column("createdAt", .double).notNull()
                t.column("updatedAt", .double).notNull()
            }
            try db.create(table: "maintenance_component") { t in
                t.column("maintenanceId", .integer).notNull().references("maintenance", onDelete: .cascade)
                t.column("componentSlug", .text).notNull().references("component", onDelete: .restrict)
                t.column("position", .integer).notNull()
                t.primaryKey(["maintenanceId", "componentSlug"])
            }
            try db.create(table: "maintenance_update") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("maintenanceId", .integer).notNull().references("maintenance", onDelete: .cascade).indexed()
                t.column("status", .text).notNull()
                t.column("body", .text).notNull()
                t.column("author", .text).notNull()
                t.column("createdAt", .double).notNull()
            }

            try db.create(table: "api_token") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull()
                t.column("role", .text).notNull()
                t.column("tokenHash", .text).notNull().unique()
                t.column("createdAt", .double).notNull()
                t.column("revokedAt", .double)
            }
        }
        migrator.registerMigration("v2-accounts") { db in
            try db.create(table: "user") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull()
                t.column("email", .text).notNull().unique()
                t.column("role", .text).notNull()
                t.column("passwordHash", .text).notNull()
                t.column("disabledAt", .double)
                t.column("createdAt", .double).notNull()
                t.column("updatedAt", .double).notNull()
            }
            try db.create(table: "web_session") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("tokenHash", .text).notNull().unique()
                t.column("userId", .integer).notNull().references("user", onDelete: .cascade).indexed()
                t.column("csrfToken", .text).notNull()
                t.column("createdAt", .double).notNull()
                t.column("lastSeenAt", .double).notNull()
            }
            try db.create(table: "invitation") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("tokenHash", .text).notNull().unique()
                t.column("userId", .integer).references("user", onDelete: .cascade)
                t.column("createdAt", .double).notNull()
                t.column("expiresAt", .double).notNull()
            }
        }
        migrator.registerMigration("v3-detect") { db in
            try db.alter(table: "incident") { t in
                t.add(column: "autoResolve", .boolean).notNull().defaults(to: false)
                t.add(column: "holdOpen", .boolean).notNull().defaults(to: false)
                t.add(column: "signalsClearedAt", .double)
            }
            try db.create(table: "monitor") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("settings", .jsonText).notNull()
                t.column("intervalSeconds", .integer).notNull()
                t.column("timeoutSeconds", .integer).notNull()
                t.column("failureThreshold", .integer).notNull()
                t.column("successThreshold", .integer).notNull()
                t.column("componentSlug", .text).references("component", onDelete: .setNull).indexed()
                t.column("severity", .text).notNull()
                t.column("isPaused", .boolean).notNull()
                t.column("heartbeatToken", .text).unique()
                t.column("status", .text).notNull().indexed()
                t.column("since", .double).notNull()
                t.column("lastCheckedAt", .double)
                t.column("lastOutcome", .text)
                t.column("lastMessage", .text)
                t.column("lastLatencyMs", .double)
                t.column("consecutiveFailures", .integer).notNull()
                t.column("consecutiveSuccesses", .integer).notNull()
                t.column("lastPingAt", .double)
                t.column("failingSince", .double)
                t.column("createdAt", .double).notNull()
                t.column("updatedAt", .double).notNull()
            }
            try db.create(table: "check_result") { t in
                t.column("monitorId", .integer).notNull().references("monitor", onDelete: .cascade)
                t.column("checkedAt", .double).notNull().indexed()
                t.column("outcome", .text).notNull()
                t.column("latencyMs", .double)
                t.column("message", .text).notNull()
            }
            try db.create(index: "check_result_by_monitor", on: "check_result", columns: ["monitorId", "checkedAt"])
            try db.create(table: "check_rollup", options: .withoutRowID) { t in
                t.column("monitorId", .integer).notNull().references("monitor", onDelete: .cascade)
                t.column("granularity", .text).notNull()
                t.column("bucket", .integer).notNull()
                t.column("total", .integer).notNull()
                t.column("up", .integer).notNull()
                t.column("degraded", .integer).notNull()
                t.column("down", .integer).notNull()
                t.column("latencySumMs", .double).notNull()
                t.column("latencyCount", .integer).notNull()
                t.column("latencyMaxMs", .double).notNull()
                t.primaryKey(["monitorId", "granularity", "bucket"])
            }
            try db.create(index: "check_rollup_by_bucket", on: "check_rollup", columns: ["granularity", "bucket"])
            try db.create(table: "integration") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("keyHash", .text).notNull().unique()
                t.column("keyHint", .text).notNull()
                t.column("routing", .jsonText).notNull()
                t.column("publicIncidents", .boolean).notNull()
                t.column("isEnabled", .boolean).notNull()
                t.column("createdAt", .double).notNull()
                t.column("updatedAt", .double).notNull()
                t.column("lastEventAt", .double)
                t.column("eventCount", .integer).notNull()
            }
            try db.create(table: "signal") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("sourceKind", .text).notNull()
                t.column("sourceId", .integer).notNull()
                t.column("sourceName", .text).notNull()
                t.column("dedupKey", .text).notNull()
                t.column("status", .text).notNull().indexed()
                t.column("summary", .text).notNull()
                t.column("severity", .text).notNull()
                t.column("source", .text)
                t.column("components", .jsonText).notNull()
                t.column("labels", .jsonText).notNull()
                t.column("links", .jsonText).notNull()
                t.column("details", .text)
                t.column("startsAt", .double).notNull()
                t.column("endsAt", .double)
                t.column("firstReceivedAt", .double).notNull()
                t.column("lastReceivedAt", .double).notNull()
                t.column("eventCount", .integer).notNull()
                t.column("incidentId", .integer).references("incident", onDelete: .setNull)
            }
            // "Is any signal of this incident still active?" and "has this source fed this incident?"
            try db.create(index: "signal_by_incident_status", on: "signal", columns: ["incidentId", "status"])
            try db.create(index: "signal_by_incident_source", on: "signal", columns: ["incidentId", "sourceKind", "sourceId"])
            // One active alert per key and source; after it resolves, the same key starts a new one.
            try db.execute(sql: """
                CREATE UNIQUE INDEX signal_active_key ON signal(sourceKind, sourceId, dedupKey) WHERE status != 'resolved'
                """)
        }
        migrator.registerMigration("v4-changes") { db in
            try db.create(table: "change") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("kind", .text).notNull()
                t.column("summary", .text).notNull()
                t.column("targets", .jsonText).notNull()
                t.column("environment", .text).notNull()
                t.column("author", .text)
                t.column("sourceURL", .text)
                t.column("commit", .text)
                t.column("startedAt", .double).notNull().indexed()
                t.column("finishedAt", .double)
                t.column("reviewedBy", .text)
                t.column("tested", .boolean)
                t.column("status", .text).notNull()
                t.column("createdAt", .double).notNull()
            }
            try db.create(table: "map_node") { t in
                t.primaryKey("slug", .text)
                t.column("name", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("dependsOn", .jsonText).notNull()
                t.column("expiresAt", .double)
            }
            try db.create(table: "component_node_dependency") { t in
                t.column("componentSlug", .text).notNull().references("component", onDelete: .cascade)
                t.column("nodeSlug", .text).notNull().references("map_node", onDelete: .restrict)
                t.primaryKey(["componentSlug", "nodeSlug"])
            }
            try db.create(table: "change_freeze") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("reason", .text).notNull()
                t.column("startsAt", .double).notNull()
                t.column("endsAt", .double)
                t.column("createdBy", .text).notNull()
            }
        }
        migrator.registerMigration("v5-hashed-heartbeat-tokens") { db in
            // Heartbeat tokens were stored as they are; now only their SHA-256 is, like every other secret.
            try db.alter(table: "monitor") { t in t.add(column: "heartbeatTokenHash", .text) }
            try db.create(index: "monitor_heartbeat_token_hash", on: "monitor", columns: ["heartbeatTokenHash"], unique: true)
            for row in try Row.fetchAll(db, sql: "SELECT id, heartbeatToken FROM monitor WHERE heartbeatToken IS NOT NULL") {
                let token: String = row["heartbeatToken"]
                let hash = SHA256.hash(data: Data(token.utf8)).hexString
                try db.execute(sql: "UPDATE monitor SET heartbeatTokenHash = ?, heartbeatToken = NULL WHERE id = ?", arguments: [hash, row["id"]])
            }
        }
        migrator.registerMigration("v6-event-log") { db in
            // SQLite has one writer, so numbers from AUTOINCREMENT are handed out in commit order: a reader paging
            // by sequence never sees a later number before an earlier one commits. Rolled-back numbers leave gaps.
            try db.execute(sql: """
                CREATE TABLE event (
                  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                  recordedAt DOUBLE NOT NULL,
                  type TEXT NOT NULL,
                  subjectKind TEXT NOT NULL,
                  subjectId TEXT NOT NULL,
                  actorKind TEXT NOT NULL,
                  actorId INTEGER,
                  actorName TEXT NOT NULL,
                  announce BOOLEAN NOT NULL,
                  payload TEXT NOT NULL)
                """)
            // No secondary index: every alert appends two or three events, and each index would be written with
            // them. Readers page by sequence (the primary key); pruning walks from the oldest.
            try db.alter(table: "timeline_entry") { t in t.add(column: "fact", .text) }
        }
        migrator.registerMigration("v7-event-pruning") { db in
            // The highest sequence pruning has removed, so a reader asking for older events learns they are gone
            // rather than silently skipping them (a gap from a rolled-back write is not a loss).
            try db.execute(sql: "CREATE TABLE event_pruned (id INTEGER PRIMARY KEY CHECK (id = 1), through INTEGER NOT NULL)")
        }
        migrator.registerMigration("v8-outbox") { db in try Self.createOutbox(db) }
        migrator.registerMigration("v9-new-user") { db in
            try db.alter(table: "component") { t in t.add(column: "automaticIncidentsPublic", .boolean).notNull().defaults(to: false) }
            // A check the egress policy refused: a configuration problem to show, not an outage.
            try db.alter(table: "monitor") { t in t.add(column: "configurationProblem", .text) }
            // The first defaults promised paging, which Belay does not do; a definition nobody edited gets the new words.
            for definition in SeverityDefinition.defaults {
                let old = definition.definition.replacingOccurrences(of: "All hands, any hour.", with: "All hands; page now, any hour.")
                    .replacingOccurrences(of: "Someone responds now, at any hour.", with: "Page the on-call responder now.")
                try db.execute(
                    sql: "UPDATE severity_level SET definition = ? WHERE level = ? AND definition = ?",
                    arguments: [definition.definition, definition.level.rawValue, old])
            }
        }
        migrator.registerMigration("v10-sign-in-throttle") { db in try Self.createSignInFailures(db) }
        migrator.registerMigration("v11-leases") { db in try Self.createLeases(db) }
        return migrator
    }

    /// Runs a write transaction that appends the events it returns, in the same transaction, recording who
    /// acted (from the task's `WriteContext`); once it commits, the feed announces the new head.
    func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> Written<T>) async throws -> T {
        let context = WriteContext.current
        let (value, head) = try await Self.classifyingFaults {
            try await writer.write { db -> (T, Int64?) in
                let written = try updates(db)
                var head: Int64?
                for group in written.groups {
                    let acting = group.actor.map { WriteContext(actor: $0, announce: context.announce) } ?? context
                    head = try Self.append(group.events, context: acting, db) ?? head
                }
                return (written.value, head)
            }
        }
        if let head { feed.publish(head) }
        return value
    }

    /// A write that changes nothing the event log records (sessions, raw check results).
    func quietWrite<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.classifyingFaults { try await writer.write(updates) }
    }

    func read<T: Sendable>(_ value: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.classifyingFaults { try await writer.read(value) }
    }

    /// SQLite's answers for a disk that is full, read-only or failing become `StorageUnavailable`, so callers
    /// can tell "try again later" from a bug. (A volume forced read-only under an open database reports
    /// an I/O error rather than SQLITE_READONLY.)
    static func classifyingFaults<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch let error as DatabaseError {
            switch error.resultCode {
            case .SQLITE_FULL: throw StorageUnavailable(reason: "the data volume is full")
            case .SQLITE_READONLY: throw StorageUnavailable(reason: "the database is read-only")
            case .SQLITE_IOERR, .SQLITE_CANTOPEN, .SQLITE_NOTADB, .SQLITE_CORRUPT:
                throw StorageUnavailable(reason: "the database cannot be written (\(error.resultCode))")
            default: throw error
            }
        }
    }
}
