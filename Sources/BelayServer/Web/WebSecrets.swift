import BelayCore
import Hummingbird

/// Shared secrets and cookies for the web app.
enum WebSecrets {
    static let sessionCookie = "belay_session"
    static let formCookie = "belay_form"
    static let setupCookie = "belay_setup"

    static func random() -> String { String(TokenSecrets.generate().dropFirst(TokenSecrets.prefix.count)) }

    /// Constant-time comparison, so response timing does not reveal how much of a token matched.
    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }

    static func cookie(_ name: String, _ value: String, maxAge: Int?, secure: Bool) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    static func expired(_ name: String, secure: Bool) -> Cookie {
        Cookie(name: name, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }
}
