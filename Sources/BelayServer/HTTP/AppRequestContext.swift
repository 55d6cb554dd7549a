import BelayCore
import BelayFormats
import HTTPTypes
import Hummingbird

/// Per-request state: the authenticated token, once the auth middleware has found one.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var token: APIToken?
    /// The signed-in person and their browser session, on web app routes.
    public var user: User?
    public var session: WebSession?
    public var maxUploadSize: Int

    /// The peer's IP address, for per-client limits.
    public var clientAddress: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        maxUploadSize = 1 << 20
        clientAddress = source.channel.remoteAddress?.ipAddress
    }

    public var requestDecoder: BelayJSON.Decoder { BelayJSON.Decoder() }
    public var responseEncoder: BelayJSON.Encoder { BelayJSON.Encoder() }

    /// The token's role must allow `role`; otherwise 401 (no token) or 403 (not enough).
    func require(_ role: AccessRole) throws -> APIToken {
        guard let token else { throw APIError.unauthorized("a bearer token is required") }
        guard token.role.allows(role) else {
            throw APIError(status: .forbidden, code: "forbidden", message: "this needs the \(role.rawValue) role; the token has \(token.role.rawValue)")
        }
        return token
    }

    /// The canonical numeric id in the path parameter `name`; anything else is a 404 for `what`.
    func resourceID(_ what: String, parameter name: String = "id") throws -> Int64 {
        let raw = try parameters.require(name)
        guard let id = Validate.id(raw) else { throw DomainError.notFound(what: what, id: raw) }
        return id
    }

    /// The name recorded as the author of changes made with this request.
    var author: String { token.map { Actor.token(id: $0.id, name: $0.name).displayName } ?? "anonymous" }
}

/// Sets `clientAddress` for the rest of the request: the peer, or with trusted proxies the client they
/// name (`ForwardedClient`). Every per-address limit, throttle and log line reads it from there.
struct ClientAddressMiddleware: RouterMiddleware {
    let trustedProxies: [CIDR]

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        guard !trustedProxies.isEmpty else { return try await next(request, context) }
        var context = context
        context.clientAddress = ForwardedClient.address(
            peer: context.clientAddress, forwardedFor: request.headers[values: .xForwardedFor],
            forwarded: request.headers[values: .forwarded], trusted: trustedProxies)
        return try await next(request, context)
    }
}
