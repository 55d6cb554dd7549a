import BelayCore
import Foundation
import Testing

/// The domain rules a store applies from Core: the contracts prove each backend asks them.
extension StoreContract {
    static let rules: [StoreContract] = [
        StoreContract("the dependency map refuses cycles, clashes and removing what others depend on") { store in
            _ = try await store.createComponent(ContractFixtures.component("db"))
            _ = try await store.createComponent(ContractFixtures.component("api", dependsOn: ["db"]))
            await #expect(throws: DomainError.self) { _ = try await store.createComponent(ContractFixtures.component("api")) }
            await #expect(throws: DomainError.self) { _ = try await store.updateComponent(slug: "db") { $0.dependsOn = ["api"] } }
            await #expect(throws: DomainError.self) { try await store.deleteComponent(slug: "db") }
            _ = try await store.saveNode(MapNode(slug: "vpc", name: "VPC", kind: .network))
            await #expect(throws: DomainError.self) { _ = try await store.saveNode(MapNode(slug: "api", name: "API", kind: .network)) }
            await #expect(throws: DomainError.self) {
                _ = try await store.saveNode(MapNode(slug: "vpc", name: "VPC", kind: .network, dependsOn: ["vpc"]))
            }
            #expect(try await store.components().map(\.slug).sorted() == ["api", "db"])
        },
        StoreContract("the last admin token and the last admin user cannot be taken away") { store in
            let token = try await store.createToken(APIToken(name: "root", role: .admin, tokenHash: "h1", createdAt: ContractFixtures.now))
            await #expect(throws: DomainError.self) { _ = try await store.revokeToken(id: token.id, now: ContractFixtures.now) }
            let second = try await store.createToken(APIToken(name: "spare", role: .admin, tokenHash: "h2", createdAt: ContractFixtures.now))
            _ = try await store.revokeToken(id: token.id, now: ContractFixtures.now)
            await #expect(throws: DomainError.self) { _ = try await store.revokeToken(id: second.id, now: ContractFixtures.now) }

            let admin = try await store.createUser(
                User(name: "Dana", email: "dana@example.com", role: .admin, createdAt: ContractFixtures.now, updatedAt: ContractFixtures.now))
            await #expect(throws: DomainError.self) {
                _ = try await store.updateUser(id: admin.id, keepingSession: nil) { $0.role = .viewer }
            }
            #expect(try await store.user(id: admin.id)?.role == .admin)
        },
        StoreContract("an invitation is made with its user or not at all") { store in
            let now = ContractFixtures.now
            let (user, invitation) = try await store.inviteUser(
                User(name: "Sam", email: "sam@example.com", role: .responder, createdAt: now, updatedAt: now), tokenHash: "invite-1",
                expiresAt: now.addingTimeInterval(86400))
            #expect(try await store.invitation(tokenHash: "invite-1") == invitation)
            #expect(invitation.userID == user.id)
            // A second user with the same email fails whole: no invitation is left behind.
            await #expect(throws: DomainError.self) {
                _ = try await store.inviteUser(
                    User(name: "Sam again", email: "SAM@example.com", role: .viewer, createdAt: now, updatedAt: now), tokenHash: "invite-2",
                    expiresAt: now.addingTimeInterval(86400))
            }
            #expect(try await store.invitation(tokenHash: "invite-2") == nil)
            #expect(try await store.userCount() == 1)
        },
    ]
}

extension StoreContract {
    static let accounts: [StoreContract] = [
        StoreContract("disabling a user ends their sessions and says so in the log") { store in
            let now = ContractFixtures.now
            _ = try await store.createUser(User(name: "Root", email: "root@example.com", role: .admin, createdAt: now, updatedAt: now))
            let user = try await store.createUser(User(name: "Sam", email: "sam@example.com", role: .responder, createdAt: now, updatedAt: now))
            _ = try await store.createSession(WebSession(tokenHash: "s1", userID: user.id, csrfToken: "c", createdAt: now, lastSeenAt: now))
            let head = try await store.eventHead()
            _ = try await store.updateUser(id: user.id, keepingSession: nil) { $0.disabledAt = now }
            #expect(try await store.session(tokenHash: "s1") == nil)
            #expect(try await store.events(after: head, limit: 10).map(\.event) == [.userUpdated(id: user.id), .sessionEnded(userID: user.id)])
        },
        StoreContract("a maintenance window started by hand is a status change, not an edit") { store in
            _ = try await store.createComponent(ContractFixtures.component("db"))
            let now = Date()
            let window = try await store.scheduleMaintenance(
                MaintenanceDraft(title: "Upgrade", components: ["db"], scheduledStart: now.addingTimeInterval(3600), scheduledEnd: now.addingTimeInterval(7200)),
                author: "a", now: now)
            let head = try await store.eventHead()
            _ = try await store.updateMaintenance(id: window.id) { try $0.transition(to: .inProgress, message: nil, author: "a", now: now) }
            #expect(try await store.events(after: head, limit: 10).map(\.event) == [
                .maintenanceStatusChanged(id: window.id, from: .scheduled, to: .inProgress),
                .maintenanceUpdatePosted(id: window.id, status: .inProgress),
                .componentStatusChanged(slug: "db", from: .operational, to: .underMaintenance),
            ])
        },
    ]
}
