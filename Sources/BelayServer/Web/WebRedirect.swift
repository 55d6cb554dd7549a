import Hummingbird

/// Sends the browser elsewhere with 303 See Other (after a POST, or to sign in).
struct WebRedirect: Error {
    var location: String
    var cookies: [Cookie] = []
}
