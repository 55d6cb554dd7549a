import BelayCore
import Foundation
import Logging
import PostgresNIO

/// Row mapping for API tokens: the columns of SQLite's `TokenRecord`.
enum TokenRows {
    static let columns = "id, name, role, tokenHash, createdAt, revokedAt"

    static func token(_ row: PostgresRow) throws -> APIToken {
        let (id, name, role, tokenHash, createdAt, revokedAt) = try row.decode((Int64, String, String, String, Double, Double?).self)
        guard let accessRole = AccessRole(rawValue: role) else { throw StoredValueInvalid(column: "api_token.role", value: role) }
        return APIToken(
            id: id, name: name, role: accessRole, tokenHash: tokenHash, createdAt: Date(timeIntervalSince1970: createdAt),
            revokedAt: revokedAt.map(Date.init(timeIntervalSince1970:)))
    }

    static func tokens(_ query: PostgresQuery, _ connection: PostgresConnection, logger: Logger) async throws -> [APIToken] {
        var tokens: [APIToken] = []
        for try await row in try await connection.query(query, logger: logger) { tokens.append(try token(row)) }
        return tokens
    }
}

extension PostgresStore: TokenStore {
    public func createToken(_ token: APIToken) async throws -> APIToken {
        try token.validate()
        let logger = logger
        return try await write { connection in
            var stored = token
            let rows = try await connection.query(
                """
                INSERT INTO api_token (name, role, tokenHash, createdAt, revokedAt)
                VALUES (\(token.name), \(token.role.rawValue), \(token.tokenHash), \(token.createdAt.timeIntervalSince1970),
                        \(token.revokedAt?.timeIntervalSince1970))
                RETURNING id
                """, logger: logger)
            for try await id in rows.decode(Int64.self) { stored.id = id }
            return Written(stored, [.tokenCreated(id: stored.id, role: stored.role)])
        }
    }

    public func token(hash: String) async throws -> APIToken? {
        let logger = logger
        return try await read { connection in
            try await TokenRows.tokens("SELECT \(unescaped: TokenRows.columns) FROM api_token WHERE tokenHash = \(hash)", connection, logger: logger).first
        }
    }

    public func tokens() async throws -> [APIToken] {
        let logger = logger
        return try await read { connection in
            try await TokenRows.tokens("SELECT \(unescaped: TokenRows.columns) FROM api_token ORDER BY id", connection, logger: logger)
        }
    }

    public func revokeToken(id: Int64, now: Date) async throws -> APIToken {
        let logger = logger
        return try await write { connection in
            guard
                var token = try await TokenRows.tokens("SELECT \(unescaped: TokenRows.columns) FROM api_token WHERE id = \(id)", connection, logger: logger)
                    .first
            else { throw DomainError.notFound(what: "token", id: String(id)) }
            guard token.revokedAt == nil else { return Written(token, []) }
            let admins = try await AccountRows.count(
                "SELECT COUNT(*) FROM api_token WHERE role = \(AccessRole.admin.rawValue) AND revokedAt IS NULL", connection, logger: logger)
            try AdminRule.check(revoking: token, activeAdminTokens: admins)
            token.revokedAt = now
            try await connection.query("UPDATE api_token SET revokedAt = \(now.timeIntervalSince1970) WHERE id = \(id)", logger: logger)
            return Written(token, [.tokenRevoked(id: id)])
        }
    }

    public func hasActiveToken(role: AccessRole) async throws -> Bool {
        let logger = logger
        return try await read { connection in
            try await AccountRows.count(
                "SELECT COUNT(*) FROM api_token WHERE role = \(role.rawValue) AND revokedAt IS NULL", connection, logger: logger) > 0
        }
    }
}
