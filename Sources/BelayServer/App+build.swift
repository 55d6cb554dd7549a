import BelayEgress
import BelayCore
import BelayMonitoring
import BelayNotify
import Foundation
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOPosix
import ServiceLifecycle
import Logging

/// Everything a running Belay server is made of, built the same way by `belay serve` and by the tests.
public struct BelayApp {
    public let router: Router<AppRequestContext>
    /// The public pages alone, for `--public-listen`'s listener; nil without one.
    let publicRouter: Router<AppRequestContext>?
    public let statusPage: StatusPagePublisher
    /// The copy of the public snapshot on disk, when `--status-mirror` asks for one.
    public let statusMirror: StatusMirror?
    public let scheduler: MonitorScheduler
    let boundPort: BoundPort
    public let timedJobs: any Service
    public let ingest: IngestQueue
    public let dispatcher: Dispatcher
    /// Services the store needs running while the app does (a database client's connection pool); they
    /// start first and stop last. SQLite has none.
    public let storeServices: [any Service]
    /// This replica among those on the same database: which monitors it checks.
    let membership: ReplicaMembership
    public let configuration: ServerConfiguration
    /// Belay's own metrics, printed by `GET /metrics`.
    public let metrics: BelayMetrics

    /// Wires the store, the controllers and the status page together.
    /// `checker` replaces the real monitor checkers (tests); by default monitors use the network under the
    /// configured egress policy.
    /// `send` replaces the network for notifications (tests).
    public static func build(
        store: any BelayStore, storeServices: [any Service] = [], configuration: ServerConfiguration, clock: any WallClock = SystemClock(),
        checker: (any Checker)? = nil, send: Dispatcher.Send? = nil, metrics: BelayMetrics = BelayMetrics(), logger: Logger
    ) async throws -> BelayApp {
        let builder = try await StatusPageBuilder.load(configuration: configuration)
        let box = SnapshotBox()
        let mirror = StatusMirror.make(configuration: configuration, clock: clock, logger: logger)
        let publisher = StatusPagePublisher(
            store: store, clock: clock, builder: builder, configuration: configuration, box: box, mirror: mirror, metrics: metrics, logger: logger)
        // The first snapshot exists before the server listens, so nobody is ever told "try again".
        try await publisher.rebuild()

        let certificateFiles = CertificateFileAccess(directory: configuration.detect.certificateDirectory)
        let egress = EgressPolicy(allow: configuration.egress.allow, deny: configuration.egress.deny, denyPrivate: configuration.egress.denyPrivate)
        let membership = ReplicaMembership(store: store, clock: clock, logger: logger)
        let scheduler = MonitorScheduler(
            store: store, checkers: checker ?? Checkers(group: MultiThreadedEventLoopGroup.singleton, egress: egress, certificateFiles: certificateFiles), clock: clock,
            settings: .init(
                concurrency: configuration.detect.monitorConcurrency, resultRetention: configuration.retention.results,
                policy: configuration.detect.signalPolicy),
            logger: logger, owns: { membership.owns($0) })
        membership.observe { _ in scheduler.monitorsChanged() }
        let policy = configuration.detect.signalPolicy
        let ingest = IngestQueue(maxPendingEvents: configuration.detect.ingestQueueEvents) { batches in
            try await metrics.timeCommit { try await store.ingest(batches, policy: policy, now: clock.now) }
        }

        let dispatcher = Dispatcher(
            store: store, clock: clock, settings: try NotifySettings.from(configuration), group: MultiThreadedEventLoopGroup.singleton,
            logger: logger, send: send)
        let subscriptions = Subscriptions(store: store, clock: clock, dispatcher: dispatcher)

        let boundPort = BoundPort()
        let subscribeThrottle = SubscribeThrottle()
        // The public pages, on the main listener and on `--public-listen`'s (one throttle for both).
        func publicRouter() -> Router<AppRequestContext> {
            let router = Router(context: AppRequestContext.self)
            router.add(middleware: ClientAddressMiddleware(trustedProxies: configuration.http.trustedProxies))
            router.add(middleware: ErrorMiddleware())
            router.add(middleware: BodyLimitMiddleware(limit: configuration.http.maxBodyBytes, alertLimit: configuration.http.maxAlertBodyBytes))
            PublicController(box: box).addRoutes(to: router)
            SubscriptionController(
                store: store, clock: clock, builder: builder, subscriptions: subscriptions, throttle: subscribeThrottle, configuration: configuration
            ).addRoutes(to: router)
            return router
        }
        let router = publicRouter()
        IngestController(
            queue: ingest, store: store, bodyLimit: configuration.http.maxAlertBodyBytes, maxAlerts: configuration.detect.maxAlertsPerDelivery,
            metrics: metrics
        ).addRoutes(to: router)
        MetricsController(metrics: metrics, store: store, queue: ingest, scheduler: scheduler, allowed: configuration.http.metricsAllow)
            .addRoutes(to: router)
        let targetCheck = MonitorTargetCheck(egress: egress)
        let monitors = MonitorsController(
            store: store, clock: clock, scheduler: scheduler, baseURL: configuration.baseURL, certificateFiles: certificateFiles, targetCheck: targetCheck)
        monitors.addHeartbeatRoutes(to: router)

        let api = router.group("api/v1").add(middleware: TokenAuthenticator(store: store))
        MetaController(openAPIDocument: try MetaController.loadDocument()).addRoutes(to: api)
        ComponentsController(store: store, clock: clock).addRoutes(to: api)
        IncidentsController(store: store, clock: clock, baseURL: configuration.baseURL).addRoutes(to: api)
        MaintenanceController(store: store, clock: clock).addRoutes(to: api)
        AdminController(store: store, clock: clock).addRoutes(to: api)
        EventsController(store: store).addRoutes(to: api)
        NotificationsController(store: store, clock: clock, dispatcher: dispatcher, configuration: configuration).addRoutes(to: api)
        SubscribersController(store: store, clock: clock, subscriptions: subscriptions, configuration: configuration).addRoutes(to: api)
        monitors.addRoutes(to: api)
        IntegrationsController(store: store, clock: clock, baseURL: configuration.baseURL).addRoutes(to: api)
        let changes = ChangesController(store: store, clock: clock, settings: SuspectRanking.Settings(timeZone: configuration.team.timeZone))
        changes.addRoutes(to: api)
        changes.addWebhookRoutes(to: router)
        StatusMirrorController(health: mirror?.health).addRoutes(to: api)

        let renderer = try await WebRenderer.load(assets: AppAssets(cssHref: builder.stylesheetHref, jsHref: builder.scriptHref))
        let web = router.group("app")
            .add(middleware: WebErrorMiddleware(renderer: renderer))
            .add(middleware: WebAuthenticator(store: store, clock: clock, configuration: configuration))
        let throttle = SignInThrottle(store: store, limit: configuration.sessions.signInAttempts, window: configuration.sessions.signInWindow)
        AccountController(
            store: store, clock: clock, configuration: configuration, renderer: renderer, throttle: throttle,
            hasher: PasswordHasher(cost: configuration.sessions.passwordCost)).addRoutes(to: web)
        let linkOrigin = LinkOrigin(
            publicURL: configuration.http.publicURL, baseURL: configuration.baseURL, listenHost: configuration.http.host, boundPort: boundPort)
        AppController(
            store: store, clock: clock, configuration: configuration, renderer: renderer, linkOrigin: linkOrigin, statusMirror: mirror?.health
        ).addRoutes(to: web)
        WarRoomController(store: store, clock: clock, renderer: renderer, configuration: configuration, timeZone: configuration.team.timeZone).addRoutes(to: web)
        MapWebController(store: store, clock: clock, renderer: renderer).addRoutes(to: web)
        DetectWebController(store: store, clock: clock, configuration: configuration, renderer: renderer, scheduler: scheduler, targetCheck: targetCheck).addRoutes(to: web)
        NotificationsWebController(store: store, clock: clock, dispatcher: dispatcher, configuration: configuration, renderer: renderer).addRoutes(to: web)

        return BelayApp(
            router: router, publicRouter: configuration.http.publicListen == nil ? nil : publicRouter(), statusPage: publisher, statusMirror: mirror, scheduler: scheduler, boundPort: boundPort,
            timedJobs: TimedJobs(
                store: store, clock: clock, policy: configuration.detect.signalPolicy, eventRetention: configuration.retention.events,
                replica: membership.id, logger: logger),
            ingest: ingest, dispatcher: dispatcher, storeServices: storeServices, membership: membership, configuration: configuration,
            metrics: metrics)
    }

    /// The HTTP application with the status page publisher running beside it. `onListening` gets the
    /// port actually bound (useful with port 0), and `onPublicListening` the public listener's.
    public func application(
        logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in },
        onPublicListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let publicListener = publicApplication(logger: logger, onListening: onPublicListening)
        return Application(
            responder: MeasuredResponder(metrics: metrics, next: router.buildResponder()),
            server: server(),
            configuration: .init(address: .hostname(configuration.http.host, port: configuration.http.port), serverName: "Belay"),
            // Services stop in reverse order after the server has finished its requests; the ingest queue
            // is first here, so it is the last to stop and commits every delivery a request accepted.
            // The membership starts before the scheduler and leaves the replica set after it has stopped.
            services: storeServices + [membership, ingest, dispatcher, statusPage] + (statusMirror.map { [$0] } ?? [])
                + (publicListener.map { [$0] } ?? []) + [scheduler, timedJobs],
            onServerRunning: { [boundPort] channel in
                let port = channel.localAddress?.port ?? 0
                boundPort.set(port)
                await onListening(port)
            },
            logger: logger)
    }

    /// `--public-listen`'s listener: the public routes only, on event loops of their own.
    func publicApplication(logger: Logger, onListening: @escaping @Sendable (Int) async -> Void) -> (any Service)? {
        guard let publicRouter, let address = configuration.http.publicListen else { return nil }
        let application = Application(
            responder: MeasuredResponder(metrics: metrics, next: publicRouter.buildResponder()),
            server: server(),
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "Belay"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            eventLoopGroupProvider: .shared(PublicListener.eventLoops),
            logger: logger)
        return PublicListener(address: address, application: application)
    }

    /// HTTP/1 with the per-client connection limit, the body deadline, the idle timeout, and the
    /// snapshot's pages answered in the pipeline.
    private func server() -> HTTPServerBuilder {
        let counter = ConnectionCounter(maxPerClient: configuration.http.maxConnectionsPerClient, exempt: configuration.http.trustedProxies)
        let bodyTimeout = TimeAmount(configuration.http.bodyTimeout)
        let channel = HTTP1Channel.Configuration(
            additionalChannelHandlers: [ConnectionGuard(counter: counter, bodyTimeout: bodyTimeout)], idleTimeout: TimeAmount(configuration.http.idleTimeout))
        return .belayHTTP1(box: statusPage.box, configuration: channel) { [metrics] status in metrics.requestAnswered(status: status) }
    }
}

/// `--public-listen`'s application, run as one of the main application's services, so both listeners
/// start and stop together.
public struct PublicListener: Service {
    let address: ListenAddress
    let application: any Service

    /// The public listener's threads, one per core, made once per process: apart from the main listener's,
    /// so a stampede on the status page queues behind itself and not in front of the API and ingestion.
    static let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)

    /// A public listener that could not be bound, told apart from the main one.
    public struct Unavailable: Error, CustomStringConvertible {
        public let address: ListenAddress
        public let error: IOError
        public var description: String { "cannot listen on \(address) (--public-listen): " + String(describing: error) }
    }

    public func run() async throws {
        do {
            try await application.run()
        } catch let error as IOError {
            throw Unavailable(address: address, error: error)
        }
    }
}

extension BelayApp {
    /// With nobody able to sign in yet, makes a one-time setup code (valid for a day) that creates the first
    /// admin at `/app/setup?code=...`. Nil once someone has an account.
    public static func firstRunSetupCode(store: any AccountStore, now: Date) async throws -> String? {
        guard try await store.userCount() == 0 else { return nil }
        try await store.deleteInvitations(userID: nil)
        let code = WebSecrets.random()
        _ = try await store.createInvitation(Invitation(tokenHash: TokenSecrets.hash(code), userID: nil, createdAt: now, expiresAt: now.addingTimeInterval(86400)))
        return code
    }
}

/// Applies the configured body limit to every request's context before it is read. Alert deliveries
/// have their own, larger limit.
struct BodyLimitMiddleware: RouterMiddleware {
    let normalLimit: Int
    let alertLimit: Int

    init(limit: Int, alertLimit: Int) {
        normalLimit = limit
        self.alertLimit = alertLimit
    }

    static func isAlertDelivery(_ path: String) -> Bool {
        path == "/v2/enqueue" || (path.hasPrefix("/api/v1/integrations/") && (path.hasSuffix("/alertmanager") || path.hasSuffix("/events")))
    }

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        let limit = Self.isAlertDelivery(request.uri.path) ? alertLimit : normalLimit
        var context = context
        context.maxUploadSize = limit
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError(status: .contentTooLarge, code: "too_large", message: "the request body is \(length) bytes; the limit is \(limit)")
        }
        return try await next(request, context)
    }
}
