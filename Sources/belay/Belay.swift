import ArgumentParser
import Dispatch
import Foundation
import NIOCore
import NIOPosix

/// Entry point. Before any async work starts, NIO's event loops become Swift Concurrency's global
/// executor, so request handlers run on the thread that owns the connection instead of hopping between
/// two thread pools on every request (measured in bench/status-page).
@main
enum Main {
    static func main() {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        Task {
            await Belay.main()
            exit(0)
        }
        dispatchMain()
    }
}

struct Belay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "belay",
        abstract: "Belay: self-hosted incident response and status page.",
        version: BelayVersion.current,
        subcommands: [
            TokenCommand.self, IntegrationCommand.self,
            Serve.self, Admin.self, ComponentCommand.self, IncidentCommand.self, MaintenanceCommand.self, MonitorCommand.self, ChangeCommand.self,
            ChannelCommand.self, DeliveryCommand.self, SubscriberCommand.self, ReplayCommand.self, BackupCommand.self, RestoreCommand.self, MigrateDataCommand.self,
        ])
}
