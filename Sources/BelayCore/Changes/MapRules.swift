import Foundation

/// What may be added to, changed on and removed from the dependency map. Pure: a backend loads the map,
/// asks, and stores only what passes.
extension DependencyMap {
    /// A new or changed component: its slug must not clash with another component or node, and its edges must
    /// point at things on the map without making a cycle. `map` holds every slug with its dependencies.
    public static func checkComponent(_ component: Component, isNew: Bool, map: [String: [String]]) throws {
        var others = map
        if isNew {
            guard map[component.slug] == nil else {
                throw DomainError.conflict(code: "already_exists", message: "component or map node '\(component.slug)' already exists")
            }
        } else {
            others.removeValue(forKey: component.slug)
        }
        try component.validate(against: others)
    }

    /// A new or changed infrastructure node: its own slug, and edges only to other nodes, without a cycle.
    public static func checkNode(_ node: MapNode, components: Set<String>, nodes: [String: [String]]) throws {
        try Validate.slug(node.slug)
        try Validate.text(node.name, field: "name", max: 120)
        if components.contains(node.slug) {
            throw DomainError.conflict(code: "already_exists", message: "'\(node.slug)' is a component; a map node needs its own slug")
        }
        guard Set(node.dependsOn).count == node.dependsOn.count else { throw DomainError.invalid(field: "dependsOn", message: "lists a node twice") }
        for dependency in node.dependsOn {
            guard nodes[dependency] != nil, dependency != node.slug else {
                throw DomainError.invalid(field: "dependsOn", message: "'\(dependency.prefix(80))' is not another map node (nodes depend only on nodes)")
            }
        }
        var graph = nodes
        graph[node.slug] = node.dependsOn
        var stack = node.dependsOn
        var visited = Set<String>()
        while let next = stack.popLast() {
            if next == node.slug { throw DomainError.invalid(field: "dependsOn", message: "would create a dependency cycle through '\(node.slug)'") }
            if visited.insert(next).inserted { stack.append(contentsOf: graph[next] ?? []) }
        }
    }

    /// A component or node may go only when nothing depends on it.
    public static func checkRemoval(of slug: String, dependents: [String]) throws {
        guard dependents.isEmpty else {
            throw DomainError.conflict(code: "in_use", message: "'\(slug)' is a dependency of \(dependents.joined(separator: ", ")); remove those edges first")
        }
    }

    /// A component named by incidents or maintenance keeps its history, so it cannot be deleted.
    public static func checkComponentRemoval(of slug: String, dependents: [String], incidents: Int, maintenances: Int) throws {
        try checkRemoval(of: slug, dependents: dependents)
        guard incidents + maintenances == 0 else {
            throw DomainError.conflict(
                code: "in_use",
                message: "component '\(slug)' is named by \(incidents) incident(s) and \(maintenances) maintenance window(s); its history would be lost")
        }
    }
}

/// Belay must always keep a way in: someone (or some token) who can administer it.
public enum AdminRule {
    /// Refuses a change that takes away the last active admin. `activeAdmins` counts the admins now, the one
    /// changing included.
    public static func check(losesAdmin: Bool, activeAdmins: Int, what: What) throws {
        guard losesAdmin, activeAdmins <= 1 else { return }
        switch what {
        case .user:
            throw DomainError.conflict(code: "last_admin", message: "this is the last active admin; make someone else admin first")
        case .token:
            throw DomainError.conflict(code: "last_admin", message: "this is the last admin token; create another admin token before revoking it")
        }
    }

    public enum What: Sendable { case user, token }

    /// Whether saving `after` over `before` takes an active admin away (a role change or disabling).
    public static func losesAdmin(before: User, after: User) -> Bool {
        before.role == .admin && before.disabledAt == nil && (after.role != .admin || after.disabledAt != nil)
    }

    /// Refuses revoking the last active admin token. `activeAdminTokens` counts them now, `token` included.
    public static func check(revoking token: APIToken, activeAdminTokens: Int) throws {
        guard !token.isRevoked else { return }
        try check(losesAdmin: token.role == .admin, activeAdmins: activeAdminTokens, what: .token)
    }

    /// Refuses a user change that leaves no active admin. `activeAdmins` is only read when it could.
    public static func check(before: User, after: User, activeAdmins: () throws -> Int) throws {
        guard losesAdmin(before: before, after: after) else { return }
        try check(losesAdmin: true, activeAdmins: try activeAdmins(), what: .user)
    }
}
