import BelayCore
import BelayFormats
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An error the API reports to its caller as `{"error":{"code":..,"message":..}}`.
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var headers: HTTPFields = [:]

    public init(status: HTTPResponse.Status, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    static func badRequest(_ message: String) -> APIError { APIError(status: .badRequest, code: "bad_request", message: message) }
    static func unauthorized(_ message: String) -> APIError {
        var error = APIError(status: .unauthorized, code: "unauthorized", message: message)
        error.headers[.wwwAuthenticate] = "Bearer realm=\"belay\""
        return error
    }
    static func notFound(_ message: String) -> APIError { APIError(status: .notFound, code: "not_found", message: message) }

    /// The one place domain and framework errors become HTTP statuses.
    static func from(_ error: any Error) -> APIError? {
        switch error {
        case let error as APIError:
            return error
        case let error as DomainError:
            switch error {
            case .invalid: return APIError(status: .unprocessableContent, code: "invalid", message: error.message)
            case .notFound: return APIError(status: .notFound, code: "not_found", message: error.message)
            case .conflict(let code, _): return APIError(status: .conflict, code: code, message: error.message)
            }
        case let error as HTTPError:
            switch error.status {
            case .contentTooLarge:
                return APIError(status: .contentTooLarge, code: "too_large", message: "the request body is larger than the limit")
            case .notFound:
                return APIError(status: .notFound, code: "not_found", message: "no such route")
            case .methodNotAllowed:
                return APIError(status: .methodNotAllowed, code: "method_not_allowed", message: "this route does not take that method")
            default:
                return APIError(status: error.status, code: "bad_request", message: error.body ?? error.status.reasonPhrase)
            }
        case let error as StorageUnavailable:
            var answer = APIError(status: .serviceUnavailable, code: "storage_unavailable", message: "Belay cannot store anything right now: \(error.reason). Nothing was saved; try again shortly.")
            answer.headers[.retryAfter] = "5"
            return answer
        case let error as MalformedInput:
            return .badRequest(error.message)
        case let error as TooManyAlerts:
            return APIError(status: .contentTooLarge, code: "too_many_alerts", message: error.description)
        case is NIOTooManyBytesError:
            return APIError(status: .contentTooLarge, code: "too_large", message: "the request body is larger than the limit")
        default:
            return nil
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var buffer = ByteBuffer()
        try buffer.writeBytes(BelayJSON.makeEncoder().encode(ErrorBody(error: .init(code: code, message: message))))
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: buffer))
    }
}

/// Turns every error into a JSON error response; anything unexpected becomes a logged, generic 500.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            if let apiError = APIError.from(error) {
                return try apiError.response(from: request, context: context)
            }
            context.logger.error(
                "unhandled error",
                metadata: ["error": "\(String(reflecting: error))", "path": "\(LogRedaction.path(request.uri.path))", "method": "\(request.method)"])
            return try APIError(status: .internalServerError, code: "internal", message: "an internal error occurred; it has been logged")
                .response(from: request, context: context)
        }
    }
}

/// The JSON body of every error response.
struct ErrorBody: Codable {
    struct Inner: Codable {
        var code: String
        var message: String
    }
    var error: Inner
}
