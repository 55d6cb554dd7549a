import Foundation

/// What a token may do. Each role includes the ones below it.
public enum AccessRole: String, Codable, Sendable, CaseIterable, Comparable {
    /// Read everything.
    case viewer
    /// Read, and run incidents and maintenance.
    case responder
    /// Everything, including components, severities and tokens.
    case admin

    private var rank: Int {
        switch self {
        case .viewer: return 0
        case .responder: return 1
        case .admin: return 2
        }
    }

    public static func < (lhs: AccessRole, rhs: AccessRole) -> Bool { lhs.rank < rhs.rank }

    public func allows(_ needed: AccessRole) -> Bool { self >= needed }
}

/// A bearer token as stored: only its hash is kept, so the secret is shown once at creation.
public struct APIToken: Codable, Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var role: AccessRole
    public var tokenHash: String
    public var createdAt: Date
    public var revokedAt: Date?

    public init(id: Int64 = 0, name: String, role: AccessRole, tokenHash: String, createdAt: Date, revokedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.role = role
        self.tokenHash = tokenHash
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    public var isRevoked: Bool { revokedAt != nil }
}
