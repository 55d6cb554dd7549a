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

    // Failed sign-ins live in the store so every replica counts the same ones; `SignInLimit` decides.
    /// In one transaction: forgets every failure before `since`, counts those since under each of `keys`, and
    /// when `allow` accepts the counts (in the order of `keys`) records one failure under each key, all
    /// tagged `attempt`. Returns whether it recorded them. Rows under a key never outnumber what `allow`
    /// admits, so the table is bounded by the rule's limits per key.
    func recordSignInFailure(
        attempt: String, keys: [String], at: Date, since: Date, if allow: @escaping @Sendable ([Int]) -> Bool) async throws -> Bool
    /// The failures recorded under `key` at or after `since`.
    func signInFailures(key: String, since: Date) async throws -> Int
    /// Forgets the failures tagged `attempt` (it succeeded) and every failure under `key`.
    func clearSignInFailures(attempt: String, key: String) async throws
}
