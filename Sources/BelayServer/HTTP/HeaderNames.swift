import HTTPTypes

/// Header names HTTPTypes does not define, made once from literals; no request data reaches them.
extension HTTPField.Name {
    static let xContentTypeOptions = literal("X-Content-Type-Options")
    static let referrerPolicy = literal("Referrer-Policy")
    static let xFrameOptions = literal("X-Frame-Options")
    static let xAccelBuffering = literal("X-Accel-Buffering")
    static let xForwardedFor = literal("X-Forwarded-For")
    static let forwarded = literal("Forwarded")

    /// A name from a literal. The literals above are valid tokens, so the fallback never happens; it is
    /// there so nothing here can end the process, and `HeaderNamesTests` checks every name is its literal.
    static func literal(_ text: String) -> Self { Self(text) ?? .via }
}
