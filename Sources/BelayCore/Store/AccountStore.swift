import Foundation

/// Storage for people, their browser sessions and invitations.
public protocol AccountStore: Sendable {
    func users() async throws -> [User]
    func user(id: Int64) async throws -> User?
    func user(email: String) async throws -> User?
    func userCount() async throws -> Int
    func createUser(_ user: User) async throws -> User
    /// Applies `change`; a change to the password or role ends the user's sessions except `keepingSession`.
    func updateUser(id: Int64, keepingSession: Int64?, _ change: @escaping @Sendable (inout User) throws -> Void) async throws -> User

    func createSession(_ session: WebSession) async throws -> WebSession
    /// The session with this token hash and its user.
    func session(tokenHash: String) async throws -> (WebSession, User)?
    func touchSession(id: Int64, at: Date) async throws
    func deleteSession(id: Int64) async throws
    func deleteSessions(userID: Int64) async throws

    func createInvitation(_ invitation: Invitation) async throws -> Invitation
    /// Creates a user and the invitation (with `tokenHash`, until `expiresAt`) that lets them set a password,
    /// in one transaction: there is never a user nobody can invite, nor an invitation for nobody.
    func inviteUser(_ user: User, tokenHash: String, expiresAt: Date) async throws -> (User, Invitation)
    func invitation(tokenHash: String) async throws -> Invitation?
    func deleteInvitations(userID: Int64?) async throws
    /// Creates the first admin from the setup code, in one transaction, only if there is still no user.
    func claimSetup(tokenHash: String, admin: User, now: Date) async throws -> User
}
