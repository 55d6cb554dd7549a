import BelayCore

/// `/app/tokens`: API tokens, and the form to create one.
struct TokensPage: AppPage {
    static let template = "tokens"
    var chrome: AppChrome
    var tokens: [Row]
    var roleOptions: [Choice]
    /// The secret of a token just made, shown in this one answer only.
    var newToken: String?
    var newTokenName: String?

    struct Row {
        var id: String
        var name: String
        var role: String
        var created: String
        var revoked: String
        var isRevoked: Bool
    }
}

extension TokensPage {
    init(chrome: AppChrome, tokens: [APIToken], newToken: String? = nil, newTokenName: String? = nil) {
        self.init(
            chrome: chrome,
            tokens: tokens.map { token in
                Row(
                    id: String(token.id), name: token.name, role: token.role.rawValue, created: UTCTime.when(token.createdAt),
                    revoked: token.revokedAt.map(UTCTime.when) ?? "", isRevoked: token.isRevoked)
            },
            roleOptions: Choice.roles(selecting: .responder), newToken: newToken, newTokenName: newTokenName)
    }
}
