import BelayCore

/// The signed-in user in the header, and what their role lets the page offer.
struct UserBar {
    var name: String
    var role: String
    var isAdmin: Bool
    var isResponder: Bool

    init(_ user: User) {
        name = user.name
        role = user.role.rawValue
        isAdmin = user.role == .admin
        isResponder = user.role.allows(.responder)
    }
}
