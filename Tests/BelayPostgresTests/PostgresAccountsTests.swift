import BelayCore
import BelayPostgres
import Foundation
import Testing

/// Accounts, API tokens and the sign-in throttle on PostgreSQL, checked as SQLite's are (AppDatabaseTests and
/// the store contracts) and under the concurrency only a shared server can show.
@Suite(.enabled(if: TestDatabase.isAvailable, "needs BELAY_TEST_POSTGRES_URL"))
struct PostgresAccountsTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    static func person(_ name: String, _ email: String, _ role: AccessRole = .responder) -> User {
        User(name: name, email: email, role: role, createdAt: now, updatedAt: now)
    }

    // MARK: Users

    @Test func usersAreStoredWithTheirEmailLowercasedAndFoundInAnyCase() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let dana = try await store.createUser(Self.person("Dana", "Dana@Example.COM", .admin))
        #expect(dana.id > 0)
        #expect(dana.email == "dana@example.com")
        #expect(try await store.user(email: "DANA@example.com") == dana)
        #expect(try await store.user(id: dana.id) == dana)
        #expect(try await store.user(id: dana.id + 100) == nil)
        #expect(try await store.userCount() == 1)
        _ = try await store.createUser(Self.person("alex", "alex@example.com"))
        _ = try await store.createUser(Self.person("Bo", "bo@example.com"))
        // Byte order, as SQLite sorts: capitals first.
        #expect(try await store.users().map(\.name) == ["Bo", "Dana", "alex"])
    }

    @Test func aTakenEmailIsAConflictAndLeavesNoEvent() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let first = try await store.createUser(Self.person("Sam", "sam@example.com"))
        let head = try await store.eventHead()
        try await expectConflict("already_exists") { _ = try await store.createUser(Self.person("Sam two", "SAM@example.com")) }
        #expect(try await store.eventHead() == head)
        let other = try await store.createUser(Self.person("Kim", "kim@example.com"))
        try await expectConflict("already_exists") {
            _ = try await store.updateUser(id: other.id, keepingSession: nil) { $0.email = "Sam@Example.com" }
        }
        #expect(try await store.user(id: other.id)?.email == "kim@example.com")
        // Keeping one's own email in another case is no clash.
        let renamed = try await store.updateUser(id: first.id, keepingSession: nil) { $0.email = "SAM@example.com" }
        #expect(renamed.email == "SAM@example.com")
        #expect(try await store.user(id: first.id)?.email == "sam@example.com")
    }

    @Test func anInvalidOrMissingUserIsRefused() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        await #expect(throws: DomainError.self) { _ = try await store.createUser(Self.person("Nobody", "not-an-email")) }
        await #expect(throws: DomainError.notFound(what: "user", id: "42")) {
            _ = try await store.updateUser(id: 42, keepingSession: nil) { $0.name = "x" }
        }
        #expect(try await store.userCount() == 0)
    }

    @Test func theLastActiveAdminCannotBeDemotedOrDisabled() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let admin = try await store.createUser(Self.person("Dana", "dana@example.com", .admin))
        try await expectConflict("last_admin") { _ = try await store.updateUser(id: admin.id, keepingSession: nil) { $0.role = .viewer } }
        try await expectConflict("last_admin") {
            _ = try await store.updateUser(id: admin.id, keepingSession: nil) { $0.disabledAt = Self.now }
        }
        #expect(try await store.user(id: admin.id)?.role == .admin)
        // A disabled admin does not count as a way in.
        let spare = try await store.createUser(Self.person("Kim", "kim@example.com", .admin))
        _ = try await store.updateUser(id: spare.id, keepingSession: nil) { $0.disabledAt = Self.now }
        try await expectConflict("last_admin") { _ = try await store.updateUser(id: admin.id, keepingSession: nil) { $0.role = .viewer } }
        _ = try await store.updateUser(id: spare.id, keepingSession: nil) { $0.disabledAt = nil }
        #expect(try await store.updateUser(id: admin.id, keepingSession: nil) { $0.role = .viewer }.role == .viewer)
    }

    // MARK: Sessions

    @Test func aSessionIsFoundWithItsUserAndTouchingItIsQuiet() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let user = try await store.createUser(Self.person("Sam", "sam@example.com"))
        let session = try await store.createSession(
            WebSession(tokenHash: "s1", userID: user.id, csrfToken: "c1", createdAt: Self.now, lastSeenAt: Self.now))
        #expect(session.id > 0)
        let found = try #require(try await store.session(tokenHash: "s1"))
        #expect(found.0 == session)
        #expect(found.1 == user)
        #expect(try await store.session(tokenHash: "unknown") == nil)
        let head = try await store.eventHead()
        let later = Self.now.addingTimeInterval(60.5)
        try await store.touchSession(id: session.id, at: later)
        #expect(try await store.session(tokenHash: "s1")?.0.lastSeenAt == later)
        #expect(try await store.eventHead() == head)
    }

    @Test func aPasswordChangeEndsTheOtherSessionsAndDisablingEndsAll() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        _ = try await store.createUser(Self.person("Root", "root@example.com", .admin))
        let user = try await store.createUser(Self.person("Sam", "sam@example.com"))
        let current = try await store.createSession(WebSession(tokenHash: "s1", userID: user.id, csrfToken: "c", createdAt: Self.now, lastSeenAt: Self.now))
        _ = try await store.createSession(WebSession(tokenHash: "s2", userID: user.id, csrfToken: "c", createdAt: Self.now, lastSeenAt: Self.now))

        var head = try await store.eventHead()
        _ = try await store.updateUser(id: user.id, keepingSession: current.id) { $0.name = "Samuel" }
        #expect(try await store.events(after: head, limit: 10).map(\.event) == [.userUpdated(id: user.id)])
        #expect(try await store.session(tokenHash: "s2") != nil)

        head = try await store.eventHead()
        _ = try await store.updateUser(id: user.id, keepingSession: current.id) { $0.passwordHash = "new-hash" }
        #expect(try await store.events(after: head, limit: 10).map(\.event) == [.userUpdated(id: user.id), .sessionEnded(userID: user.id)])
        #expect(try await store.session(tokenHash: "s1") != nil)
        #expect(try await store.session(tokenHash: "s2") == nil)

        head = try await store.eventHead()
        _ = try await store.updateUser(id: user.id, keepingSession: current.id) { $0.disabledAt = Self.now }
        #expect(try await store.events(after: head, limit: 10).map(\.event) == [.userUpdated(id: user.id), .sessionEnded(userID: user.id)])
        #expect(try await store.session(tokenHash: "s1") == nil)
    }

    @Test func endingSessionsIsLoggedOnlyWhenOneEnded() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let user = try await store.createUser(Self.person("Sam", "sam@example.com"))
        let one = try await store.createSession(WebSession(tokenHash: "s1", userID: user.id, csrfToken: "c", createdAt: Self.now, lastSeenAt: Self.now))
        _ = try await store.createSession(WebSession(tokenHash: "s2", userID: user.id, csrfToken: "c", createdAt: Self.now, lastSeenAt: Self.now))
        _ = try await store.createSession(WebSession(tokenHash: "s3", userID: user.id, csrfToken: "c", createdAt: Self.now, lastSeenAt: Self.now))
        let head = try await store.eventHead()
        try await store.deleteSession(id: one.id)
        try await store.deleteSession(id: one.id)
        #expect(try await store.events(after: head, limit: 10).map(\.event) == [.sessionEnded(userID: user.id)])
        try await store.deleteSessions(userID: user.id)
        try await store.deleteSessions(userID: user.id)
        #expect(try await store.events(after: head, limit: 10).map(\.event) == [.sessionEnded(userID: user.id), .sessionEnded(userID: user.id)])
        #expect(try await store.session(tokenHash: "s2") == nil)
        #expect(try await store.session(tokenHash: "s3") == nil)
    }

    // MARK: Invitations and first-run setup

    @Test func anInvitationIsMadeWithItsUserOrNotAtAll() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let expires = Self.now.addingTimeInterval(86400)
        let (user, invitation) = try await store.inviteUser(Self.person("Sam", "sam@example.com"), tokenHash: "invite-1", expiresAt: expires)
        #expect(try await store.invitation(tokenHash: "invite-1") == invitation)
        #expect(invitation.userID == user.id)
        #expect(invitation.expiresAt == expires)
        try await expectConflict("already_exists") {
            _ = try await store.inviteUser(Self.person("Sam again", "SAM@example.com", .viewer), tokenHash: "invite-2", expiresAt: expires)
        }
        #expect(try await store.invitation(tokenHash: "invite-2") == nil)
        #expect(try await store.userCount() == 1)
        // A reused token hash fails whole too: no user without an invitation.
        await #expect(throws: (any Error).self) {
            _ = try await store.inviteUser(Self.person("Kim", "kim@example.com"), tokenHash: "invite-1", expiresAt: expires)
        }
        #expect(try await store.user(email: "kim@example.com") == nil)
    }

    @Test func deletingInvitationsTakesTheUsersOrOnlyTheSetupCodes() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let expires = Self.now.addingTimeInterval(3600)
        let (user, _) = try await store.inviteUser(Self.person("Sam", "sam@example.com"), tokenHash: "invite", expiresAt: expires)
        let setup = try await store.createInvitation(Invitation(tokenHash: "setup", userID: nil, createdAt: Self.now, expiresAt: expires))
        #expect(setup.id > 0)
        #expect(try await store.invitation(tokenHash: "setup") == setup)
        try await store.deleteInvitations(userID: nil)
        #expect(try await store.invitation(tokenHash: "setup") == nil)
        #expect(try await store.invitation(tokenHash: "invite") != nil)
        try await store.deleteInvitations(userID: user.id)
        #expect(try await store.invitation(tokenHash: "invite") == nil)
    }

    @Test func theSetupCodeMakesTheFirstAdminOnceAndActsAsThem() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        _ = try await store.createInvitation(Invitation(tokenHash: "code", userID: nil, createdAt: Self.now, expiresAt: Self.now.addingTimeInterval(600)))
        try await expectConflict("invalid_setup_code") {
            _ = try await store.claimSetup(tokenHash: "wrong", admin: Self.person("Dana", "dana@example.com"), now: Self.now)
        }
        try await expectConflict("invalid_setup_code") {
            _ = try await store.claimSetup(tokenHash: "code", admin: Self.person("Dana", "dana@example.com"), now: Self.now.addingTimeInterval(601))
        }
        let head = try await store.eventHead()
        let admin = try await store.claimSetup(tokenHash: "code", admin: Self.person("Dana", "dana@example.com", .viewer), now: Self.now)
        #expect(admin.role == .admin)
        let events = try await store.events(after: head, limit: 10)
        #expect(events.map(\.event) == [.userCreated(id: admin.id, role: .admin)])
        #expect(events.first?.actor == .user(id: admin.id, name: "Dana"))
        #expect(try await store.invitation(tokenHash: "code") == nil)
        try await expectConflict("invalid_setup_code") {
            _ = try await store.claimSetup(tokenHash: "code", admin: Self.person("Eve", "eve@example.com"), now: Self.now)
        }
    }

    @Test func concurrentSetupClaimsMakeExactlyOneAdmin() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        _ = try await store.createInvitation(Invitation(tokenHash: "code", userID: nil, createdAt: Self.now, expiresAt: Self.now.addingTimeInterval(600)))
        let claims = 8
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<claims {
                group.addTask {
                    do {
                        _ = try await store.claimSetup(tokenHash: "code", admin: Self.person("Admin \(index)", "admin\(index)@example.com"), now: Self.now)
                        return true
                    } catch DomainError.conflict {
                        // The losers are refused as the rule says, never with a storage error.
                        return false
                    } catch {
                        Issue.record("a losing claim failed with \(error)")
                        return false
                    }
                }
            }
            var outcomes: [Bool] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        #expect(outcomes.filter { $0 }.count == 1)
        #expect(try await store.userCount() == 1)
        #expect(try await store.users().first?.role == .admin)
    }

    // MARK: Tokens

    @Test func tokensAreFoundByHashAndRevocationSticks() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        #expect(try await store.hasActiveToken(role: .admin) == false)
        let token = try await store.createToken(APIToken(name: "ci", role: .admin, tokenHash: "abc", createdAt: Self.now))
        #expect(token.id > 0)
        #expect(try await store.token(hash: "abc") == token)
        #expect(try await store.token(hash: "nope") == nil)
        #expect(try await store.hasActiveToken(role: .admin))
        #expect(try await store.hasActiveToken(role: .viewer) == false)
        // The only admin token cannot go: nobody could administer Belay through the API afterwards.
        try await expectConflict("last_admin") { _ = try await store.revokeToken(id: token.id, now: Self.now) }
        let second = try await store.createToken(APIToken(name: "ops", role: .admin, tokenHash: "def", createdAt: Self.now))
        let head = try await store.eventHead()
        let revoked = try await store.revokeToken(id: token.id, now: Self.now)
        #expect(revoked.revokedAt == Self.now)
        #expect(try await store.token(hash: "abc")?.isRevoked == true)
        #expect(try await store.hasActiveToken(role: .admin))
        try await expectConflict("last_admin") { _ = try await store.revokeToken(id: second.id, now: Self.now) }
        // Revoking again changes nothing and says nothing.
        #expect(try await store.revokeToken(id: token.id, now: Self.now.addingTimeInterval(60)).revokedAt == Self.now)
        #expect(try await store.events(after: head, limit: 10).map(\.event) == [.tokenRevoked(id: token.id)])
        #expect(try await store.tokens().map(\.id) == [token.id, second.id])
        await #expect(throws: DomainError.notFound(what: "token", id: "999")) { _ = try await store.revokeToken(id: 999, now: Self.now) }
    }

    @Test func aNonAdminTokenMayBeRevokedAndCreatingOneIsLogged() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let head = try await store.eventHead()
        let token = try await store.createToken(APIToken(name: "viewer", role: .viewer, tokenHash: "v", createdAt: Self.now))
        _ = try await store.revokeToken(id: token.id, now: Self.now)
        #expect(try await store.events(after: head, limit: 10).map(\.event) == [.tokenCreated(id: token.id, role: .viewer), .tokenRevoked(id: token.id)])
        await #expect(throws: DomainError.self) { _ = try await store.createToken(APIToken(name: "", role: .viewer, tokenHash: "w", createdAt: Self.now)) }
    }

    // MARK: Sign-in throttle

    @Test func aFailureIsRecordedUnderEveryKeyOnlyWhileTheRuleAllows() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let since = Self.now.addingTimeInterval(-900)
        let underThree: @Sendable ([Int]) -> Bool = { counts in counts.allSatisfy { $0 < 3 } }
        for index in 0..<3 {
            #expect(try await store.recordSignInFailure(attempt: "a\(index)", keys: ["pair", "client"], at: Self.now, since: since, if: underThree))
        }
        #expect(try await store.recordSignInFailure(attempt: "a3", keys: ["pair", "client"], at: Self.now, since: since, if: underThree) == false)
        #expect(try await store.signInFailures(key: "pair", since: since) == 3)
        #expect(try await store.signInFailures(key: "client", since: since) == 3)
        #expect(try await store.signInFailures(key: "other", since: since) == 0)
    }

    @Test func theRuleSeesCountsPerKeyInTheOrderOfTheKeys() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let since = Self.now.addingTimeInterval(-900)
        _ = try await store.recordSignInFailure(attempt: "x", keys: ["client"], at: Self.now, since: since) { _ in true }
        _ = try await store.recordSignInFailure(attempt: "y", keys: ["client", "third"], at: Self.now, since: since) { _ in true }
        let seen = Seen()
        _ = try await store.recordSignInFailure(attempt: "z", keys: ["pair", "client", "third"], at: Self.now, since: since) { counts in
            seen.set(counts)
            return false
        }
        #expect(seen.value == [0, 2, 1])
    }

    @Test func oldFailuresStopCountingAndArePrunedByTheNextWrite() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        _ = try await store.recordSignInFailure(attempt: "old", keys: ["pair"], at: Self.now, since: Self.now.addingTimeInterval(-900)) { _ in true }
        let later = Self.now.addingTimeInterval(901)
        #expect(try await store.signInFailures(key: "pair", since: later.addingTimeInterval(-900)) == 0)
        #expect(try await store.signInFailures(key: "pair", since: .distantPast) == 1)
        _ = try await store.recordSignInFailure(attempt: "new", keys: ["other"], at: later, since: later.addingTimeInterval(-900)) { _ in true }
        #expect(try await store.signInFailures(key: "pair", since: .distantPast) == 0)
        #expect(try await store.signInFailures(key: "other", since: .distantPast) == 1)
    }

    @Test func clearingForgetsTheAttemptEverywhereAndEverythingUnderThePair() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let since = Self.now.addingTimeInterval(-900)
        _ = try await store.recordSignInFailure(attempt: "1", keys: ["pair", "client"], at: Self.now, since: since) { _ in true }
        _ = try await store.recordSignInFailure(attempt: "2", keys: ["pair", "client"], at: Self.now, since: since) { _ in true }
        _ = try await store.recordSignInFailure(attempt: "3", keys: ["elsewhere", "client"], at: Self.now, since: since) { _ in true }
        try await store.clearSignInFailures(attempt: "2", key: "pair")
        #expect(try await store.signInFailures(key: "pair", since: since) == 0)
        #expect(try await store.signInFailures(key: "client", since: since) == 2)
        #expect(try await store.signInFailures(key: "elsewhere", since: since) == 1)
    }

    @Test func concurrentFailuresNeverPassTheLimit() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let since = Self.now.addingTimeInterval(-900)
        let underFive: @Sendable ([Int]) -> Bool = { counts in counts.allSatisfy { $0 < 5 } }
        let recorded = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<16 {
                group.addTask {
                    try await store.recordSignInFailure(attempt: "a\(index)", keys: ["pair", "client"], at: Self.now, since: since, if: underFive)
                }
            }
            var recorded = 0
            for try await outcome in group where outcome { recorded += 1 }
            return recorded
        }
        #expect(recorded == 5)
        #expect(try await store.signInFailures(key: "pair", since: since) == 5)
        #expect(try await store.signInFailures(key: "client", since: since) == 5)
    }
}

/// Expects `body` to fail with a conflict of this code (as SQLite's store answers it).
private func expectConflict(_ code: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async throws {
    do {
        try await body()
        Issue.record("expected a \(code) conflict, but it succeeded", sourceLocation: sourceLocation)
    } catch let DomainError.conflict(found, _) {
        #expect(found == code, sourceLocation: sourceLocation)
    }
}

/// What a rule closure saw, read back after the store has called it.
private final class Seen: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Int] = []
    func set(_ value: [Int]) { lock.withLock { counts = value } }
    var value: [Int] { lock.withLock { counts } }
}
