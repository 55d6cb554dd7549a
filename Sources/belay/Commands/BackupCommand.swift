import ArgumentParser
import BelaySQLite
import Foundation

/// `belay backup` and `belay restore`: a consistent copy of a SQLite install taken while it serves, and
/// that copy checked and put back while it does not.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the SQLite database to a file while Belay serves (a consistent snapshot).",
        discussion: "On PostgreSQL use pg_dump and pg_restore instead (see docs/backup.md).")

    @Option(name: .long, help: "The file to write, e.g. belay-2026-12-01.sqlite.")
    var to: String

    @Option(name: .long, help: "Directory holding Belay's data (env BELAY_DATA; default ./belay-data).")
    var data: String?

    @Flag(name: .long, help: "Replace the file if it exists.")
    var overwrite = false

    @Flag(name: .long, help: "Print the result as one JSON document.")
    var json = false

    func run() async throws {
        let directory = BackupCommand.dataDirectory(data)
        let summary: AppDatabase.BackupSummary
        do {
            summary = try AppDatabase.backup(directory: directory, to: URL(fileURLWithPath: to), overwrite: overwrite)
        } catch let failure as AppDatabase.BackupFailure {
            throw CLIError(description: "backup: \(failure.description)")
        }
        if json { return try BackupCommand.printJSON(summary) }
        print("Backed up \(directory.path) to \(summary.path) (\(summary.bytes) bytes, \(summary.migrations.count) migrations).")
    }

    static func dataDirectory(_ option: String?) -> URL { DataOptions.directory(option) }

    static func printJSON(_ summary: AppDatabase.BackupSummary) throws {
        struct Output: Encodable {
            var path: String
            var bytes: Int64
            var migrations: [String]
            var previous: String?
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let output = Output(path: summary.path, bytes: summary.bytes, migrations: summary.migrations, previous: summary.previous)
        FileHandle.standardOutput.write(try encoder.encode(output) + Data("\n".utf8))
    }
}

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Check a backup file and put it in place of the data directory's database (the server must be stopped).",
        discussion: "The database it replaces is kept as belay.sqlite.before-restore. On PostgreSQL use pg_restore (see docs/backup.md).")

    @Option(name: .long, help: "The backup file written by 'belay backup'.")
    var from: String

    @Option(name: .long, help: "Directory holding Belay's data; it must exist (env BELAY_DATA; default ./belay-data).")
    var data: String?

    @Flag(name: .long, help: "Only check the file; change nothing.")
    var check = false

    @Flag(name: .long, help: "Print the result as one JSON document.")
    var json = false

    func run() async throws {
        let directory = BackupCommand.dataDirectory(data)
        let source = URL(fileURLWithPath: from)
        do {
            if check {
                let summary = try AppDatabase.checkBackup(source)
                if json { return try BackupCommand.printJSON(summary) }
                print("\(source.path) is a sound Belay database (\(summary.migrations.count) migrations); it can be restored.")
                return
            }
            let summary = try AppDatabase.restore(from: source, into: directory)
            if json { return try BackupCommand.printJSON(summary) }
            print("Restored \(source.path) into \(summary.path) (\(summary.migrations.count) migrations).")
            if let previous = summary.previous { print("The database it replaced is kept as \(previous).") }
        } catch let failure as AppDatabase.BackupFailure {
            throw CLIError(description: "restore: \(failure.description)")
        }
    }
}
