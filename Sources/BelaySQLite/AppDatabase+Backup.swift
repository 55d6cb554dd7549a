import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Online backup of a live SQLite install and the checked, atomic restore of such a copy.
extension AppDatabase {
    /// The database's file name inside a data directory (`open(directory:)` uses it).
    public static let fileName = "belay.sqlite"

    /// What `belay backup` and `belay restore` tell a person when they refuse; each message names the file.
    public struct BackupFailure: Error, CustomStringConvertible, Equatable {
        public enum Kind: Sendable, Equatable {
            case unreadable, notSQLite, notBelay, damaged, newerSchema, noDataDirectory, inUse, cannotWrite
        }

        public let kind: Kind
        public let description: String
    }

    /// What a backup or restore wrote: the file, its size, and the migrations its schema has.
    public struct BackupSummary: Sendable, Equatable {
        public let path: String
        public let bytes: Int64
        public let migrations: [String]
        /// For a restore, where the database it replaced was kept (nil when the directory had none).
        public let previous: String?
    }

    /// Copies the database in `directory` to `destination` while a server may be writing to it.
    public static func backup(directory: URL, to destination: URL, overwrite: Bool = false) throws -> BackupSummary {
        let source = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: source.path) else {
            throw BackupFailure(kind: .noDataDirectory, description: "no Belay database at \(source.path) (is --data right?)")
        }
        // A pool, like the server's: its reads are snapshots, so the copy never blocks the server's writes.
        // It runs no migration: a backup copies what is there, whatever its version.
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: source.path, configuration: makeConfiguration(synchronous: .full))
        } catch {
            throw BackupFailure(kind: .unreadable, description: "cannot open \(source.path): \(describe(error))")
        }
        defer { try? pool.close() }
        return try AppDatabase(pool).backup(to: destination, overwrite: overwrite)
    }

    /// Copies this database to `destination`: one SQLite backup step inside one read transaction, so the
    /// copy holds exactly the transactions committed when it began. It is written beside the destination
    /// and renamed into place, so a crash never leaves a half-written file under the chosen name.
    public func backup(to destination: URL, overwrite: Bool = false) throws -> BackupSummary {
        let manager = FileManager.default
        if manager.fileExists(atPath: destination.path), !overwrite {
            throw BackupFailure(kind: .cannotWrite, description: "\(destination.path) already exists; choose another name or pass --overwrite")
        }
        let folder = destination.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BackupFailure(kind: .cannotWrite, description: "the folder \(folder.path) does not exist")
        }
        let partial = folder.appendingPathComponent(".\(destination.lastPathComponent).partial-\(getpid())")
        Self.removeDatabaseFiles(at: partial)
        do {
            // The copy holds password, session and token hashes and subscribers' addresses: readable by its
            // owner only, and made here (O_EXCL, no symlink followed) before SQLite opens it.
            let descriptor = Self.createPrivately(partial.path)
            guard descriptor >= 0 else {
                throw BackupFailure(kind: .cannotWrite, description: "cannot create \(partial.path) (errno \(errno)); is another backup running?")
            }
            _ = close(descriptor)
            let copy = try DatabaseQueue(path: partial.path)
            try writer.backup(to: copy)
            let migrations = try copy.writeWithoutTransaction { db -> [String] in
                try Self.requireIntact(db, path: destination.path)
                // One self-contained file: a copy in WAL mode would need its -wal beside it when opened.
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
                return try Self.appliedMigrations(db)
            }
            try copy.close()
            try Self.synchronize(partial)
            guard rename(partial.path, destination.path) == 0 else {
                throw BackupFailure(kind: .cannotWrite, description: "cannot move the copy to \(destination.path): \(String(cString: strerror(errno)))")
            }
            return BackupSummary(path: destination.path, bytes: Self.size(of: destination), migrations: migrations, previous: nil)
        } catch let failure as BackupFailure {
            Self.removeDatabaseFiles(at: partial)
            throw failure
        } catch {
            Self.removeDatabaseFiles(at: partial)
            throw BackupFailure(kind: .cannotWrite, description: "cannot write \(destination.path): \(Self.describe(error))")
        }
    }

    /// Checks `source` (SQLite, intact, a Belay database not newer than this binary) and puts it in place
    /// of the database in `directory`. Refuses while any process has that database open: a server holds a
    /// shared lock on it for as long as it runs, so the exclusive lock taken here fails until it stops.
    /// The previous database is kept as `belay.sqlite.before-restore`.
    public static func restore(from source: URL, into directory: URL) throws -> BackupSummary {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BackupFailure(kind: .noDataDirectory, description: "the data directory \(directory.path) does not exist (create it first)")
        }
        try requireSQLiteHeader(source)

        // The checks run on the copy that will be restored, not on the source, which could change in between.
        let staged = directory.appendingPathComponent("\(fileName).restoring")
        removeDatabaseFiles(at: staged)
        let migrations: [String]
        do {
            do {
                try manager.copyItem(at: source, to: staged)
            } catch {
                throw BackupFailure(kind: .cannotWrite, description: "cannot copy \(source.path) into \(directory.path): \(describe(error))")
            }
            migrations = try check(staged, reportingAs: source.path)
            try synchronize(staged)
        } catch {
            removeDatabaseFiles(at: staged)
            throw error
        }

        let current = directory.appendingPathComponent(fileName)
        let keptPath = current.path + ".before-restore"
        var previous: String?
        do {
            if manager.fileExists(atPath: current.path) {
                let lock = try lockExclusively(current, directory: directory)
                // Fold the write-ahead log into the file, so the kept copy is whole and no log of the old
                // database is left to be replayed onto the restored one.
                try lock.writeWithoutTransaction { db in _ = try Row.fetchAll(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
                removeDatabaseFiles(at: URL(fileURLWithPath: keptPath))
                // A hard link keeps the old file without opening it: closing any descriptor of a file
                // drops the POSIX locks this process holds on it, the exclusive lock above included.
                if link(current.path, keptPath) != 0 {
                    try manager.copyItem(atPath: current.path, toPath: keptPath)
                }
                previous = keptPath
                guard rename(staged.path, current.path) == 0 else {
                    throw BackupFailure(kind: .cannotWrite, description: "cannot move the restored file into place: \(String(cString: strerror(errno)))")
                }
                try? manager.removeItem(atPath: current.path + "-wal")
                try? manager.removeItem(atPath: current.path + "-shm")
                try lock.close()
            } else {
                guard rename(staged.path, current.path) == 0 else {
                    throw BackupFailure(kind: .cannotWrite, description: "cannot move the restored file into place: \(String(cString: strerror(errno)))")
                }
            }
        } catch let failure as BackupFailure {
            removeDatabaseFiles(at: staged)
            throw failure
        } catch {
            removeDatabaseFiles(at: staged)
            throw BackupFailure(kind: .cannotWrite, description: "cannot restore into \(directory.path): \(describe(error))")
        }
        return BackupSummary(path: current.path, bytes: size(of: current), migrations: migrations, previous: previous)
    }

    /// Checks a backup file without restoring it: the migrations it has, or why it cannot be restored.
    /// The file is opened read-only, so checking never changes it.
    public static func checkBackup(_ file: URL) throws -> BackupSummary {
        try requireSQLiteHeader(file)
        var configuration = Configuration()
        configuration.readonly = true
        let migrations = try check(file, reportingAs: file.path, configuration: configuration)
        return BackupSummary(path: file.path, bytes: size(of: file), migrations: migrations, previous: nil)
    }

    private static func check(_ file: URL, reportingAs name: String, configuration: Configuration = Configuration()) throws -> [String] {
        do {
            let queue = try DatabaseQueue(path: file.path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.writeWithoutTransaction { db in
                try requireIntact(db, path: name)
                guard try db.tableExists("grdb_migrations") else {
                    throw BackupFailure(kind: .notBelay, description: "\(name) is a SQLite database but not Belay's (it has no migrations table)")
                }
                let applied = try appliedMigrations(db)
                guard let first = migrator.migrations.first, applied.contains(first) else {
                    throw BackupFailure(kind: .notBelay, description: "\(name) is a SQLite database but not Belay's (its migrations are not Belay's)")
                }
                let unknown = Set(applied).subtracting(migrator.migrations)
                guard unknown.isEmpty else {
                    throw BackupFailure(
                        kind: .newerSchema,
                        description: "\(name) was written by a newer Belay (migrations \(unknown.sorted().joined(separator: ", ")) are unknown here); restore it with that version or newer")
                }
                if !configuration.readonly { try db.execute(sql: "PRAGMA journal_mode = DELETE") }
                return applied
            }
        } catch let failure as BackupFailure {
            throw failure
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw BackupFailure(kind: .notSQLite, description: "\(name) is not a SQLite database")
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CORRUPT {
            throw BackupFailure(kind: .damaged, description: "\(name) is damaged: \(error.message ?? "database disk image is malformed")")
        } catch {
            throw BackupFailure(kind: .unreadable, description: "cannot read \(name): \(describe(error))")
        }
    }

    /// Opens `file` holding SQLite's exclusive lock, which no other process can have while any of them has
    /// the database open in WAL mode (Belay's mode).
    private static func lockExclusively(_ file: URL, directory: URL) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .immediateError
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA locking_mode = EXCLUSIVE") }
        do {
            let queue = try DatabaseQueue(path: file.path, configuration: configuration)
            try queue.writeWithoutTransaction { db in try db.execute(sql: "BEGIN EXCLUSIVE; COMMIT") }
            return queue
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
            throw BackupFailure(
                kind: .inUse,
                description: "\(directory.path) is in use (a running belay serve, or another belay command); stop it and restore again")
        } catch {
            throw BackupFailure(kind: .unreadable, description: "cannot open the current database \(file.path): \(describe(error))")
        }
    }

    private static func requireSQLiteHeader(_ file: URL) throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: file.path, isDirectory: &isDirectory) else {
            throw BackupFailure(kind: .unreadable, description: "\(file.path) does not exist")
        }
        guard !isDirectory.boolValue, let handle = FileHandle(forReadingAtPath: file.path) else {
            throw BackupFailure(kind: .unreadable, description: "cannot read \(file.path)")
        }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        guard header == Data("SQLite format 3\u{0}".utf8) else {
            throw BackupFailure(kind: .notSQLite, description: "\(file.path) is not a SQLite database")
        }
    }

    private static func requireIntact(_ db: Database, path: String) throws {
        let problems = try String.fetchAll(db, sql: "PRAGMA integrity_check(5)")
        guard problems == ["ok"] else {
            throw BackupFailure(kind: .damaged, description: "\(path) is damaged: \(problems.joined(separator: "; "))")
        }
    }

    private static func appliedMigrations(_ db: Database) throws -> [String] {
        guard try db.tableExists("grdb_migrations") else { return [] }
        return try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
    }

    private static func synchronize(_ file: URL) throws {
        let handle = try FileHandle(forUpdating: file)
        defer { try? handle.close() }
        try handle.synchronize()
    }

    private static func size(of file: URL) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: file.path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    private static func removeDatabaseFiles(at file: URL) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            try? FileManager.default.removeItem(atPath: file.path + suffix)
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error.resultCode)" }
        return (error as NSError).localizedDescription
    }
}

extension AppDatabase {
    /// Creates `path` for its owner alone (0600), failing if anything, a symbolic link included, is there.
    static func createPrivately(_ path: String) -> Int32 {
        #if canImport(Glibc)
        Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        #elseif canImport(Musl)
        Musl.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        #else
        Darwin.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        #endif
    }
}
