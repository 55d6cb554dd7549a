import BelayCore
import Foundation
import GRDB

struct UserRecord: IdentifiedRecord {
    static let databaseTableName = "user"
    var id: Int64?
    var name: String
    var email: String
    var role: String
    var passwordHash: String
    var disabledAt: Date?
    var createdAt: Date
    var updatedAt: Date

    init(_ value: User) {
        id = value.id == 0 ? nil : value.id
        name = value.name
        email = User.normalizedEmail(value.email)
        role = value.role.rawValue
        passwordHash = value.passwordHash
        disabledAt = value.disabledAt
        createdAt = value.createdAt
        updatedAt = value.updatedAt
    }

    func domain() throws -> User {
        User(
            id: id ?? 0, name: name, email: email, role: try decode(AccessRole.self, role), passwordHash: passwordHash, disabledAt: disabledAt,
            createdAt: createdAt, updatedAt: updatedAt)
    }
}

struct WebSessionRecord: IdentifiedRecord {
    static let databaseTableName = "web_session"
    var id: Int64?
    var tokenHash: String
    var userId: Int64
    var csrfToken: String
    var createdAt: Date
    var lastSeenAt: Date

    init(_ value: WebSession) {
        id = value.id == 0 ? nil : value.id
        tokenHash = value.tokenHash
        userId = value.userID
        csrfToken = value.csrfToken
        createdAt = value.createdAt
        lastSeenAt = value.lastSeenAt
    }

    func domain() -> WebSession {
        WebSession(id: id ?? 0, tokenHash: tokenHash, userID: userId, csrfToken: csrfToken, createdAt: createdAt, lastSeenAt: lastSeenAt)
    }
}

struct InvitationRecord: IdentifiedRecord {
    static let databaseTableName = "invitation"
    var id: Int64?
    var tokenHash: String
    var userId: Int64?
    var createdAt: Date
    var expiresAt: Date

    init(_ value: Invitation) {
        id = value.id == 0 ? nil : value.id
        tokenHash = value.tokenHash
        userId = value.userID
        createdAt = value.createdAt
        expiresAt = value.expiresAt
    }

    func domain() -> Invitation {
        Invitation(id: id ?? 0, tokenHash: tokenHash, userID: userId, createdAt: createdAt, expiresAt: expiresAt)
    }
}

extension AppDatabase: AccountStore {
    public func users() async throws -> [User] {
        try await read { db in try UserRecord.order(Column("name"), Column("id")).fetchAll(db).map { try $0.domain() } }
    }

    public func user(id: Int64) async throws -> User? {
        try await read { db in try UserRecord.fetchOne(db, key: id)?.domain() }
    }

    public func user(email: String) async throws -> User? {
        try await read { db in try UserRecord.filter(Column("email") == User.normalizedEmail(email)).fetchOne(db)?.domain() }
    }

    public func userCount() async throws -> Int {
        try await read { db in try UserRecord.fetchCount(db) }
    }

    static func insertUser(_ user: User, _ db: Database) throws -> User {
        try user.validate()
        if try UserRecord.filter(Column("email") == User.normalizedEmail(user.email)).fetchCount(db) > 0 {
            throw DomainError.conflict(code: "already_exists", message: "a user with email \(User.normalizedEmail(user.email)) already exists")
        }
        var record = UserRecord(user)
        try record.insert(db)
        return try record.domain()
    }

    public func createUser(_ user: User) async throws -> User {
        try await write { db in
            let created = try Self.insertUser(user, db)
            return Written(created, [.userCreated(id: created.id, role: created.role)])
        }
    }

    public func updateUser(id: Int64, keepingSession: Int64?, _ change: @escaping @Sendable (inout User) throws -> Void) async throws -> User {
        try await write { db in
            guard let before = try UserRecord.fetchOne(db, key: id)?.domain() else { throw DomainError.notFound(what: "user", id: String(id)) }
            var user = before
            try change(&user)
            user.id = id
            try user.validate()
            let email = User.normalizedEmail(user.email)
            if email != before.email, try UserRecord.filter(Column("email") == email).fetchCount(db) > 0 {
                throw DomainError.conflict(code: "already_exists", message: "a user with email \(email) already exists")
            }
            try AdminRule.check(before: before, after: user) {
                try UserRecord.filter(Column("role") == AccessRole.admin.rawValue && Column("disabledAt") == nil).fetchCount(db)
            }
            try UserRecord(user).update(db)
            var events: [DomainEvent] = [.userUpdated(id: id)]
            if user.endsSessions(comparedTo: before) {
                var sessions = WebSessionRecord.filter(Column("userId") == id)
                if let kept = user.survivingSession(keepingSession) { sessions = sessions.filter(Column("id") != kept) }
                if try sessions.deleteAll(db) > 0 { events.append(.sessionEnded(userID: id)) }
            }
            return Written(user, events)
        }
    }

    public func createSession(_ session: WebSession) async throws -> WebSession {
        try await quietWrite { db in
            var record = WebSessionRecord(session)
            try record.insert(db)
            return record.domain()
        }
    }

    public func session(tokenHash: String) async throws -> (WebSession, User)? {
        try await read { db in
            guard let session = try WebSessionRecord.filter(Column("tokenHash") == tokenHash).fetchOne(db),
                let user = try UserRecord.fetchOne(db, key: session.userId)
            else { return nil }
            return (session.domain(), try user.domain())
        }
    }

    public func touchSession(id: Int64, at: Date) async throws {
        // Not a change anyone else needs to hear about: skip the change signal.
        try await quietWrite { db in
            try db.execute(sql: "UPDATE web_session SET lastSeenAt = ? WHERE id = ?", arguments: [at.timeIntervalSince1970, id])
        }
    }

    /// Ending sessions is logged, so open live streams (the war room's) notice the sign-out at once.
    public func deleteSession(id: Int64) async throws {
        try await write { db in
            guard let record = try WebSessionRecord.fetchOne(db, key: id) else { return Written([]) }
            _ = try record.delete(db)
            return Written([.sessionEnded(userID: record.userId)])
        }
    }

    public func deleteSessions(userID: Int64) async throws {
        try await write { db in
            let deleted = try WebSessionRecord.filter(Column("userId") == userID).deleteAll(db)
            return Written(deleted > 0 ? [.sessionEnded(userID: userID)] : [])
        }
    }

    public func createInvitation(_ invitation: Invitation) async throws -> Invitation {
        try await quietWrite { db in
            var record = InvitationRecord(invitation)
            try record.insert(db)
            return record.domain()
        }
    }

    public func inviteUser(_ user: User, tokenHash: String, expiresAt: Date) async throws -> (User, Invitation) {
        try await write { db in
            let created = try Self.insertUser(user, db)
            var record = InvitationRecord(Invitation(tokenHash: tokenHash, userID: created.id, createdAt: user.createdAt, expiresAt: expiresAt))
            try record.insert(db)
            return Written((created, record.domain()), [.userCreated(id: created.id, role: created.role)])
        }
    }

    public func invitation(tokenHash: String) async throws -> Invitation? {
        try await read { db in try InvitationRecord.filter(Column("tokenHash") == tokenHash).fetchOne(db)?.domain() }
    }

    public func deleteInvitations(userID: Int64?) async throws {
        _ = try await quietWrite { db in
            if let userID {
                try InvitationRecord.filter(Column("userId") == userID).deleteAll(db)
            } else {
                try InvitationRecord.filter(Column("userId") == nil).deleteAll(db)
            }
        }
    }

    public func claimSetup(tokenHash: String, admin: User, now: Date) async throws -> User {
        try await write { db in
            let invitation = try InvitationRecord.filter(Column("tokenHash") == tokenHash && Column("userId") == nil).fetchOne(db)?.domain()
            try FirstRunSetup.checkClaim(invitation: invitation, existingUsers: try UserRecord.fetchCount(db), now: now)
            var first = admin
            first.role = .admin
            let created = try Self.insertUser(first, db)
            try InvitationRecord.filter(Column("userId") == nil).deleteAll(db)
            // Nobody was signed in: the first admin made themself.
            return Written(created, groups: [EventGroup(actor: .user(id: created.id, name: created.name), events: [.userCreated(id: created.id, role: created.role)])])
        }
    }
}
