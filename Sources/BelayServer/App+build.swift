import BelayCore
import Foundation
import Hummingbird
import Logging

/// Everything a running Belay server is made of, built the same way by `belay serve` and by the tests.
public struct BelayApp {
    public let router: Router<AppRequestContext>
    public let statusPage: StatusPagePublisher
    public let configuration: ServerConfiguration

    /// Wires the store, the controllers and the status page together.
    public static func build(
        store: any BelayStore, configuration: ServerConfiguration, clock: any WallClock = SystemClock(), logger: Logger
    ) async throws -> BelayApp {
        let builder = try await StatusPageBuilder.load(configuration: configuration)
        let box = SnapshotBox()
        let publisher = StatusPagePublisher(
            store: store, clock: clock, builder: builder, configuration: configuration, box: box, logger: logger)

        let router = Router(context: AppRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: BodyLimitMiddleware(limit: configuration.maxBodyBytes))
        PublicController(box: box).addRoutes(to: router)

        let api = router.group("api/v1").add(middleware: TokenAuthenticator(store: store))
        MetaController(openAPIDocument: try MetaController.loadDocument()).addRoutes(to: api)
        ComponentsController(store: store, clock: clock).addRoutes(to: api)
        IncidentsController(store: store, clock: clock, baseURL: configuration.baseURL).addRoutes(to: api)
        MaintenanceController(store: store, clock: clock).addRoutes(to: api)
        AdminController(store: store, clock: clock).addRoutes(to: api)

        return BelayApp(router: router, statusPage: publisher, configuration: configuration)
    }

    /// The HTTP application with the status page publisher running beside it.
    public func application(logger: Logger) -> some ApplicationProtocol {
        Application(
            responder: PublicFastPath(box: statusPage.box, next: router.buildResponder()),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Belay"),
            services: [statusPage],
            logger: logger)
    }
}

/// Applies the configured body limit to every request's context before it is read.
struct BodyLimitMiddleware: RouterMiddleware {
    let limit: Int

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        context.maxUploadSize = limit
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError(status: .contentTooLarge, code: "too_large", message: "the request body is \(length) bytes; the limit is \(limit)")
        }
        return try await next(request, context)
    }
}
