import BelayCore
@testable import BelaySQLite
import BelayTestSupport
import Foundation
import GRDB
import Synchronization
import Testing

@Suite struct BackupTests {
    let now = Date(timeIntervalSince1970: 1_764_000_000)

    /// Writes keep committing on other connections for the whole backup; the copy is intact and holds an
    /// unbroken prefix of them: every write committed before the backup began, none half-written.
    @Test func aBackupTakenWhileWritesContinueHoldsEveryRowCommittedBeforeIt() async throws {
        let (server, directory) = try Fixtures.fileDatabase()
        let writer = try AppDatabase.open(directory: directory)
        let committed = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let writes = Task {
            var index = 0
            while !stop.load(ordering: .acquiring) {
                _ = try await writer.createComponent(Fixtures.component("c\(index)", at: now))
                index += 1
                committed.store(index, ordering: .releasing)
            }
        }
        while committed.load(ordering: .acquiring) < 20 { await Task.yield() }

        let before = committed.load(ordering: .acquiring)
        let file = directory.deletingLastPathComponent().appendingPathComponent("backup-\(UUID().uuidString).sqlite")
        let summary = try AppDatabase.backup(directory: directory, to: file)
        let after = committed.load(ordering: .acquiring)
        // It holds password and token hashes: its owner's alone.
        let permissions = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(permissions.map { $0 & 0o777 } == 0o600)
        stop.store(true, ordering: .releasing)
        try await writes.value
        _ = server

        #expect(summary.migrations == AppDatabase.migrator.migrations)
        #expect(try AppDatabase.checkBackup(file).migrations == AppDatabase.migrator.migrations)
        let copy = AppDatabase(try DatabaseQueue(path: file.path))
        let slugs = Set(try await copy.components().map(\.slug))
        // A commit may land just before its counter moves, hence `after + 1`.
        #expect(slugs.count >= before && slugs.count <= after + 1)
        #expect(slugs == Set((0..<slugs.count).map { "c\($0)" }))
        let integrity = try await copy.writer.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
        #expect(integrity == ["ok"])
    }

    @Test func aBackupRestoresIntoAFreshDirectoryAndKeepsTheDatabaseItReplaces() async throws {
        let (source, sourceDirectory) = try Fixtures.fileDatabase()
        _ = try await source.createComponent(Fixtures.component("api", at: now))
        let file = sourceDirectory.appendingPathComponent("copy.sqlite")
        _ = try source.backup(to: file)

        let fresh = try Fixtures.temporaryDirectory()
        let first = try AppDatabase.restore(from: file, into: fresh)
        #expect(first.previous == nil)
        let restored = try AppDatabase.open(directory: fresh)
        #expect(try await restored.components().map(\.slug) == ["api"])
        _ = try await restored.createComponent(Fixtures.component("web", at: now))
        try (restored.writer as? DatabasePool)?.close()

        // Again over the database now there: it is kept, with the row written after the first restore.
        let second = try AppDatabase.restore(from: file, into: fresh)
        let kept = try #require(second.previous)
        #expect(try await AppDatabase.open(directory: fresh).components().map(\.slug) == ["api"])
        let previous = AppDatabase(try DatabaseQueue(path: kept))
        #expect(try await previous.components().map(\.slug).sorted() == ["api", "web"])
    }

    @Test func restoreRefusesAGarbageFileAndChangesNothing() async throws {
        let (database, directory) = try Fixtures.fileDatabase()
        _ = try await database.createComponent(Fixtures.component("api", at: now))
        try (database.writer as? DatabasePool)?.close()
        let garbage = directory.appendingPathComponent("garbage.sqlite")
        try Data("this is not a database, just some text\n".utf8).write(to: garbage)
        #expect(throws: AppDatabase.BackupFailure.self) { try AppDatabase.restore(from: garbage, into: directory) }
        #expect(kind { try AppDatabase.restore(from: garbage, into: directory) } == .notSQLite)

        // The right magic with rubbish behind it.
        var forged = Data("SQLite format 3\u{0}".utf8)
        forged.append(Data(repeating: 0xA5, count: 8192))
        try forged.write(to: garbage)
        let forgedKind = kind { try AppDatabase.restore(from: garbage, into: directory) }
        #expect(forgedKind == .notSQLite || forgedKind == .damaged)

        #expect(kind { try AppDatabase.restore(from: directory.appendingPathComponent("missing.sqlite"), into: directory) } == .unreadable)
        #expect(try await AppDatabase.open(directory: directory).components().map(\.slug) == ["api"])
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("belay.sqlite.restoring").path))
    }

    @Test func restoreRefusesASQLiteFileThatIsNotBelays() throws {
        let directory = try Fixtures.temporaryDirectory()
        let other = directory.appendingPathComponent("other.sqlite")
        let queue = try DatabaseQueue(path: other.path)
        try queue.write { db in try db.execute(sql: "CREATE TABLE note (body TEXT)") }
        try queue.close()
        #expect(kind { try AppDatabase.restore(from: other, into: directory) } == .notBelay)
    }

    @Test func restoreRefusesADatabaseFromANewerBelay() async throws {
        let (database, directory) = try Fixtures.fileDatabase()
        let file = directory.appendingPathComponent("future.sqlite")
        _ = try database.backup(to: file)
        let queue = try DatabaseQueue(path: file.path)
        try await queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')") }
        try queue.close()
        try (database.writer as? DatabasePool)?.close()

        let target = try Fixtures.temporaryDirectory()
        #expect(kind { try AppDatabase.restore(from: file, into: target) } == .newerSchema)
        #expect(kind { _ = try AppDatabase.checkBackup(file) } == .newerSchema)
        #expect(!FileManager.default.fileExists(atPath: target.appendingPathComponent("belay.sqlite").path))
    }

    @Test func restoreRefusesWhileTheDatabaseIsOpenAndAMissingDataDirectory() async throws {
        let (database, directory) = try Fixtures.fileDatabase()
        _ = try await database.createComponent(Fixtures.component("api", at: now))
        let file = directory.deletingLastPathComponent().appendingPathComponent("open-\(UUID().uuidString).sqlite")
        _ = try database.backup(to: file)
        // `database` stays open, as a running server keeps it.
        #expect(kind { try AppDatabase.restore(from: file, into: directory) } == .inUse)
        #expect(try await database.components().map(\.slug) == ["api"])

        let missing = directory.appendingPathComponent("no-such-directory")
        #expect(kind { try AppDatabase.restore(from: file, into: missing) } == .noDataDirectory)
        #expect(kind { _ = try AppDatabase.backup(directory: missing, to: file, overwrite: true) } == .noDataDirectory)
        #expect(kind { _ = try database.backup(to: file) } == .cannotWrite)
    }

    private func kind(_ body: () throws -> Void) -> AppDatabase.BackupFailure.Kind? {
        do {
            try body()
            return nil
        } catch let failure as AppDatabase.BackupFailure {
            return failure.kind
        } catch {
            return nil
        }
    }
}
