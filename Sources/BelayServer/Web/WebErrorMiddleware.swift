import Hummingbird

/// Renders web errors as pages and turns redirects into 303s, for everything under /app.
struct WebErrorMiddleware: RouterMiddleware {
    let renderer: WebRenderer

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let redirect as WebRedirect {
            var response = Response(status: .seeOther, headers: [.location: redirect.location, .cacheControl: "no-store"])
            for cookie in redirect.cookies { response.setCookie(cookie) }
            return response
        } catch {
            guard let apiError = APIError.from(error) else {
                context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))", "path": "\(LogRedaction.path(request.uri.path))"])
                let page = ErrorPage(chrome: AppChrome(context, title: "Something went wrong"), message: "An internal error occurred; it has been logged.")
                return try renderer.page(page, status: .internalServerError)
            }
            return try renderer.page(ErrorPage(chrome: AppChrome(context, title: apiError.status.reasonPhrase), message: apiError.message), status: apiError.status)
        }
    }
}
