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
                return try renderer.page("app-error", WebPages.base(context, title: "Something went wrong").merging(["message": "An internal error occurred; it has been logged."]) { $1 }, status: .internalServerError)
            }
            var page = WebPages.base(context, title: apiError.status.reasonPhrase)
            page["message"] = apiError.message
            page["status"] = apiError.status.code
            return try renderer.page("app-error", page, status: apiError.status)
        }
    }
}
