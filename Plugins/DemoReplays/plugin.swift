import Foundation
import PackagePlugin

/// Embeds replays/*.json into the target as generated Swift, rebuilt whenever a replay changes.
@main
struct DemoReplays: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let folder = context.package.directoryURL.appending(path: "replays")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".json") }.sorted().map { folder.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "DemoReplays.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) demo replays", executable: try context.tool(named: "embed-replays").url,
                arguments: [output.path] + files.map(\.path), inputFiles: files, outputFiles: [output])
        ]
    }
}
