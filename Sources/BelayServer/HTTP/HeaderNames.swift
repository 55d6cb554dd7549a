import HTTPTypes

/// Header names HTTPTypes does not define, made once from literals (the only failable `HTTPField.Name` inits in
/// Belay; no request data reaches them).
extension HTTPField.Name {
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
    static let xFrameOptions = Self("X-Frame-Options")!
    static let xAccelBuffering = Self("X-Accel-Buffering")!
    static let xForwardedFor = Self("X-Forwarded-For")!
    static let forwarded = Self("Forwarded")!
}
