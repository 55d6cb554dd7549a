import BelayCore
import Foundation
import Logging
import PostgresNIO

/// Row mapping for users, sessions and invitations: the columns of SQLite's `UserRecord`, `WebSessionRecord`
/// and `InvitationRecord`.
enum AccountRows {
    static let userColumns = "id, name, email, role, passwordHash, disabledAt, createdAt, updatedAt"

    static func user(_ row: PostgresRow) throws -> User {
        let (id, name, email, role, passwordHash, disabledAt, createdAt, updatedAt) = try row.decode(
            (Int64, String, String, String, String, Double?, Double, Double).self)
        guard let accessRole = AccessRole(rawValue: role) else { throw StoredValueInvalid(column: "user.role", value: role) }
        return User(
            id: id, name: name, email: email, role: accessRole, passwordHash: passwordHash, disabledAt: disabledAt.map(Date.init(timeIntervalSince1970:)),
            createdAt: Date(timeIntervalSince1970: createdAt), updatedAt: Date(timeIntervalSince1970: updatedAt))
    }

    static let sessionColumns = "id, tokenHash, userId, csrfToken, createdAt, lastSeenAt"

    static func session(_ row: PostgresRow) throws -> WebSession {
        let (id, tokenHash, userID, csrfToken, createdAt, lastSeenAt) = try row.decode((Int64, String, Int64, String, Double, Double).self)
        return WebSession(
            id: id, tokenHash: tokenHash, userID: userID, csrfToken: csrfToken, createdAt: Date(timeIntervalSince1970: createdAt),
            lastSeenAt: Date(timeIntervalSince1970: lastSeenAt))
    }

    static let invitationColumns = "id, tokenHash, userId, createdAt, expiresAt"

    static func invitation(_ row: PostgresRow) throws -> Invitation {
        let (id, tokenHash, userID, createdAt, expiresAt) = try row.decode((Int64, String, Int64?, Double, Double).self)
        return Invitation(
            id: id, tokenHash: tokenHash, userID: userID, createdAt: Date(timeIntervalSince1970: createdAt),
            expiresAt: Date(timeIntervalSince1970: expiresAt))
    }

    static func users(_ query: PostgresQuery, _ connection: PostgresConnection, logger: Logger) async throws -> [User] {
        var users: [User] = []
        for try await row in try await connection.query(query, logger: logger) { users.append(try user(row)) }
        return users
    }

    static func count(_ query: PostgresQuery, _ connection: PostgresConnection, logger: Logger) async throws -> Int {
        var count = 0
        for try await value in try await connection.query(query, logger: logger).decode(Int.self) { count = value }
        return count
    }

    static func alreadyExists(_ email: String) -> DomainError {
        DomainError.conflict(code: "already_exists", message: "a user with email \(email) already exists")
    }

    /// Validates and inserts `user` (email normalized), refusing a taken email as SQLite's `insertUser` does.
    static func insertUser(_ user: User, _ connection: PostgresConnection, logger: Logger) async throws -> User {
        try user.validate()
        let email = User.normalizedEmail(user.email)
        if try await count("SELECT COUNT(*) FROM \"user\" WHERE email = \(email)", connection, logger: logger) > 0 {
            throw alreadyExists(email)
        }
        var stored = user
        stored.email = email
        do {
            let rows = try await connection.query(
                """
                INSERT INTO "user" (name, email, role, passwordHash, disabledAt, createdAt, updatedAt)
                VALUES (\(user.name), \(email), \(user.role.rawValue), \(user.passwordHash), \(user.disabledAt?.timeIntervalSince1970),
                        \(user.createdAt.timeIntervalSince1970), \(user.updatedAt.timeIntervalSince1970))
                RETURNING id
                """, logger: logger)
            for try await id in rows.decode(Int64.self) { stored.id = id }
        } catch where StorageFault.uniqueViolation(error) == "user_email_key" {
            // The writer lock makes the check above decisive; this only keeps a raced insert a 409, never a 500.
            throw alreadyExists(email)
        }
        return stored
    }

    static func insertInvitation(_ invitation: Invitation, _ connection: PostgresConnection, logger: Logger) async throws -> Invitation {
        var stored = invitation
        let rows = try await connection.query(
            """
            INSERT INTO invitation (tokenHash, userId, createdAt, expiresAt)
            VALUES (\(invitation.tokenHash), \(invitation.userID), \(invitation.createdAt.timeIntervalSince1970),
                    \(invitation.expiresAt.timeIntervalSince1970))
            RETURNING id
            """, logger: logger)
        for try await id in rows.decode(Int64.self) { stored.id = id }
        return stored
    }
}

extension PostgresStore: AccountStore {
    public func users() async throws -> [User] {
        let logger = logger
        return try await read { connection in
            try await AccountRows.users(
                "SELECT \(unescaped: AccountRows.userColumns) FROM \"user\" ORDER BY name COLLATE \"C\", id", connection, logger: logger)
        }
    }

    public func user(id: Int64) async throws -> User? {
        let logger = logger
        return try await read { connection in
            try await AccountRows.users("SELECT \(unescaped: AccountRows.userColumns) FROM \"user\" WHERE id = \(id)", connection, logger: logger).first
        }
    }

    public func user(email: String) async throws -> User? {
        let logger = logger
        let email = User.normalizedEmail(email)
        return try await read { connection in
            try await AccountRows.users("SELECT \(unescaped: AccountRows.userColumns) FROM \"user\" WHERE email = \(email)", connection, logger: logger)
                .first
        }
    }

    public func userCount() async throws -> Int {
        let logger = logger
        return try await read { connection in try await AccountRows.count("SELECT COUNT(*) FROM \"user\"", connection, logger: logger) }
    }

    public func createUser(_ user: User) async throws -> User {
        let logger = logger
        return try await write { connection in
            let created = try await AccountRows.insertUser(user, connection, logger: logger)
            return Written(created, [.userCreated(id: created.id, role: created.role)])
        }
    }

    public func updateUser(id: Int64, keepingSession: Int64?, _ change: @escaping @Sendable (inout User) throws -> Void) async throws -> User {
        let logger = logger
        return try await write { connection in
            guard
                let before = try await AccountRows.users(
                    "SELECT \(unescaped: AccountRows.userColumns) FROM \"user\" WHERE id = \(id)", connection, logger: logger
                ).first
            else { throw DomainError.notFound(what: "user", id: String(id)) }
            var user = before
            try change(&user)
            user.id = id
            try user.validate()
            let email = User.normalizedEmail(user.email)
            if email != before.email, try await AccountRows.count("SELECT COUNT(*) FROM \"user\" WHERE email = \(email)", connection, logger: logger) > 0 {
                throw AccountRows.alreadyExists(email)
            }
            // Only counted when the change could take the last admin away (AdminRule reads it lazily).
            let activeAdmins =
                AdminRule.losesAdmin(before: before, after: user)
                ? try await AccountRows.count(
                    "SELECT COUNT(*) FROM \"user\" WHERE role = \(AccessRole.admin.rawValue) AND disabledAt IS NULL", connection, logger: logger)
                : 0
            try AdminRule.check(before: before, after: user) { activeAdmins }
            do {
                try await connection.query(
                    """
                    UPDATE "user" SET name = \(user.name), email = \(email), role = \(user.role.rawValue), passwordHash = \(user.passwordHash),
                      disabledAt = \(user.disabledAt?.timeIntervalSince1970), createdAt = \(user.createdAt.timeIntervalSince1970),
                      updatedAt = \(user.updatedAt.timeIntervalSince1970)
                    WHERE id = \(id)
                    """, logger: logger)
            } catch where StorageFault.uniqueViolation(error) == "user_email_key" {
                throw AccountRows.alreadyExists(email)
            }
            var events: [DomainEvent] = [.userUpdated(id: id)]
            if user.endsSessions(comparedTo: before) {
                let rows: PostgresRowSequence
                if let kept = user.survivingSession(keepingSession) {
                    rows = try await connection.query("DELETE FROM web_session WHERE userId = \(id) AND id <> \(kept) RETURNING id", logger: logger)
                } else {
                    rows = try await connection.query("DELETE FROM web_session WHERE userId = \(id) RETURNING id", logger: logger)
                }
                var deleted = 0
                for try await _ in rows { deleted += 1 }
                if deleted > 0 { events.append(.sessionEnded(userID: id)) }
            }
            return Written(user, events)
        }
    }

    public func createSession(_ session: WebSession) async throws -> WebSession {
        let logger = logger
        return try await quietWrite { connection in
            var stored = session
            let rows = try await connection.query(
                """
                INSERT INTO web_session (tokenHash, userId, csrfToken, createdAt, lastSeenAt)
                VALUES (\(session.tokenHash), \(session.userID), \(session.csrfToken), \(session.createdAt.timeIntervalSince1970),
                        \(session.lastSeenAt.timeIntervalSince1970))
                RETURNING id
                """, logger: logger)
            for try await id in rows.decode(Int64.self) { stored.id = id }
            return stored
        }
    }

    public func session(tokenHash: String) async throws -> (WebSession, User)? {
        let logger = logger
        // One statement, so the session and its user come from the same snapshot.
        let found: [(WebSession, User)] = try await read { connection in
            let rows = try await connection.query(
                """
                SELECT s.id, s.tokenHash, s.userId, s.csrfToken, s.createdAt, s.lastSeenAt,
                       u.id, u.name, u.email, u.role, u.passwordHash, u.disabledAt, u.createdAt, u.updatedAt
                FROM web_session s JOIN "user" u ON u.id = s.userId
                WHERE s.tokenHash = \(tokenHash)
                """, logger: logger)
            var found: [(WebSession, User)] = []
            for try await row in rows {
                let (id, hash, userID, csrfToken, createdAt, lastSeenAt, uid, name, email, role, passwordHash, disabledAt, userCreatedAt, updatedAt) =
                    try row.decode((Int64, String, Int64, String, Double, Double, Int64, String, String, String, String, Double?, Double, Double).self)
                guard let accessRole = AccessRole(rawValue: role) else { throw StoredValueInvalid(column: "user.role", value: role) }
                let session = WebSession(
                    id: id, tokenHash: hash, userID: userID, csrfToken: csrfToken, createdAt: Date(timeIntervalSince1970: createdAt),
                    lastSeenAt: Date(timeIntervalSince1970: lastSeenAt))
                let user = User(
                    id: uid, name: name, email: email, role: accessRole, passwordHash: passwordHash,
                    disabledAt: disabledAt.map(Date.init(timeIntervalSince1970:)), createdAt: Date(timeIntervalSince1970: userCreatedAt),
                    updatedAt: Date(timeIntervalSince1970: updatedAt))
                found.append((session, user))
            }
            return found
        }
        return found.first
    }

    public func touchSession(id: Int64, at: Date) async throws {
        let logger = logger
        // Not a change anyone else needs to hear about: no event.
        try await quietWrite { connection in
            _ = try await connection.query("UPDATE web_session SET lastSeenAt = \(at.timeIntervalSince1970) WHERE id = \(id)", logger: logger)
        }
    }

    /// Ending sessions is logged, so open live streams (the war room's) notice the sign-out at once.
    public func deleteSession(id: Int64) async throws {
        let logger = logger
        try await write { connection in
            var ended: [DomainEvent] = []
            for try await userID in try await connection.query("DELETE FROM web_session WHERE id = \(id) RETURNING userId", logger: logger)
                .decode(Int64.self)
            {
                ended.append(.sessionEnded(userID: userID))
            }
            return Written(ended)
        }
    }

    public func deleteSessions(userID: Int64) async throws {
        let logger = logger
        try await write { connection in
            var deleted = 0
            for try await _ in try await connection.query("DELETE FROM web_session WHERE userId = \(userID) RETURNING id", logger: logger) {
                deleted += 1
            }
            return Written(deleted > 0 ? [.sessionEnded(userID: userID)] : [])
        }
    }

    public func createInvitation(_ invitation: Invitation) async throws -> Invitation {
        let logger = logger
        return try await quietWrite { connection in try await AccountRows.insertInvitation(invitation, connection, logger: logger) }
    }

    public func inviteUser(_ user: User, tokenHash: String, expiresAt: Date) async throws -> (User, Invitation) {
        let logger = logger
        return try await write { connection in
            let created = try await AccountRows.insertUser(user, connection, logger: logger)
            let invitation = try await AccountRows.insertInvitation(
                Invitation(tokenHash: tokenHash, userID: created.id, createdAt: user.createdAt, expiresAt: expiresAt), connection, logger: logger)
            return Written((created, invitation), [.userCreated(id: created.id, role: created.role)])
        }
    }

    public func invitation(tokenHash: String) async throws -> Invitation? {
        let logger = logger
        return try await read { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: AccountRows.invitationColumns) FROM invitation WHERE tokenHash = \(tokenHash)", logger: logger)
            var found: Invitation?
            for try await row in rows { found = try AccountRows.invitation(row) }
            return found
        }
    }

    public func deleteInvitations(userID: Int64?) async throws {
        let logger = logger
        try await quietWrite { connection in
            if let userID {
                _ = try await connection.query("DELETE FROM invitation WHERE userId = \(userID)", logger: logger)
            } else {
                _ = try await connection.query("DELETE FROM invitation WHERE userId IS NULL", logger: logger)
            }
        }
    }

    public func claimSetup(tokenHash: String, admin: User, now: Date) async throws -> User {
        let logger = logger
        // Under the writer lock, so of two claims at once the second sees the first's user and is refused.
        return try await write { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: AccountRows.invitationColumns) FROM invitation WHERE tokenHash = \(tokenHash) AND userId IS NULL",
                logger: logger)
            var invitation: Invitation?
            for try await row in rows { invitation = try AccountRows.invitation(row) }
            let existing = try await AccountRows.count("SELECT COUNT(*) FROM \"user\"", connection, logger: logger)
            try FirstRunSetup.checkClaim(invitation: invitation, existingUsers: existing, now: now)
            var first = admin
            first.role = .admin
            let created = try await AccountRows.insertUser(first, connection, logger: logger)
            try await connection.query("DELETE FROM invitation WHERE userId IS NULL", logger: logger)
            // Nobody was signed in: the first admin made themself.
            return Written(
                created,
                groups: [EventGroup(actor: .user(id: created.id, name: created.name), events: [.userCreated(id: created.id, role: created.role)])])
        }
    }
}
