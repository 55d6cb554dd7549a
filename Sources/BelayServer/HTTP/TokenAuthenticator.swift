import BelayCore
import Crypto
import Foundation
import Hummingbird

/// Makes and checks bearer tokens. Only a token's SHA-256 is stored, so a stolen database holds no usable token.
public enum TokenSecrets {
    public static let prefix = "belay_"

    /// A new random token: the prefix and 32 random bytes as URL-safe base64.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let encoded = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return prefix + encoded
    }

    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).hexString
    }

    /// Creates and stores a token, returning it with its secret (which is not kept).
    public static func issue(name: String, role: AccessRole, store: any TokenStore, now: Date) async throws -> (APIToken, String) {
        let secret = generate()
        let token = try await store.createToken(APIToken(name: name, role: role, tokenHash: hash(secret), createdAt: now))
        return (token, secret)
    }
}

/// Finds the bearer token on a request and puts it on the context. Routes decide which role they need.
struct TokenAuthenticator: RouterMiddleware {
    let store: any TokenStore

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            return try await next(request, context)
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw APIError.unauthorized("the Authorization header must be 'Bearer <token>'")
        }
        let secret = parts[1].trimmingCharacters(in: .whitespaces)
        guard let token = try await store.token(hash: TokenSecrets.hash(secret)), !token.isRevoked else {
            throw APIError.unauthorized("the token is not valid or has been revoked")
        }
        var context = context
        context.token = token
        // Every event this request writes records the token as its actor.
        return try await WriteContext.acting(as: .token(id: token.id, name: token.name)) { try await next(request, context) }
    }
}
