import BelayCore

/// `/app/users`: every account with its role and state, and the form to invite someone.
struct UsersPage: AppPage {
    static let template = "users"
    var chrome: AppChrome
    var users: [Row]
    var roleOptions: [Choice]
    /// The invitation just made, shown in this one answer only.
    var inviteLink: String?

    struct Row {
        var id: String
        var name: String
        var email: String
        var role: String
        var isDisabled: Bool
        var isInvited: Bool
        /// An admin cannot disable their own account from here.
        var isMe: Bool
        var roles: [Choice]
    }
}

extension UsersPage {
    init(chrome: AppChrome, users: [User], me: Int64?, inviteLink: String? = nil) {
        self.init(
            chrome: chrome,
            users: users.map { user in
                Row(
                    id: String(user.id), name: user.name, email: user.email, role: user.role.rawValue, isDisabled: user.isDisabled,
                    isInvited: !user.hasPassword, isMe: user.id == me, roles: Choice.roles(selecting: user.role))
            },
            roleOptions: Choice.roles(selecting: .responder), inviteLink: inviteLink)
    }
}
