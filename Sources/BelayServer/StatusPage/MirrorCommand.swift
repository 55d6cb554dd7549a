import Dispatch
import Foundation
import Synchronization

/// How one run of the status mirror command ended.
public struct MirrorCommandRun: Sendable, Equatable {
    public enum Outcome: String, Sendable, Codable {
        case succeeded
        case failed
        case timedOut = "timed_out"
        case couldNotStart = "could_not_start"
    }

    public var startedAt: Date
    public var finishedAt: Date
    public var outcome: Outcome
    /// The exit status, when the command exited on its own.
    public var exitStatus: Int32?
    /// What it wrote to stdout and stderr, interleaved, cut at `MirrorCommand.outputLimit` bytes.
    public var output: String
    /// One sentence for a person: what went wrong, or that it worked.
    public var summary: String
}

/// The operator's command (an `aws s3 sync`, an `rsync`, a CDN purge), run through `/bin/sh -c` in the
/// mirror directory with `BELAY_STATUS_MIRROR` set. It runs in a process group of its own, so the time
/// limit kills whatever the shell started too, and its output is read on a thread of its own so a chatty
/// command never blocks on a full pipe.
struct MirrorCommand: Sendable {
    let command: String
    let directory: String
    let timeout: Duration

    /// Bytes of output kept; the rest is read and counted, not stored.
    static let outputLimit = 16 * 1024
    /// Belay's own secrets stay out of the command's environment; everything else (AWS_*, SSH_AUTH_SOCK) is
    /// passed on, since that is how such commands are configured.
    static let withheldVariables = ["BELAY_SMTP_PASSWORD", "BELAY_DATABASE_URL", "BELAY_TOKEN"]

    func run(now: @escaping @Sendable () -> Date = { Date() }) async -> MirrorCommandRun {
        let startedAt = now()
        func ended(_ outcome: MirrorCommandRun.Outcome, status: Int32? = nil, output: String = "", _ summary: String) -> MirrorCommandRun {
            MirrorCommandRun(startedAt: startedAt, finishedAt: now(), outcome: outcome, exitStatus: status, output: output, summary: summary)
        }

        var descriptors: [Int32] = [-1, -1]
        guard Self.makePipe(&descriptors) else {
            return ended(.couldNotStart, "the status mirror command could not start: no pipe for its output (\(MirrorDirectory.reason(errno)))")
        }
        let (readEnd, writeEnd) = (descriptors[0], descriptors[1])
        let collector = OutputCollector(limit: Self.outputLimit)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        var environment = ProcessInfo.processInfo.environment
        for name in Self.withheldVariables { environment[name] = nil }
        environment["BELAY_STATUS_MIRROR"] = directory
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: directory, isDirectory: true)
        process.standardInput = FileHandle.nullDevice
        let output = FileHandle(fileDescriptor: writeEnd, closeOnDealloc: false)
        process.standardOutput = output
        process.standardError = output
        let exited = Latch()
        process.terminationHandler = { _ in exited.open() }
        do {
            try process.run()
        } catch {
            close(readEnd)
            close(writeEnd)
            return ended(.couldNotStart, "the status mirror command could not start: \(error.localizedDescription)")
        }
        // Only the child holds the write end now, so the reader sees the end of output when it exits.
        close(writeEnd)
        let drained = Latch()
        DispatchQueue.global(qos: .utility).async {
            collector.drain(readEnd)
            close(readEnd)
            drained.open()
        }

        // Foundation starts the child as the leader of a new process group: its id names the whole group.
        let group = process.processIdentifier
        let timedOut = Atomic<Bool>(false)
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .milliseconds(Self.milliseconds(timeout))) {
            guard !exited.isOpen else { return }
            timedOut.store(true, ordering: .relaxed)
            kill(-group, SIGKILL)
        }
        await withTaskCancellationHandler {
            await exited.wait()
        } onCancel: {
            // Shutting down: the command is not left running behind Belay.
            if !exited.isOpen { kill(-group, SIGKILL) }
        }
        // Output normally ends with the process; a grandchild that left the group may keep the pipe open,
        // so wait a moment for it and no longer.
        await drained.wait(atMost: .seconds(2))

        let text = collector.text
        if timedOut.load(ordering: .relaxed) {
            return ended(.timedOut, output: text, "the status mirror command ran longer than \(Self.milliseconds(timeout) / 1000) s and was killed")
        }
        let status = process.terminationStatus
        if process.terminationReason == .uncaughtSignal {
            return ended(.failed, output: text, "the status mirror command was killed by signal \(status)")
        }
        if status != 0 {
            return ended(.failed, status: status, output: text, "the status mirror command exited with status \(status)")
        }
        return ended(.succeeded, status: 0, output: text, "the status mirror command succeeded")
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(clamping: seconds) &* 1000 &+ Int(attoseconds / 1_000_000_000_000_000)
    }

    /// A pipe whose ends are closed on exec, so no other child inherits them.
    private static func makePipe(_ descriptors: inout [Int32]) -> Bool {
        // Glibc's pipe2 is not visible to Swift; a process spawned between these calls is the only gap.
        guard pipe(&descriptors) == 0 else { return false }
        _ = fcntl(descriptors[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(descriptors[1], F_SETFD, FD_CLOEXEC)
        return true
    }
}

/// Reads a command's output to its end, keeping the first `limit` bytes.
final class OutputCollector: Sendable {
    private let limit: Int
    private let state = Mutex<(kept: [UInt8], dropped: Int)>(([], 0))

    init(limit: Int) { self.limit = limit }

    /// Blocks until the other end is closed.
    func drain(_ descriptor: Int32) {
        var chunk = [UInt8](repeating: 0, count: 8192)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                guard let base = buffer.baseAddress else { return 0 }
                return read(descriptor, base, buffer.count)
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            state.withLock { state in
                let room = max(0, limit - state.kept.count)
                state.kept.append(contentsOf: chunk.prefix(min(room, count)))
                state.dropped += count - min(room, count)
            }
        }
    }

    var text: String {
        state.withLock { state in
            let kept = String(decoding: state.kept, as: UTF8.self)
            return state.dropped == 0 ? kept : kept + "\n… (\(state.dropped) more bytes not kept)"
        }
    }
}

/// A one-way gate: tasks wait until it opens; once open it stays open.
final class Latch: Sendable {
    private let state = Mutex<(isOpen: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    var isOpen: Bool { state.withLock { $0.isOpen } }

    func open() {
        let waiters = state.withLock { state in
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let isOpen = state.withLock { state in
                if !state.isOpen { state.waiters.append(continuation) }
                return state.isOpen
            }
            if isOpen { continuation.resume() }
        }
    }

    /// Waits until open or until `limit` has passed, whichever is first (polling: this is for a moment's
    /// grace, and a waiter that could not be woken would leak).
    func wait(atMost limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while !isOpen && !Task.isCancelled && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
