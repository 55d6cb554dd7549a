import Foundation
import Hummingbird

/// `GET /api/v1/status-mirror` (admin): whether the copy of the status page on disk is current, and how
/// the mirror command last ran, with its output (which may name hosts or buckets, hence admins only).
struct StatusMirrorController {
    let health: StatusMirrorHealth?

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("status-mirror", use: show)
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> StatusMirrorDTO {
        _ = try context.require(.admin)
        guard let state = health?.current else { return StatusMirrorDTO(enabled: false, status: "off") }
        return StatusMirrorDTO(state)
    }
}

struct StatusMirrorDTO: ResponseEncodable {
    struct Problem: Encodable {
        var at: Date
        var message: String
    }

    struct Run: Encodable {
        var startedAt: Date
        var finishedAt: Date
        var outcome: MirrorCommandRun.Outcome
        var exitStatus: Int32?
        var summary: String
        var output: String

        init(_ run: MirrorCommandRun) {
            (startedAt, finishedAt, outcome, exitStatus, summary, output) = (run.startedAt, run.finishedAt, run.outcome, run.exitStatus, run.summary, run.output)
        }
    }

    struct Command: Encodable {
        var running: Bool
        var lastRun: Run?
        var lastFailure: Run?
    }

    var enabled: Bool
    /// `ok`, `failing` (a write or the command failed, and nothing has succeeded since) or `off`.
    var status: String
    var directory: String?
    var files: Int?
    var lastWriteAt: Date?
    var lastChangeAt: Date?
    var writeProblem: Problem?
    var command: Command?

    init(enabled: Bool, status: String) {
        self.enabled = enabled
        self.status = status
    }

    init(_ state: StatusMirrorHealth.State) {
        enabled = true
        status = state.isFailing ? "failing" : "ok"
        directory = state.directory
        files = state.files
        lastWriteAt = state.lastWriteAt
        lastChangeAt = state.lastChangeAt
        writeProblem = state.writeProblem.map { Problem(at: $0.at, message: $0.message) }
        if state.commandConfigured {
            command = Command(running: state.commandRunning, lastRun: state.lastCommand.map(Run.init), lastFailure: state.lastCommandFailure.map(Run.init))
        }
    }
}
