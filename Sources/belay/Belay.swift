import ArgumentParser

@main
struct Belay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "belay",
        abstract: "Belay: self-hosted incident response and status page.",
        subcommands: [Serve.self, Admin.self, ComponentCommand.self, IncidentCommand.self, MaintenanceCommand.self])
}
