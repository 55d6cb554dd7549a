import Foundation

/// A person who signs in to the responder's web app.
public struct User: Codable, Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var email: String
    public var role: AccessRole
    /// bcrypt hash; empty until an invited user sets a password.
    public var passwordHash: String
    public var disabledAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64 = 0, name: String, email: String, role: AccessRole, passwordHash: String = "", disabledAt: Date? = nil, createdAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.name = name
        self.email = email
        self.role = role
        self.passwordHash = passwordHash
        self.disabledAt = disabledAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var isDisabled: Bool { disabledAt != nil }
    public var hasPassword: Bool { !passwordHash.isEmpty }

    /// The longest address an account may have, in characters (RFC 5321's path limit less the brackets).
    public static let maxEmailLength = 254
    /// The same bound in UTF-8 bytes, for refusing longer input before counting characters.
    public static let maxEmailBytes = maxEmailLength * 4

    /// Emails are compared and stored lowercased.
    public static func normalizedEmail(_ email: String) -> String {
        email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    public func validate() throws {
        try Validate.text(name, field: "name", max: 120)
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.count <= Self.maxEmailLength, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !email.contains(where: \.isWhitespace) else {
            throw DomainError.invalid(field: "email", message: "must be an email address like dana@example.com")
        }
    }

    /// Password rules: long enough to resist guessing, short enough for bcrypt (72 bytes).
    public static func validatePassword(_ password: String) throws {
        guard password.count >= 10 else { throw DomainError.invalid(field: "password", message: "must be at least 10 characters") }
        guard password.utf8.count <= 72 else { throw DomainError.invalid(field: "password", message: "must be at most 72 bytes") }
    }
}

/// A signed-in browser. Only the hash of the cookie value is stored.
public struct WebSession: Codable, Sendable, Equatable {
    public var id: Int64
    public var tokenHash: String
    public var userID: Int64
    /// Sent back in every form; a POST without it is refused.
    public var csrfToken: String
    public var createdAt: Date
    public var lastSeenAt: Date

    public init(id: Int64 = 0, tokenHash: String, userID: Int64, csrfToken: String, createdAt: Date, lastSeenAt: Date) {
        self.id = id
        self.tokenHash = tokenHash
        self.userID = userID
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
    }

    /// Whether the session may still be used at `now`: not idle too long, not older than the absolute limit.
    public func isValid(at now: Date, idleTimeout: TimeInterval, absoluteTimeout: TimeInterval) -> Bool {
        now.timeIntervalSince(lastSeenAt) < idleTimeout && now.timeIntervalSince(createdAt) < absoluteTimeout
    }
}

/// A one-time secret that lets someone set a password: the first admin's setup code, or an invitation.
public struct Invitation: Codable, Sendable, Equatable {
    public var id: Int64
    public var tokenHash: String
    /// The invited user; nil for the first-run setup code, which creates the first admin.
    public var userID: Int64?
    public var createdAt: Date
    public var expiresAt: Date

    public init(id: Int64 = 0, tokenHash: String, userID: Int64?, createdAt: Date, expiresAt: Date) {
        self.id = id
        self.tokenHash = tokenHash
        self.userID = userID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}
