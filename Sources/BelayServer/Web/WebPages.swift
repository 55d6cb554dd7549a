import BelayCore
import Foundation
import Hummingbird

/// Values every app page shows: who is signed in, what they may do, and the CSRF token for forms.
enum WebPages {
    static func base(_ context: AppRequestContext, title: String) -> [String: Any] {
        var page: [String: Any] = ["title": title, "signedIn": context.user != nil]
        if let user = context.user {
            page["userName"] = user.name
            page["userRole"] = user.role.rawValue
            page["isAdmin"] = user.role == .admin
            page["isResponder"] = user.role.allows(.responder)
        }
        page["csrf"] = context.session?.csrfToken ?? ""
        return page
    }

    /// The base page plus the reason a refused form gave, carried back in `?error=`.
    static func base(_ context: AppRequestContext, _ request: Request, title: String) -> [String: Any] {
        var page = base(context, title: title)
        page["error"] = request.uri.queryParameters["error"].map(String.init)
        return page
    }

    /// "2026-11-21T16:21" for datetime-local inputs, in UTC.
    static func localInput(_ date: Date?) -> String {
        guard let date else { return "" }
        return String(BelayJSON.formatDate(date).prefix(16))
    }

    /// Reads a datetime-local value as UTC.
    static func parseLocalInput(_ text: String, field: String) throws -> Date {
        let full = text.count == 16 ? text + ":00Z" : (text.hasSuffix("Z") ? text : text + "Z")
        guard let date = BelayJSON.parseDate(full) else {
            throw DomainError.invalid(field: field, message: "must be a date and time like 2026-11-21T16:21 (UTC)")
        }
        return date
    }

    static func when(_ date: Date) -> String { UTCTime.when(date) }
}
