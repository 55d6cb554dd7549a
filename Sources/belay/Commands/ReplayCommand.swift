import ArgumentParser
import BelayCore
import BelaySQLite
import Foundation

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Feed a replay file (a postmortem as data, see docs/replay.md) into a fresh data directory and report each incident.")

    @Argument(help: "The replay file (JSON).") var file: String
    @Option(help: "A new or empty data directory to replay into (default: a temporary one, removed afterwards).") var data: String?
    @Flag(help: "Print the result as JSON.") var json = false

    func run() async throws {
        guard let bytes = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
        let replay: ReplayFile
        do { replay = try ReplayFile.load(bytes) } catch let error as DomainError { throw ValidationError("\(file): \(error.message)") }
        let directory: URL
        var temporary: URL?
        if let data {
            directory = URL(fileURLWithPath: data)
            let existing = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            guard existing.isEmpty else { throw ValidationError("--data \(data) is not empty; a replay needs a fresh data directory") }
        } else {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("belay-replay-\(UUID().uuidString)")
            temporary = directory
        }
        defer { if let temporary { try? FileManager.default.removeItem(at: temporary) } }
        let database = try AppDatabase.open(directory: directory)
        let result: ReplayResult
        do {
            result = try await ReplayRunner(store: database).run(replay)
        } catch let error as DomainError {
            throw CLIError(description: "\(file): \(error.message)")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            FileHandle.standardOutput.write(try encoder.encode(result))
            print()
            return
        }
        print("Replayed \(replay.name)")
        for incident in result.incidents {
            print("\nIncident \(incident.id): \(incident.title) [\(incident.status.rawValue)]")
            let d = incident.durations
            func show(_ label: String, _ value: TimeInterval?) { if let value { print("  \(label): \(Durations.describe(value))") } }
            show("time to detect", d.timeToDetect)
            show("time to acknowledge", d.timeToAcknowledge)
            show("time to mitigate", d.timeToMitigate)
            show("time to resolve", d.timeToResolve)
            for (rank, suspect) in incident.suspects.enumerated() {
                print("  \(rank + 1). [\(suspect.score)] \(suspect.summary)\n     " + suspect.reasons.joined(separator: "; "))
            }
            if !incident.possiblyAffected.isEmpty { print("  possibly affected: \(incident.possiblyAffected.joined(separator: ", "))") }
        }
        if let data { print("\nData kept in \(data); run 'belay serve --data \(data)' to browse it.") }
    }
}
