import ArgumentParser
import BelayCore
import BelayFormats
import BelayMonitoring
import BelaySQLite
import BelayServer
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus

/// Options every command that opens the data directory shares. Flags win over BELAY_* variables.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Directory holding Belay's data (env BELAY_DATA; default ./belay-data).")
    var data: String?

    @Option(name: .long, help: "SQLite synchronous mode: full (survives power loss) or normal (env BELAY_SYNCHRONOUS; default full).")
    var synchronous: String?

    @Option(name: .long, help: "A PostgreSQL database instead of SQLite in --data, postgres://user:password@host:5432/db (env BELAY_DATABASE_URL).")
    var database: String?

    /// `--database`, else BELAY_DATABASE_URL: PostgreSQL when set, SQLite in the data directory otherwise.
    var databaseURL: String? { database ?? Environment.value("BELAY_DATABASE_URL") }

    var directory: URL { Self.directory(data) }

    /// `--data`, else BELAY_DATA, else ./belay-data: every command that names a data directory reads it so.
    static func directory(_ option: String?) -> URL {
        URL(fileURLWithPath: option ?? Environment.value("BELAY_DATA") ?? "./belay-data").standardizedFileURL
    }

    /// Opens the data directory; one that does not exist is refused unless `create`, so a command run from the
    /// wrong folder fails instead of writing to a fresh database no server reads.
    func open(create: Bool = false) throws -> AppDatabase {
        try Self.open(directory: directory, synchronous: synchronous ?? Environment.value("BELAY_SYNCHRONOUS") ?? "full", create: create)
    }

    /// The store to work on: PostgreSQL with `--database`, else the data directory (see `open(create:)`).
    func openStore(create: Bool = false, logger: Logger) async throws -> OpenedStore {
        if let url = databaseURL { return try await OpenedStore.postgres(url: url, logger: logger) }
        return OpenedStore.sqlite(try open(create: create), directory: directory)
    }

    static func open(directory: URL, synchronous: String, create: Bool) throws -> AppDatabase {
        guard let mode = AppDatabase.Synchronous(rawValue: synchronous.uppercased()) else {
            throw ValidationError("--synchronous must be full, normal or off (got '\(synchronous.lowercased())')")
        }
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory)
        if exists && !isDirectory.boolValue {
            throw CLIError(description: "\(directory.path) is a file, not a data directory; pass the directory with --data (or BELAY_DATA)")
        }
        if !exists && !create {
            throw CLIError(description: """
                the data directory \(directory.path) does not exist; pass the one \
                `belay serve` uses with --data (or BELAY_DATA), or add --create to make a new one
                """)
        }
        do {
            return try AppDatabase.open(directory: directory, synchronous: mode)
        } catch {
            throw CLIError(description: FailureMessage.dataDirectory(error, directory: directory))
        }
    }
}

enum Environment {
    static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the Belay server and public status page.")

    @Option(name: .long, help: "Address to listen on (env BELAY_HOST; default 127.0.0.1).")
    var host: String?

    @Option(name: .long, help: "Port to listen on (env BELAY_PORT; default 8080).")
    var port: Int?

    @OptionGroup var dataOptions: DataOptions

    @Option(name: .long, help: "Name shown on the status page (env BELAY_PAGE_NAME; default 'Belay Status').")
    var pageName: String?

    @Option(name: .long, help: "Logo on the status page: an https address, or a PNG, JPEG or SVG file of at most 512 KB (env BELAY_PAGE_LOGO).")
    var pageLogo: String?

    @Option(name: .long, help: "Accent colour of the status page, '#RRGGBB' or '#RGB' (env BELAY_PAGE_ACCENT).")
    var pageAccent: String?

    @Option(name: .long, help: "Directory the public status page is copied into after every rebuild, for a static server (env BELAY_STATUS_MIRROR).")
    var statusMirror: String?

    @Option(name: .long, help: "Run through /bin/sh -c after each copy that changed a file, e.g. an rsync (env BELAY_STATUS_MIRROR_COMMAND).")
    var statusMirrorCommand: String?

    @Option(name: .long, help: "Kill the mirror command after this long, e.g. 60s (env BELAY_STATUS_MIRROR_TIMEOUT; default 60s).")
    var statusMirrorTimeout: String?

    @Option(name: .long, help: "Public address of the status page, used in feeds and JSON links (env BELAY_PUBLIC_URL).")
    var publicURL: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (env BELAY_LOG_LEVEL; default info).")
    var logLevel: String?

    @Option(name: .long, help: "CIDRs monitors may reach even if denied by default, comma-separated, e.g. 127.0.0.1/32 (env BELAY_EGRESS_ALLOW).")
    var egressAllow: String?

    @Option(name: .long, help: "CIDRs monitors may never reach, comma-separated; beats --egress-allow (env BELAY_EGRESS_DENY).")
    var egressDeny: String?

    @Flag(name: .long, help: "Refuse private address ranges to monitors too (env BELAY_EGRESS_DENY_PRIVATE=1).")
    var egressDenyPrivate = false

    @Option(name: .long, help: "A new alert joins an open incident on the same component active within this long, e.g. 60m (env BELAY_GROUPING_WINDOW; default 60m).")
    var groupingWindow: String?

    @Option(name: .long, help: "An incident Belay opened resolves this long after its signals clear, e.g. 15m (env BELAY_QUIET_PERIOD; default 15m).")
    var quietPeriod: String?

    @Option(name: .long, help: "How long raw monitor results are kept, e.g. 7d (env BELAY_RESULT_RETENTION; default 7d).")
    var resultRetention: String?

    @Option(name: .long, help: "How long the event log keeps events, at least 1d, e.g. 365d (env BELAY_EVENT_RETENTION; default 365d).")
    var eventRetention: String?

    @Option(name: .long, help: "Monitor checks run at once (env BELAY_MONITOR_CONCURRENCY; default 256).")
    var monitorConcurrency: Int?

    @Option(name: .long, help: "Alert events waiting to be stored before deliveries get 503 (env BELAY_INGEST_QUEUE; default 100000).")
    var ingestQueue: Int?

    @Option(name: .long, help: "The team's IANA time zone; changes before 08:00 or after 18:00 there count as out of hours (env BELAY_TIMEZONE; default UTC).")
    var timezone: String?

    @Flag(name: .long, help: "Start with the five seed postmortems replayed into a demo data directory (default ./belay-demo; --data to choose).")
    var demo = false

    @Option(name: .long, help: "Folder of replay files for --demo (default: the five seed replays built into the binary).")
    var demoReplays: String?

    @Option(name: .long, help: "Largest request body in bytes (env BELAY_MAX_BODY; default 1048576).")
    var maxBody: Int?

    @Option(name: .long, help: "Largest alert delivery in bytes (env BELAY_MAX_ALERT_BODY; default 16777216).")
    var maxAlertBody: Int?

    @Option(name: .long, help: "Close a keep-alive connection idle this long, or one still sending its request head, e.g. 30s (env BELAY_IDLE_TIMEOUT; default 30s).")
    var idleTimeout: String?

    @Option(name: .long, help: "A request body must arrive whole within this of its head, e.g. 60s (env BELAY_BODY_TIMEOUT; default 60s).")
    var bodyTimeout: String?

    @Option(name: .long, help: "Open connections one client address may hold (env BELAY_MAX_CONNECTIONS_PER_CLIENT; default 128).")
    var maxConnectionsPerClient: Int?

    @Option(name: .long, help: "CIDRs of proxies whose X-Forwarded-For/Forwarded headers name the client, comma-separated (env BELAY_TRUSTED_PROXY).")
    var trustedProxy: String?

    @Option(name: .long, help: "CIDRs that may read /metrics without a token, comma-separated, e.g. 10.0.5.0/24 (env BELAY_METRICS_ALLOW).")
    var metricsAllow: String?

    @Option(name: .long, help: "HOST:PORT of a second listener for the public pages only (status page, feeds, Statuspage JSON, subscribing), on its own threads (env BELAY_PUBLIC_LISTEN).")
    var publicListen: String?

    @Option(name: .long, help: "The only directory certificate-file monitors may read (env BELAY_CERTIFICATE_DIR; default: none, upload PEMs instead).")
    var certificateDir: String?

    @Option(name: .long, help: "Alerts in one delivery; more get 413 (env BELAY_MAX_ALERTS_PER_DELIVERY; default 1000).")
    var maxAlertsPerDelivery: Int?

    @Option(name: .long, help: "SMTP relay for email, smtp://host[:587] (STARTTLS) or smtps://host[:465] (env BELAY_SMTP_URL; password in BELAY_SMTP_PASSWORD).")
    var smtpURL: String?

    @Option(name: .long, help: "starttls, tls or none (env BELAY_SMTP_SECURITY; default from --smtp-url).")
    var smtpSecurity: String?

    @Option(name: .long, help: "SMTP user name for AUTH PLAIN/LOGIN (env BELAY_SMTP_USER; the password only from BELAY_SMTP_PASSWORD).")
    var smtpUser: String?

    @Option(name: .long, help: "The From of every email, e.g. 'Status <status@example.com>' (env BELAY_SMTP_FROM).")
    var smtpFrom: String?

    @Option(name: .long, help: "A PEM file of CA certificates the relay's certificate may chain to (env BELAY_SMTP_CA).")
    var smtpCA: String?

    @Option(name: .long, help: "CIDRs the SMTP relay may be on although the egress policy refuses them (env BELAY_SMTP_ALLOW).")
    var smtpAllow: String?

    @Option(name: .long, help: "A flapping component tells subscribers at most once in this time, e.g. 30m (env BELAY_SUBSCRIBER_DAMPING; default 30m).")
    var subscriberDamping: String?

    @Flag(name: .long, help: "Print the effective configuration as JSON (secrets redacted) and exit.")
    var printConfig = false

    /// The values given as flags, by setting name, for `ConfigurationLoader`.
    var givenFlags: [String: String] {
        var flags: [String: String] = [:]
        let strings: [(String, String?)] = [
            ("host", host), ("port", port.map(String.init)), ("data", dataOptions.data), ("synchronous", dataOptions.synchronous), ("database", dataOptions.database),
            ("page-name", pageName), ("page-logo", pageLogo), ("page-accent", pageAccent), ("public-url", publicURL), ("log-level", logLevel), ("egress-allow", egressAllow),
            ("egress-deny", egressDeny), ("grouping-window", groupingWindow), ("quiet-period", quietPeriod),
            ("result-retention", resultRetention), ("event-retention", eventRetention), ("monitor-concurrency", monitorConcurrency.map(String.init)),
            ("ingest-queue", ingestQueue.map(String.init)), ("timezone", timezone), ("max-body", maxBody.map(String.init)),
            ("max-alert-body", maxAlertBody.map(String.init)), ("idle-timeout", idleTimeout), ("body-timeout", bodyTimeout),
            ("max-connections-per-client", maxConnectionsPerClient.map(String.init)), ("trusted-proxy", trustedProxy), ("metrics-allow", metricsAllow),
            ("public-listen", publicListen),
            ("certificate-dir", certificateDir), ("max-alerts-per-delivery", maxAlertsPerDelivery.map(String.init)),
            ("smtp-url", smtpURL), ("smtp-security", smtpSecurity), ("smtp-user", smtpUser), ("smtp-from", smtpFrom), ("smtp-ca", smtpCA),
            ("smtp-allow", smtpAllow), ("subscriber-damping", subscriberDamping),
            ("status-mirror", statusMirror), ("status-mirror-command", statusMirrorCommand), ("status-mirror-timeout", statusMirrorTimeout),
        ]
        for case let (name, value?) in strings { flags[name] = value }
        if egressDenyPrivate { flags["egress-deny-private"] = "1" }
        if demo && dataOptions.data == nil { flags["data"] = "./belay-demo" }
        return flags
    }

    func run() async throws {
        let configuration: ServerConfiguration
        do {
            configuration = try ConfigurationLoader.load(flags: givenFlags, environment: ProcessInfo.processInfo.environment)
        } catch let error as ConfigurationLoader.Invalid {
            throw ValidationError(error.description)
        }
        if printConfig {
            print(try ConfigurationDocument(configuration).json())
            return
        }
        let level = Logger.Level(rawValue: configuration.log.level) ?? .info
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        let logger = Logger(label: "belay")
        FileLimit.raiseToHardLimit(logger: logger)

        let opened: OpenedStore
        if let url = configuration.data.databaseURL {
            opened = try await OpenedStore.postgres(url: url, logger: logger)
            logger.info("opened database", metadata: ["database": "\(opened.location)"])
        } else {
            // `serve` makes its data directory on the first run, so `swift run belay serve` works on a fresh clone.
            let directory = URL(fileURLWithPath: configuration.data.directory).standardizedFileURL
            opened = OpenedStore.sqlite(
                try DataOptions.open(directory: directory, synchronous: configuration.data.synchronous, create: true), directory: directory)
            logger.info("opened database", metadata: ["path": "\(directory.path)", "synchronous": "\(configuration.data.synchronous)"])
        }
        defer { opened.close() }
        let database = opened.store
        if demo { try await Self.loadDemo(into: database, replays: demoReplays, logger: logger) }
        let setupCode = try await BelayApp.firstRunSetupCode(store: database, now: Date())
        // Once per process: libraries that emit swift-metrics land in the registry `/metrics` prints too.
        let metrics = BelayMetrics()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics.registry))
        let app = try await BelayApp.build(
            store: database, storeServices: opened.services, configuration: configuration, metrics: metrics, logger: logger)
        let publicURL = configuration.http.publicURL
        let host = configuration.http.host
        let application = app.application(logger: logger, onListening: { port in
            // Only once the listener is bound: a port in use must not log that Belay serves.
            logger.info("serving", metadata: ["url": "http://\(host):\(port)"])
            guard let setupCode else { return }
            let base = publicURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } ?? "http://\(host):\(port)"
            // Written unbuffered so it reaches a redirected stdout at once.
            FileHandle.standardOutput.write(Data(
                """

                ==============================================================
                 Belay has no users yet. Create the first admin here (the link
                 works once, for 24 hours; restart Belay for a new one):

                   \(base)/app/setup?code=\(setupCode)

                ==============================================================

                """.utf8))
        }, onPublicListening: { [publicListen = configuration.http.publicListen] port in
            logger.info("serving public pages", metadata: ["url": "http://\(ListenAddress(host: publicListen?.host ?? host, port: port))"])
        })
        do {
            try await application.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        } catch let error as IOError {
            throw CLIError(description: Self.listenFailure(error, host: host, port: configuration.http.port))
        } catch let error as PublicListener.Unavailable {
            let reason = switch error.error.errnoCode {
            case EADDRINUSE: "the port is already in use"
            case EACCES: "no permission (ports below 1024 need privileges)"
            case EADDRNOTAVAIL: "\(error.address.host) is not an address of this machine"
            default: FailureMessage.reason(errno: error.error.errnoCode)
            }
            throw CLIError(description: "cannot listen on \(error.address) for --public-listen (or BELAY_PUBLIC_LISTEN): \(reason)")
        }
        logger.info("stopped")
    }

    /// One sentence for a listener that could not be bound, instead of NIO's `bind(descriptor:ptr:bytes:)` text.
    static func listenFailure(_ error: IOError, host: String, port: Int) -> String {
        switch error.errnoCode {
        case EADDRINUSE: "port \(port) is already in use on \(host); stop what listens there or choose another with --port (or BELAY_PORT)"
        case EACCES: "no permission to listen on port \(port); ports below 1024 need privileges, choose another with --port (or BELAY_PORT)"
        case EADDRNOTAVAIL: "\(host) is not an address of this machine; choose another with --host (or BELAY_HOST)"
        default: "cannot listen on \(host):\(port): " + FailureMessage.reason(errno: error.errnoCode)
        }
    }

    /// The seed replays, from the binary itself or from `folder`, in name order.
    static func demoReplays(folder: String?) throws -> [(name: String, data: Data)] {
        guard let folder else {
            return try DemoReplays.encoded.map { entry in
                guard let data = Data(base64Encoded: entry.base64) else { throw ValidationError("--demo: the embedded replay \(entry.name) is damaged") }
                return (entry.name, data)
            }
        }
        let url = URL(fileURLWithPath: folder)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        guard !names.isEmpty else { throw ValidationError("--demo: no replay files in \(url.path)") }
        return try names.map { name in
            do {
                return (name, try Data(contentsOf: url.appendingPathComponent(name)))
            } catch {
                throw ValidationError("--demo: cannot read \(name): \(error.localizedDescription)")
            }
        }
    }

    /// Replays every seed into an empty demo database; a demo directory already holding incidents is
    /// served as it is.
    static func loadDemo(into database: any BelayStore, replays folder: String?, logger: Logger) async throws {
        guard try await database.incidents(IncidentQuery(limit: 1)).isEmpty else {
            logger.info("demo data already loaded")
            return
        }
        let files = try demoReplays(folder: folder)
        // Each story is moved forward in time, keeping its own intervals, so the five end one after another
        // over the last weeks and appear on the status page's 90-day history.
        for (index, file) in files.enumerated() {
            do {
                var replay = try ReplayFile.load(file.data)
                if let last = replay.lastMoment {
                    let endsAt = Date().addingTimeInterval(-Double(files.count - index) * 6 * 86400)
                    replay = replay.shifted(by: endsAt.timeIntervalSince(last))
                }
                _ = try await ReplayRunner(store: database, reuseExistingMap: true).run(replay)
                logger.info("loaded demo replay", metadata: ["file": "\(file.name)"])
            } catch let error as DomainError {
                throw ValidationError("--demo: \(file.name): \(error.message)")
            }
        }
    }

}

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Administer a Belay data directory directly (no server needed).", subcommands: [CreateToken.self])

    struct CreateToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-token", abstract: "Create an API token; prints it alone on the last line.",
            discussion: """
                The token works with the server that uses the same data directory: run this where `belay serve` runs, or pass its --data. \
                A data directory that does not exist is refused unless --create is given.
                """)

        @Option(name: .long, help: "admin, responder or viewer.")
        var role: AccessRole

        @Option(name: .long, help: "A name to recognise the token by.")
        var name: String?

        @Flag(name: .long, help: "Make the data directory if it does not exist yet (a new, empty Belay).")
        var create = false

        @Flag(name: .long, help: "Print one JSON document: id, name, role, createdAt and token.")
        var json = false

        @OptionGroup var dataOptions: DataOptions

        /// The shape of `POST /api/v1/tokens`'s answer.
        struct Output: Encodable {
            var id: String
            var name: String
            var role: AccessRole
            var createdAt: Date
            var token: String
        }

        func run() async throws {
            var logger = Logger(label: "belay.admin")
            logger.logLevel = .warning
            let opened = try await dataOptions.openStore(create: create, logger: logger)
            defer { opened.close() }
            let name = name ?? "\(role.rawValue)-\(Int(Date().timeIntervalSince1970))"
            let (token, secret) = try await TokenSecrets.issue(name: name, role: role, store: opened.store, now: Date())
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                encoder.dateEncodingStrategy = .iso8601
                let output = Output(id: String(token.id), name: token.name, role: token.role, createdAt: token.createdAt, token: secret)
                print(String(decoding: try encoder.encode(output), as: UTF8.self))
                return
            }
            print("Created \(token.role.rawValue) token '\(token.name)' (id \(token.id)) in \(opened.location). It is shown only once:")
            print(secret)
        }
    }
}

extension AccessRole: ExpressibleByArgument {}
extension Severity: ExpressibleByArgument {}
extension Impact: ExpressibleByArgument {}
extension IncidentStatus: ExpressibleByArgument {}
