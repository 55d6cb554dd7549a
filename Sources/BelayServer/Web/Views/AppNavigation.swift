/// The app's main navigation: the sections everyone sees, then the admin's, with the current one marked.
struct NavLink {
    var href: String
    var label: String
    var isCurrent: Bool
}

extension NavLink {
    /// `template` is the page's template, which names its section; admin links only for admins.
    static func sections(for user: UserBar?, template: String) -> (main: [NavLink], admin: [NavLink]) {
        guard let user else { return ([], []) }
        let main: [(String, String, Set<String>)] = [
            ("/app", "Incidents", ["home", "war-room", "declare"]),
            ("/app/components", "Components", ["components", "component"]),
            ("/app/maintenance", "Maintenance", ["maintenance"]),
            ("/app/monitors", "Monitors", ["monitors", "monitor"]),
            ("/app/changes", "Changes", ["changes"]),
            ("/app/map", "Map", ["map"]),
        ]
        let admin: [(String, String, Set<String>)] = [
            ("/app/integrations", "Integrations", ["integrations"]),
            ("/app/notifications", "Notifications", ["notifications"]),
            ("/app/users", "Users", ["users"]),
            ("/app/tokens", "API tokens", ["tokens"]),
        ]
        func links(_ items: [(String, String, Set<String>)]) -> [NavLink] {
            items.map { NavLink(href: $0.0, label: $0.1, isCurrent: $0.2.contains(template)) }
        }
        return (links(main), user.isAdmin ? links(admin) : [])
    }
}
