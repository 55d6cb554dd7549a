import BelayCore
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// `belay migrate-data`: a whole install copied into an empty PostgreSQL database in one transaction under
/// the writer lock, each table verified against the source by row count and checksum before it commits.
/// Anything wrong rolls the whole copy back, so the target is either a complete copy or as it was.
extension PostgresStore {
    public struct ImportRefused: Error, CustomStringConvertible {
        public var description: String
    }

    public func importTables(from source: some TableSource, pageSize: Int = 500) async throws -> [TableCopyReport] {
        let sourceMigrations = try await source.appliedMigrationNames()
        let targetMigrations = try await appliedMigrations().sorted()
        guard sourceMigrations == targetMigrations else {
            let missing = Set(sourceMigrations).symmetricDifference(targetMigrations).sorted()
            throw ImportRefused(description: "the source and this Belay disagree on the schema (\(missing.joined(separator: ", "))); run the same Belay version on both")
        }
        let logger = logger
        return try await Self.unwrapping { [client] in
            try await client.withTransaction(logger: logger) { connection in
                // A large install takes longer than one operation may: no statement or lock bound for the copy.
                try await connection.query("SET LOCAL statement_timeout = 0", logger: logger)
                try await connection.query("SET LOCAL lock_timeout = 0", logger: logger)
                try await connection.query("SET LOCAL idle_in_transaction_session_timeout = 0", logger: logger)
                try await Self.perform(Self.takeWriterLock, connection, logger: logger)
                try await Self.refuseNonEmpty(connection, logger: logger)
                var reports: [TableCopyReport] = []
                for table in TableCopy.tables {
                    reports.append(try await Self.copy(table: table, from: source, pageSize: pageSize, connection, logger: logger))
                }
                return reports
            }
        }
    }

    static func quoted(_ identifier: String) -> String { "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    static func refuseNonEmpty(_ connection: PostgresConnection, logger: Logger) async throws {
        for table in TableCopy.tables where !TableCopy.seeded.contains(table) {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT EXISTS (SELECT 1 FROM \(quoted(table)))"), logger: logger)
            for try await exists in rows.decode(Bool.self) where exists {
                throw ImportRefused(description: "the target database already holds Belay data (table \(table) has rows); migrate-data copies into an empty database only")
            }
        }
    }

    /// The target's columns (PostgreSQL folds unquoted names to lower case) and their kinds.
    static func columnKinds(_ table: String, _ connection: PostgresConnection, logger: Logger) async throws -> [String: ColumnKind] {
        let rows = try await connection.query(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = \(table)",
            logger: logger)
        var kinds: [String: ColumnKind] = [:]
        for try await (name, type) in rows.decode((String, String).self) {
            switch type {
            case "bigint", "integer", "smallint": kinds[name] = .integer
            case "double precision", "real": kinds[name] = .real
            case "boolean": kinds[name] = .boolean
            default: kinds[name] = .text
            }
        }
        return kinds
    }

    static func copy(table: String, from source: some TableSource, pageSize: Int, _ connection: PostgresConnection, logger: Logger) async throws -> TableCopyReport {
        let sourceColumns = try await source.columnNames(table: table)
        let kinds = try await columnKinds(table, connection, logger: logger)
        let targetColumns = sourceColumns.map { $0.lowercased() }
        guard Set(targetColumns) == Set(kinds.keys) else {
            throw ImportRefused(description: "table \(table) has columns \(sourceColumns.sorted()) in the source and \(kinds.keys.sorted()) here")
        }
        let columnKinds = targetColumns.compactMap { kinds[$0] }
        // The seeded defaults give way to the source's definitions.
        if TableCopy.seeded.contains(table) {
            try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(quoted(table))"), logger: logger)
        }
        let columnList = targetColumns.map(quoted).joined(separator: ", ")
        // PostgreSQL takes at most 65535 parameters in one statement.
        let rowsPerStatement = max(1, min(pageSize, 30_000 / max(1, targetColumns.count)))
        let expected = Checksums()
        try await source.readRows(table: table, pageSize: rowsPerStatement) { page in
            var bindings = PostgresBindings(capacity: page.count * columnKinds.count)
            var tuples: [String] = []
            for row in page {
                guard row.count == columnKinds.count else { throw ImportRefused(description: "a row of \(table) has \(row.count) values for \(columnKinds.count) columns") }
                var converted: [TableValue] = []
                var placeholders: [String] = []
                for (value, kind) in zip(row, columnKinds) {
                    guard let stored = kind.convert(value) else {
                        throw ImportRefused(description: "a value in \(table) does not fit its column type \(kind)")
                    }
                    converted.append(stored)
                    Self.bind(stored, kind: kind, into: &bindings)
                    placeholders.append("$\(bindings.count)")
                }
                expected.add(converted)
                tuples.append("(" + placeholders.joined(separator: ", ") + ")")
            }
            try await connection.query(
                PostgresQuery(unsafeSQL: "INSERT INTO \(quoted(table)) (\(columnList)) VALUES \(tuples.joined(separator: ", "))", binds: bindings),
                logger: logger)
        }
        try await moveIdentity(of: table, connection, logger: logger)
        // Read back what was stored and compare.
        var stored = TableChecksum()
        let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT \(columnList) FROM \(quoted(table))"), logger: logger)
        for try await row in rows {
            var values: [TableValue] = []
            for (cell, kind) in zip(row, columnKinds) { values.append(try Self.value(cell, kind: kind)) }
            stored.add(values)
        }
        let source = expected.value
        guard stored == source else {
            throw ImportRefused(description: "table \(table) does not match after the copy (\(source.rows) rows \(source.hex) in the source, \(stored.rows) rows \(stored.hex) here); nothing was kept")
        }
        return TableCopyReport(table: table, rows: stored.rows, checksum: stored.hex)
    }

    /// Copied rows keep their ids; the identity must then hand out numbers above them.
    static func moveIdentity(of table: String, _ connection: PostgresConnection, logger: Logger) async throws {
        let rows = try await connection.query(
            """
            SELECT column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = \(table) AND is_identity = 'YES'
            """, logger: logger)
        var identities: [String] = []
        for try await column in rows.decode(String.self) { identities.append(column) }
        for column in identities {
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT setval(pg_get_serial_sequence('\(quoted(table))', '\(column)'), GREATEST(COALESCE(MAX(\(quoted(column))), 0), 1),
                                      COALESCE(MAX(\(quoted(column))), 0) > 0) FROM \(quoted(table))
                        """), logger: logger)
        }
    }

    static func bind(_ value: TableValue, kind: ColumnKind, into bindings: inout PostgresBindings) {
        switch (value, kind) {
        case (.null, _): bindings.appendNull()
        case (.integer(let number), .boolean): bindings.append(number != 0)
        case (.integer(let number), _): bindings.append(number)
        case (.real(let number), _): bindings.append(number)
        case (.text(let text), _): bindings.append(text)
        }
    }

    static func value(_ cell: PostgresCell, kind: ColumnKind) throws -> TableValue {
        switch kind {
        case .integer: return try cell.decode(Int64?.self).map(TableValue.integer) ?? .null
        case .real: return try cell.decode(Double?.self).map(TableValue.real) ?? .null
        case .boolean: return try cell.decode(Bool?.self).map { .integer($0 ? 1 : 0) } ?? .null
        case .text: return try cell.decode(String?.self).map(TableValue.text) ?? .null
        }
    }
}

/// The source's checksum, added to from the page callback.
private final class Checksums: Sendable {
    private let state = Mutex(TableChecksum())
    func add(_ row: [TableValue]) { state.withLock { $0.add(row) } }
    var value: TableChecksum { state.withLock { $0 } }
}
