import ArgumentParser
import BelayCore
import BelayPostgres
import BelaySQLite
import Foundation
import Logging

/// `belay migrate-data`: moves a single-box install up to PostgreSQL.
struct MigrateDataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-data",
        abstract: "Copy a SQLite install into an empty PostgreSQL database, verifying every table.",
        discussion: """
            Stop `belay serve` on the source first. The target is migrated, refused if it already holds Belay data, \
            and filled in one transaction: every table's row count and checksum are compared with the source \
            before it commits, so a failed copy leaves the target empty. Then start Belay with --database.
            """)

    @Option(name: .long, help: "The SQLite data directory to copy (default: BELAY_DATA or ./belay-data).")
    var from: String?

    @Option(name: .long, help: "The PostgreSQL database to fill, postgres://user:password@host:5432/database (or BELAY_DATABASE_URL).")
    var to: String?

    @Flag(name: .long, help: "Print the result as one JSON document.")
    var json = false

    func run() async throws {
        guard let url = to ?? Environment.value("BELAY_DATABASE_URL") else {
            throw ValidationError("--to is required: the PostgreSQL database to fill, postgres://user:password@host:5432/database")
        }
        let source = try DataOptions.open(directory: DataOptions.directory(from), synchronous: "full", create: false)
        var logger = Logger(label: "belay.migrate-data")
        logger.logLevel = .warning
        let target: PostgresStore
        do {
            target = try await PostgresStore.connect(url: url, logger: logger, operationTimeout: .seconds(30))
        } catch let error as PostgresURL.Invalid {
            throw CLIError(description: "--to: \(error.description)")
        } catch let error as PostgresStore.Unusable {
            throw CLIError(description: error.description)
        } catch {
            throw CLIError(description: "cannot prepare the target database: \(PostgresStore.describe(error))")
        }
        defer { target.close() }
        let reports: [TableCopyReport]
        do {
            reports = try await target.importTables(from: source)
        } catch let error as PostgresStore.ImportRefused {
            throw CLIError(description: "migrate-data: \(error.description)")
        } catch {
            throw CLIError(description: "migrate-data: the copy failed and was rolled back: \(PostgresStore.describe(error))")
        }
        if json {
            struct Output: Encodable {
                var tables: [TableCopyReport]
                var rows: Int
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(Output(tables: reports, rows: reports.reduce(0) { $0 + $1.rows })), as: UTF8.self))
            return
        }
        for report in reports where report.rows > 0 {
            print("\(report.table.padding(toLength: 26, withPad: " ", startingAt: 0)) \(String(report.rows).leftPadded(to: 9)) rows  checksum \(report.checksum)")
        }
        print("Copied \(reports.reduce(0) { $0 + $1.rows }) rows in \(reports.count) tables; every table matches the source.")
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
