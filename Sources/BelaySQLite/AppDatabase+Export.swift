import BelayCore
import Foundation
import GRDB

/// The SQLite install as a `TableSource`, for `belay migrate-data`. Run it while no Belay serves this file:
/// each page is its own read, so rows written meanwhile could make tables disagree with each other.
extension AppDatabase: TableSource {
    public func appliedMigrationNames() async throws -> [String] {
        try await read { db in try Self.migrator.appliedIdentifiers(db).sorted() }
    }

    public func columnNames(table: String) async throws -> [String] {
        try await read { db in try db.columns(in: table).map(\.name) }
    }

    public func readRows(table: String, pageSize: Int, _ body: @escaping @Sendable ([[TableValue]]) async throws -> Void) async throws {
        let quoted = table.quotedDatabaseIdentifier
        let columns = try await columnNames(table: table).map(\.quotedDatabaseIdentifier).joined(separator: ", ")
        // Tables with a rowid page along it; check_rollup (WITHOUT ROWID) along its primary key.
        let hasRowID = try await read { db in try db.tableExists(table) && !(try Self.isWithoutRowID(table, db)) }
        var lastRowID: Int64 = .min
        var offset = 0
        while true {
            let (after, skip) = (lastRowID, offset)
            let page: ([[TableValue]], Int64?) = try await read { db in
                let rows: [Row]
                if hasRowID {
                    rows = try Row.fetchAll(
                        db, sql: "SELECT rowid AS belay_rowid, \(columns) FROM \(quoted) WHERE rowid > ? ORDER BY rowid LIMIT ?",
                        arguments: [after, pageSize])
                } else {
                    rows = try Row.fetchAll(
                        db, sql: "SELECT \(columns) FROM \(quoted) ORDER BY 1, 2, 3 LIMIT ? OFFSET ?", arguments: [pageSize, skip])
                }
                let values = rows.map { row -> [TableValue] in
                    let all = Array(row.databaseValues).map(Self.tableValue)
                    return hasRowID ? Array(all.dropFirst()) : all
                }
                return (values, hasRowID ? rows.last.map { $0["belay_rowid"] } : nil)
            }
            if page.0.isEmpty { return }
            try await body(page.0)
            if let last = page.1 { lastRowID = last }
            offset += page.0.count
            if page.0.count < pageSize { return }
        }
    }

    static func isWithoutRowID(_ table: String, _ db: Database) throws -> Bool {
        let sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [table]) ?? ""
        return sql.uppercased().contains("WITHOUT ROWID")
    }

    static func tableValue(_ value: DatabaseValue) -> TableValue {
        switch value.storage {
        case .null: .null
        case .int64(let number): .integer(number)
        case .double(let number): .real(number)
        case .string(let text): .text(text)
        case .blob(let data): .text(String(decoding: data, as: UTF8.self))
        }
    }
}
