import BelayCore
import Dispatch
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Copies every public snapshot into a directory (`--status-mirror`), so a static server, a bucket or a
/// CDN can keep serving the last page while Belay is down, and runs the operator's command after each
/// copy that changed something (`--status-mirror-command`). The publisher only hands snapshots over; the
/// copy and the command run here, one at a time, the newest snapshot replacing any still waiting, so
/// neither a rebuild nor a request ever waits for the disk or the command.
public final class StatusMirror: Service, Sendable {
    let directory: MirrorDirectory
    let command: MirrorCommand?
    public let health: StatusMirrorHealth
    let clock: any WallClock
    let logger: Logger
    private let snapshots: AsyncStream<StatusSnapshot>
    private let snapshotInput: AsyncStream<StatusSnapshot>.Continuation
    /// Holds at most one request: changes while the command runs make one more run afterwards, not many.
    private let commandRequests: AsyncStream<Void>
    private let commandInput: AsyncStream<Void>.Continuation
    /// The rejected keys last logged, so a bad key is reported once, not on every rebuild.
    private let reportedRejections = Mutex<[String]>([])
    /// Whether a copy has run since the start (the first one also clears what a crash left behind).
    private let hasCopied = Atomic<Bool>(false)

    /// File writes block: they run on this queue, never on an event loop (which runs Swift concurrency here).
    private static let writeQueue = DispatchQueue(label: "belay.status-mirror.write", qos: .utility)

    init(directory: String, command: MirrorCommand?, clock: any WallClock, logger: Logger) {
        self.directory = MirrorDirectory(root: directory)
        self.command = command
        self.clock = clock
        self.logger = logger
        health = StatusMirrorHealth(directory: directory, commandConfigured: command != nil)
        (snapshots, snapshotInput) = AsyncStream.makeStream(of: StatusSnapshot.self, bufferingPolicy: .bufferingNewest(1))
        (commandRequests, commandInput) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The mirror the configuration asks for, or nil.
    static func make(configuration: ServerConfiguration, clock: any WallClock, logger: Logger) -> StatusMirror? {
        guard let directory = configuration.statusPage.mirrorDirectory else { return nil }
        let command = configuration.statusPage.mirrorCommand.map {
            MirrorCommand(command: $0, directory: directory, timeout: configuration.statusPage.mirrorCommandTimeout)
        }
        return StatusMirror(directory: directory, command: command, clock: clock, logger: logger)
    }

    /// Hands over a new snapshot; returns at once.
    func offer(_ snapshot: StatusSnapshot) {
        snapshotInput.yield(snapshot)
    }

    public func run() async throws {
        // Cancelled on shutdown: a copy in progress still finishes (it runs on its queue); a command still
        // running is killed.
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await snapshot in self.snapshots { await self.write(snapshot) }
                }
                if let command = self.command {
                    group.addTask {
                        for await _ in self.commandRequests {
                            // A request still buffered at shutdown starts nothing.
                            if Task.isCancelled { break }
                            await self.runCommand(command)
                        }
                    }
                }
                await group.waitForAll()
            }
        }
        snapshotInput.finish()
        commandInput.finish()
    }

    // MARK: Copy

    /// The files a snapshot becomes: each page at its path with, where Belay serves a gzip copy, those
    /// very bytes beside it as `.gz`; plus the icon, which is served from outside the snapshot.
    static func files(of snapshot: StatusSnapshot) -> (files: [String: [UInt8]], rejected: [String]) {
        var pages = snapshot.pages
        pages[Favicon.path] = Favicon.page
        var files: [String: [UInt8]] = [:]
        var rejected: [String] = []
        for (key, page) in pages {
            guard let relative = MirrorPath.relativePath(forKey: key) else {
                rejected.append(key)
                continue
            }
            files[relative] = Array(page.body.readableBytesView)
            if let gzip = page.gzip { files[relative + ".gz"] = Array(gzip.body.readableBytesView) }
        }
        return (files, rejected.sorted())
    }

    /// Copies one snapshot and records how it went; never throws, since nothing here may stop Belay.
    func write(_ snapshot: StatusSnapshot) async {
        // An empty snapshot is a publisher that has not built yet, never a page with nothing on it.
        guard !snapshot.pages.isEmpty else { return }
        let directory = self.directory
        let isFirst = !hasCopied.exchange(true, ordering: .relaxed)
        let (result, rejected) = await withCheckedContinuation { continuation in
            Self.writeQueue.async {
                let (files, rejected) = Self.files(of: snapshot)
                continuation.resume(returning: (Result { try directory.sync(files, removeLeftovers: isFirst) }, rejected))
            }
        }
        reportRejected(rejected)
        let now = clock.now
        switch result {
        case .success(let outcome):
            let problem = outcome.problems.isEmpty ? nil : Self.summary(outcome.problems)
            let previous = health.recordWrite(outcome, problem: problem, at: now)
            if let problem, problem != previous {
                logger.error("status mirror: some files could not be written", metadata: ["error": "\(problem)", "directory": "\(directory.root)"])
            } else if problem == nil, previous != nil {
                logger.notice("status mirror: writing again", metadata: ["directory": "\(directory.root)"])
            }
            if outcome.changedSomething {
                logger.debug(
                    "status mirror written",
                    metadata: ["written": "\(outcome.written.count)", "removed": "\(outcome.removed.count)", "version": "\(snapshot.dataVersion)"])
                if command != nil { commandInput.yield() }
            }
        case .failure(let error):
            let problem = "\(error)"
            let previous = health.recordWriteFailure(problem, at: now)
            if problem != previous {
                logger.error("status mirror: cannot write; the status page itself is unaffected", metadata: ["error": "\(problem)"])
            }
        }
    }

    static func summary(_ problems: [String]) -> String {
        problems.count == 1 ? problems[0] : "\(problems[0]) (and \(problems.count - 1) more)"
    }

    private func reportRejected(_ rejected: [String]) {
        let isNew = reportedRejections.withLock { reported in
            defer { reported = rejected }
            return reported != rejected
        }
        guard isNew, !rejected.isEmpty else { return }
        logger.warning("status mirror: pages with paths that cannot be files were not copied", metadata: ["paths": "\(rejected.prefix(10))"])
    }

    // MARK: Command

    func runCommand(_ command: MirrorCommand) async {
        health.commandStarted()
        let clock = self.clock
        let run = await command.run(now: { clock.now })
        if Task.isCancelled {
            // Killed because Belay is stopping: not the command's failure.
            health.commandStopped()
            logger.notice("status mirror command stopped with Belay", metadata: ["outcome": "\(run.outcome.rawValue)"])
            return
        }
        let previous = health.recordCommand(run)
        if run.outcome == .succeeded {
            if previous != nil { logger.notice("status mirror command succeeded again") }
            return
        }
        // The output stays out of the log (a `set -x` or `curl -v` would put credentials there); admins read
        // it from GET /api/v1/status-mirror.
        logger.error("status mirror: \(run.summary)", metadata: ["outcome": "\(run.outcome.rawValue)"])
    }
}

/// What the mirror last did, read by the app's home page and `GET /api/v1/status-mirror`.
public final class StatusMirrorHealth: Sendable {
    public struct Problem: Sendable, Equatable {
        public var at: Date
        public var message: String
    }

    public struct State: Sendable {
        public var directory: String
        public var commandConfigured: Bool
        /// The last copy that wrote every file it had to.
        public var lastWriteAt: Date?
        /// The last copy that changed a file.
        public var lastChangeAt: Date?
        public var files = 0
        /// Why the last copy failed, in whole or in part; nil once one succeeds.
        public var writeProblem: Problem?
        public var commandRunning = false
        public var lastCommand: MirrorCommandRun?
        /// The last failed run; nil once one succeeds.
        public var lastCommandFailure: MirrorCommandRun?

        public var isFailing: Bool { writeProblem != nil || lastCommandFailure != nil }

        /// One sentence each, for people.
        public var problems: [String] {
            var problems: [String] = []
            if let writeProblem {
                problems.append("The status page mirror in \(directory) could not be written (\(UTCTime.when(writeProblem.at))): \(writeProblem.message).")
            }
            if let failure = lastCommandFailure {
                problems.append("After a copy at \(UTCTime.when(failure.startedAt)), \(failure.summary).")
            }
            return problems
        }
    }

    private let state: Mutex<State>

    init(directory: String, commandConfigured: Bool) {
        state = Mutex(State(directory: directory, commandConfigured: commandConfigured))
    }

    public var current: State { state.withLock { $0 } }

    /// Returns the problem recorded before.
    func recordWrite(_ outcome: MirrorDirectory.Outcome, problem: String?, at now: Date) -> String? {
        state.withLock { state in
            let previous = state.writeProblem?.message
            state.files = outcome.fileCount
            if outcome.changedSomething { state.lastChangeAt = now }
            if let problem {
                if state.writeProblem?.message != problem { state.writeProblem = Problem(at: now, message: problem) }
            } else {
                state.writeProblem = nil
                state.lastWriteAt = now
            }
            return previous
        }
    }

    func recordWriteFailure(_ message: String, at now: Date) -> String? {
        state.withLock { state in
            let previous = state.writeProblem?.message
            if previous != message { state.writeProblem = Problem(at: now, message: message) }
            return previous
        }
    }

    func commandStarted() { state.withLock { $0.commandRunning = true } }

    func commandStopped() { state.withLock { $0.commandRunning = false } }

    /// Returns the failure recorded before.
    func recordCommand(_ run: MirrorCommandRun) -> MirrorCommandRun? {
        state.withLock { state in
            let previous = state.lastCommandFailure
            state.commandRunning = false
            state.lastCommand = run
            state.lastCommandFailure = run.outcome == .succeeded ? nil : run
            return previous
        }
    }
}
