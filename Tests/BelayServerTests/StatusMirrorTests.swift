import BelayCore
@testable import BelayServer
import BelayTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The status page mirror: what `--status-mirror DIR` writes, what it leaves alone, and how its command runs.
@Suite struct StatusMirrorTests {
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("belay-mirror-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func page(_ text: String, size: Int = 2000) -> CachedPage {
        CachedPage(bytes: Array((text + String(repeating: " <p>filler</p>", count: size / 14)).utf8), contentType: "text/html", cacheControl: "no-cache")
    }

    static func snapshot(_ pages: [String: CachedPage], version: UInt64 = 1) -> StatusSnapshot {
        StatusSnapshot(pages: pages, builtAt: Date(), dataVersion: version)
    }

    static func bytes(_ url: URL) -> [UInt8]? { (try? Data(contentsOf: url)).map(Array.init) }

    static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    @Test func aSnapshotIsWrittenAtItsServedPathsWithTheServedGzipBytesBeside() async throws {
        let harness = try await Harness.make()
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let app = try await BelayApp.build(store: harness.database, configuration: harness.configuration, clock: harness.clock, logger: harness.logger)
        try await app.application(logger: harness.logger).test(.router) { client in
            try await client.send(.post, "/api/v1/components", token: harness.admin, json: ["slug": "api", "name": "API"])
            try await client.send(
                .post, "/api/v1/incidents", token: harness.responder,
                json: ["title": "Errors", "severity": "sev2", "message": "Looking", "components": [["slug": "api", "impact": "major_outage"]]])
        }
        try await app.statusPage.rebuild()
        let snapshot = app.statusPage.box.snapshot
        let (files, rejected) = StatusMirror.files(of: snapshot)
        #expect(rejected == [])
        let outcome = try MirrorDirectory(root: root.path).sync(files)
        #expect(outcome.problems == [])

        let incident = try #require(snapshot.pages.keys.first { $0.hasPrefix("/incidents/") })
        let expected: [(String, String)] = [
            ("/", "index.html"), ("/history", "history.html"), (incident, String(incident.dropFirst()) + ".html"),
            ("/api/v2/summary.json", "api/v2/summary.json"), ("/api/v2/incidents/unresolved.json", "api/v2/incidents/unresolved.json"),
            ("/history.atom", "history.atom"), ("/history.rss", "history.rss"), ("/assets/belay.css", "assets/belay.css"),
            ("/assets/local-time.js", "assets/local-time.js"), ("not-found", "404.html"),
        ]
        for (key, relative) in expected {
            let page = try #require(snapshot.pages[key], "\(key)")
            #expect(Self.bytes(root.appendingPathComponent(relative)) == Array(page.body.readableBytesView), "\(relative)")
            let gzip = Self.bytes(root.appendingPathComponent(relative + ".gz"))
            #expect(gzip == page.gzip.map { Array($0.body.readableBytesView) }, "\(relative).gz")
        }
        #expect(snapshot.pages["/"]?.gzip != nil && snapshot.pages["/api/v2/summary.json"]?.gzip != nil)
        #expect(Self.bytes(root.appendingPathComponent("assets/favicon.svg")) == Array(Favicon.svg.utf8))
        // Every page of the snapshot, and nothing else but the manifest.
        let written = try Self.listing(root)
        #expect(written == Set(files.keys).union([MirrorDirectory.manifestName]))
        #expect(files.count >= snapshot.pages.count + 1)
    }

    static func listing(_ root: URL) throws -> Set<String> {
        var result = Set<String>()
        let enumerator = FileManager.default.enumerator(atPath: root.path)
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path, isDirectory: &isDirectory), !isDirectory.boolValue {
                result.insert(path)
            }
        }
        return result
    }

    static func inode(_ url: URL) -> UInt64? {
        var info = stat()
        guard lstat(url.path, &info) == 0 else { return nil }
        return UInt64(info.st_ino)
    }

    @Test func onlyFilesWhoseBytesChangedAreRewritten() throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let mirror = MirrorDirectory(root: root.path)
        let first = StatusMirror.files(of: Self.snapshot(["/": Self.page("home v1"), "/history": Self.page("history"), "/incidents/7": Self.page("seven")])).files
        let outcome = try mirror.sync(first)
        #expect(Set(outcome.written) == Set(first.keys))
        let historyInode = Self.inode(root.appendingPathComponent("history.html"))
        let gzipInode = Self.inode(root.appendingPathComponent("incidents/7.html.gz"))

        #expect(try mirror.sync(first).written == [], "the same snapshot again writes nothing")
        #expect(!(try mirror.sync(first).changedSomething))

        let second = StatusMirror.files(of: Self.snapshot(["/": Self.page("home v2"), "/history": Self.page("history"), "/incidents/7": Self.page("seven")])).files
        let again = try mirror.sync(second)
        #expect(Set(again.written) == ["index.html", "index.html.gz"])
        #expect(Self.inode(root.appendingPathComponent("history.html")) == historyInode)
        #expect(Self.inode(root.appendingPathComponent("incidents/7.html.gz")) == gzipInode)
        #expect(Self.bytes(root.appendingPathComponent("index.html")) == second["index.html"])

        // A file changed behind the mirror's back is put right.
        try Data("tampered".utf8).write(to: root.appendingPathComponent("history.html"))
        #expect(try mirror.sync(second).written == ["history.html"])
        // No temp file is left behind.
        #expect(try Self.listing(root).filter { $0.contains("belay-tmp") } == [])
    }

    @Test func pagesThatVanishedAreRemovedButNoFileTheMirrorDidNotWrite() throws {
        let root = try Self.temporaryDirectory()
        let outside = try Self.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: root)
            try? FileManager.default.removeItem(at: outside)
        }
        let mirror = MirrorDirectory(root: root.path)
        _ = try mirror.sync(StatusMirror.files(of: Self.snapshot(["/": Self.page("home"), "/incidents/1": Self.page("one"), "/incidents/2": Self.page("two")])).files)
        let foreign = ["robots.txt", "incidents/notes.html", "incidents/3.html", ".well-known/security.txt"]
        for path in foreign {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(path).deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("mine".utf8).write(to: root.appendingPathComponent(path))
        }
        try Data("keep".utf8).write(to: outside.appendingPathComponent("victim.html"))
        // Someone edits the manifest to point outside the directory: the mirror never follows it.
        let manifestURL = root.appendingPathComponent(MirrorDirectory.manifestName)
        var manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
        let hostile = ["../\(outside.lastPathComponent)/victim.html", "\(outside.path)/victim.html", "incidents/../../x", ".well-known/security.txt"]
        manifest["files"] = ((manifest["files"] as? [String]) ?? []) + hostile
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)

        let outcome = try mirror.sync(StatusMirror.files(of: Self.snapshot(["/": Self.page("home"), "/incidents/2": Self.page("two")])).files)
        #expect(Set(outcome.removed) == ["incidents/1.html", "incidents/1.html.gz"])
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("incidents/1.html").path))
        for path in foreign { #expect(Self.bytes(root.appendingPathComponent(path)) == Array("mine".utf8), "\(path)") }
        #expect(Self.bytes(outside.appendingPathComponent("victim.html")) == Array("keep".utf8))
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("incidents/2.html").path))
    }

    @Test func tempFilesACrashLeftBesideTheMirrorsFilesAreRemovedAndNoOthers() throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let mirror = MirrorDirectory(root: root.path)
        let files = StatusMirror.files(of: Self.snapshot(["/": Self.page("home"), "/incidents/1": Self.page("one")])).files
        _ = try mirror.sync(files)
        let leftovers = [".index.html.belay-tmp-123", "incidents/.1.html.gz.belay-tmp-9", ".\(MirrorDirectory.manifestName).belay-tmp-42"]
        // ".belay-tmp-1" has no name before the marker (it once trapped, crashing every start).
        let others = [".robots.txt.belay-tmp-1", "incidents/.1.html.belay-tmp-x", ".index.html.belay-tmp-", ".belay-tmp-1", "incidents/.belay-tmp-7"]
        for name in leftovers + others { try Data("half".utf8).write(to: root.appendingPathComponent(name)) }
        _ = try mirror.sync(files)
        for name in leftovers + others { #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent(name).path), "only once asked") }
        _ = try mirror.sync(files, removeLeftovers: true)
        for name in leftovers { #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent(name).path), "\(name)") }
        for name in others { #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent(name).path), "\(name)") }
    }

    @Test(arguments: [
        "/incidents/../../x", "/../x", "/incidents/..", "/a/./b", "/a//b", "//etc/passwd", "/.hidden", "/incidents/.belay-mirror-manifest.json",
        "/incidents/%2e%2e/x", "/a\\b", "/a\u{0}b", "/incidents/42/", "relative", "/page.gz", "/incidents/é", "/a b", "/" + String(repeating: "a", count: 300),
        "/" + Array(repeating: "a", count: 20).joined(separator: "/"),
    ])
    func aKeyThatCouldNameAnythingOutsideTheDirectoryIsNeverWritten(key: String) throws {
        #expect(MirrorPath.relativePath(forKey: key) == nil)
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root.deletingLastPathComponent().appendingPathComponent("x.html")) }
        defer { try? FileManager.default.removeItem(at: root) }
        let (files, rejected) = StatusMirror.files(of: Self.snapshot(["/": Self.page("home"), key: Self.page("hostile")]))
        #expect(rejected == [key])
        _ = try MirrorDirectory(root: root.path).sync(files)
        #expect(try Self.listing(root) == Set(files.keys).union([MirrorDirectory.manifestName]))
        #expect(!FileManager.default.fileExists(atPath: root.deletingLastPathComponent().appendingPathComponent("x.html").path))
    }

    @Test func plainKeysMapToTheFilesAStaticServerLooksFor() {
        #expect(MirrorPath.relativePath(forKey: "/") == "index.html")
        #expect(MirrorPath.relativePath(forKey: "/incidents/01JABC-x_9") == "incidents/01JABC-x_9.html")
        #expect(MirrorPath.relativePath(forKey: "/api/v2/summary.json") == "api/v2/summary.json")
        #expect(MirrorPath.relativePath(forKey: "/history") == "history.html")
        #expect(MirrorPath.relativePath(forKey: "not-found") == "404.html")
    }

    @Test func aLinkInTheDirectoryIsNotFollowed() throws {
        let root = try Self.temporaryDirectory()
        let outside = try Self.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: root)
            try? FileManager.default.removeItem(at: outside)
        }
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("incidents").path, withDestinationPath: outside.path)
        let outcome = try MirrorDirectory(root: root.path).sync(
            StatusMirror.files(of: Self.snapshot(["/": Self.page("home"), "/incidents/1": Self.page("one")])).files)
        #expect(outcome.problems.count == 2)
        #expect(outcome.problems.first?.contains("not a directory") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path) == [])
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("index.html").path), "the other files are still written")
    }

    @Test func aMissingDirectoryIsReportedAndNeverThrownAtTheServer() async throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("belay-mirror-missing-\(UUID().uuidString)").path
        #expect(throws: MirrorDirectory.Unusable.self) { try MirrorDirectory(root: missing).sync(["index.html": [1]]) }
        let mirror = StatusMirror(directory: missing, command: nil, clock: FixedClock(Date(timeIntervalSince1970: 1_790_000_000)), logger: Self.logger)
        await mirror.write(Self.snapshot(["/": Self.page("home")]))
        let state = mirror.health.current
        #expect(state.isFailing)
        #expect(state.writeProblem?.message.contains("no such file or directory") == true)
        #expect(state.problems.count == 1)
        #expect(!FileManager.default.fileExists(atPath: missing), "the mirror does not make its directory: a missing one may be an unmounted volume")
    }

    @Test func aFileThatCannotBeWrittenIsReportedAndTheOthersAreStillWritten() async throws {
        let root = try Self.temporaryDirectory()
        defer {
            chmod(root.path, 0o755)
            try? FileManager.default.removeItem(at: root)
        }
        // A directory where a page goes: the rename fails, whoever runs the test.
        try FileManager.default.createDirectory(at: root.appendingPathComponent("history.html"), withIntermediateDirectories: true)
        let mirror = StatusMirror(directory: root.path, command: nil, clock: FixedClock(Date(timeIntervalSince1970: 1_790_000_000)), logger: Self.logger)
        await mirror.write(Self.snapshot(["/": Self.page("home"), "/history": Self.page("history", size: 10)]))
        #expect(mirror.health.current.writeProblem?.message.contains("a directory is in the way") == true)
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("index.html").path))
        try FileManager.default.removeItem(at: root.appendingPathComponent("history.html"))
        await mirror.write(Self.snapshot(["/": Self.page("home"), "/history": Self.page("history", size: 10)]))
        #expect(mirror.health.current.writeProblem == nil, "the problem clears once a copy succeeds")
        #expect(mirror.health.current.lastWriteAt != nil)

        // Root ignores permissions, so a read-only directory only means something to anyone else.
        guard geteuid() != 0 else { return }
        chmod(root.path, 0o555)
        await mirror.write(Self.snapshot(["/": Self.page("home v2")]))
        #expect(mirror.health.current.writeProblem?.message.contains("permission denied") == true)
    }

    // MARK: The command

    @Test func aFailingCommandReportsItsStatusAndOutput() async throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let run = await MirrorCommand(command: "echo \"dir=$BELAY_STATUS_MIRROR cwd=$(pwd)\"; echo oops >&2; exit 3", directory: root.path, timeout: .seconds(30)).run()
        #expect(run.outcome == .failed)
        #expect(run.exitStatus == 3)
        #expect(run.output.contains("dir=\(root.path)"))
        #expect(run.output.contains("oops"))
        #expect(run.summary == "the status mirror command exited with status 3")

        let ok = await MirrorCommand(command: "true", directory: root.path, timeout: .seconds(30)).run()
        #expect(ok.outcome == .succeeded)
        let missing = await MirrorCommand(command: "true", directory: root.path + "/nope", timeout: .seconds(30)).run()
        #expect(missing.outcome == .couldNotStart)
    }

    @Test func outputIsCutAtTheLimit() async throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let run = await MirrorCommand(command: "head -c 200000 /dev/zero | tr '\\0' x", directory: root.path, timeout: .seconds(30)).run()
        #expect(run.outcome == .succeeded)
        #expect(run.output.utf8.count < MirrorCommand.outputLimit + 100)
        #expect(run.output.hasSuffix("(\(200000 - MirrorCommand.outputLimit) more bytes not kept)"))
    }

    @Test func aCommandPastItsTimeLimitIsKilledWithWhatItStarted() async throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let started = ContinuousClock.now
        let run = await MirrorCommand(
            command: "sleep 120 & echo $! > child.pid; echo started; wait", directory: root.path, timeout: .milliseconds(500)
        ).run()
        #expect(run.outcome == .timedOut)
        #expect(run.output.contains("started"))
        #expect(ContinuousClock.now - started < .seconds(60), "killed long before the sleep ends")
        // The shell's child was in the command's process group, so it died too (or is a zombie awaiting its reaper).
        let pid = try #require(Int32(String(decoding: Data(contentsOf: root.appendingPathComponent("child.pid")), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        var alive = false
        for _ in 0..<100 {
            let state = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.split(separator: ")").last?.split(separator: " ").first
            alive = state != nil && state != "Z"
            if !alive { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(!alive)
    }

    /// Writes while the command runs make exactly one more run afterwards, and runs never overlap.
    @Test func commandRunsCoalesceAndNeverOverlap() async throws {
        let root = try Self.temporaryDirectory()
        let work = try Self.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: root)
            try? FileManager.default.removeItem(at: work)
        }
        let script = """
            mkdir '\(work.path)/lock' || echo overlap >> '\(work.path)/log'
            while [ ! -f '\(work.path)/gate' ]; do sleep 0.02; done
            echo run >> '\(work.path)/log'
            rmdir '\(work.path)/lock'
            """
        let mirror = StatusMirror(
            directory: root.path, command: MirrorCommand(command: script, directory: root.path, timeout: .seconds(60)),
            clock: FixedClock(Date(timeIntervalSince1970: 1_790_000_000)), logger: Self.logger)
        let service = Task { try await mirror.run() }
        defer { service.cancel() }

        func waitUntil(_ condition: () throws -> Bool) async throws {
            for _ in 0..<1000 {
                if try condition() { return }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(try condition())
        }
        mirror.offer(Self.snapshot(["/": Self.page("v1")], version: 1))
        try await waitUntil { mirror.health.current.commandRunning }
        // Four more changed copies while the first run waits at its gate; each one lands before the next is offered.
        for version in 2...5 {
            mirror.offer(Self.snapshot(["/": Self.page("v\(version)")], version: UInt64(version)))
            let expected = Array(Self.page("v\(version)").body.readableBytesView)
            try await waitUntil { Self.bytes(root.appendingPathComponent("index.html")) == expected }
        }
        // Writes that change nothing ask for no run.
        mirror.offer(Self.snapshot(["/": Self.page("v5")], version: 6))
        try Data().write(to: work.appendingPathComponent("gate"))
        let log = work.appendingPathComponent("log")
        try await waitUntil { (Self.bytes(log).map { String(decoding: $0, as: UTF8.self) } ?? "").split(separator: "\n").count >= 2 }
        try await waitUntil { !mirror.health.current.commandRunning }
        try await Task.sleep(for: .milliseconds(300))
        #expect(String(decoding: Self.bytes(log) ?? [], as: UTF8.self) == "run\nrun\n")
        #expect(mirror.health.current.lastCommand?.outcome == .succeeded)
    }

    // MARK: Where people see it

    @Test func aFailureShowsInTheAPIForAdmins() async throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("belay-mirror-missing-\(UUID().uuidString)").path
        let harness = try await Harness.make { $0.statusPage.mirrorDirectory = missing }
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        let app = try await BelayApp.build(store: harness.database, configuration: harness.configuration, clock: harness.clock, logger: harness.logger)
        let mirror = try #require(app.statusMirror)
        await mirror.write(app.statusPage.box.snapshot)
        try await app.application(logger: harness.logger).test(.router) { client in
            let body = try await client.send(.get, "/api/v1/status-mirror", token: harness.admin).object()
            #expect(body["status"] as? String == "failing")
            #expect(body["directory"] as? String == missing)
            let problem = try #require(body["writeProblem"] as? [String: Any])
            #expect((problem["message"] as? String)?.contains("does not exist") == true || (problem["message"] as? String)?.contains("no such file") == true)
            #expect(try await client.send(.get, "/api/v1/status-mirror", token: harness.viewer).status == .forbidden)
        }
        let off = try await Harness.make()
        defer { try? FileManager.default.removeItem(at: off.directory) }
        let plain = try await BelayApp.build(store: off.database, configuration: off.configuration, clock: off.clock, logger: off.logger)
        #expect(plain.statusMirror == nil)
        try await plain.application(logger: off.logger).test(.router) { client in
            let body = try await client.send(.get, "/api/v1/status-mirror", token: off.admin).object()
            #expect(body["status"] as? String == "off")
            #expect(body["enabled"] as? Bool == false)
        }
    }

    @Test func theSettingsLoadFromFlagsAndVariables() throws {
        let configuration = try ConfigurationLoader.load(
            flags: ["status-mirror": "/srv/mirror/../status", "status-mirror-timeout": "90s"],
            environment: ["BELAY_STATUS_MIRROR_COMMAND": "rsync -a ./ host:/var/www/"])
        #expect(configuration.statusPage.mirrorDirectory == "/srv/status")
        #expect(configuration.statusPage.mirrorCommand == "rsync -a ./ host:/var/www/")
        #expect(configuration.statusPage.mirrorCommandTimeout == .seconds(90))
        let printed = try ConfigurationDocument(configuration).json()
        #expect(printed.contains("\"mirrorDirectory\" : \"/srv/status\""))
        #expect(printed.contains("\"mirrorCommand\" : \"rsync -a ./ host:/var/www/\""))
        #expect(printed.contains("\"mirrorCommandTimeoutSeconds\" : 90"))
        #expect(throws: ConfigurationLoader.Invalid.self) { try ConfigurationLoader.load(flags: ["status-mirror-timeout": "0.1s"], environment: [:]) }
    }
}
