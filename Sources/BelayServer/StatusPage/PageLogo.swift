import Foundation

/// The status page's logo (`--page-logo`): an https address the page links to, or a local image Belay
/// reads once at start and serves itself under /assets.
public enum PageLogo: Sendable, Equatable {
    /// `origin` (scheme, host, port) is added to the page's `img-src`, and nothing else is.
    case remote(url: String, origin: String)
    case file(path: String, bytes: [UInt8], kind: Kind)

    public enum Kind: String, Sendable, Equatable {
        case png, jpeg, svg

        var contentType: String {
            switch self {
            case .png: "image/png"
            case .jpeg: "image/jpeg"
            case .svg: "image/svg+xml"
            }
        }

        var fileExtension: String { self == .jpeg ? "jpg" : rawValue }
    }

    /// Larger logos are refused: the page is what a stampede hits, and a logo is an icon.
    public static let maximumBytes = 512 * 1024

    /// Read at start so a bad value stops Belay with a message instead of drawing a broken page.
    public static func parse(_ value: String) throws -> PageLogo {
        let text = value.trimmingCharacters(in: .whitespaces)
        let lowered = text.lowercased()
        if lowered.hasPrefix("http://") {
            throw ConfigurationLoader.Invalid(description: "must be an https address or a PNG, JPEG or SVG file (got an http address)")
        }
        if lowered.hasPrefix("https://") { return try remote(text) }
        if lowered.contains("://") {
            throw ConfigurationLoader.Invalid(description: "must be an https address or a PNG, JPEG or SVG file (got '\(text)')")
        }
        return try file(text)
    }

    static func remote(_ text: String) throws -> PageLogo {
        // The address goes into an attribute and its origin into the CSP header: allow only what a URL
        // needs, so neither can be broken out of.
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,=%")
            .subtracting(CharacterSet(charactersIn: "'"))
        guard text.count <= 2000, text.unicodeScalars.allSatisfy(allowed.contains), let url = URLComponents(string: text),
              url.scheme?.lowercased() == "https", let host = url.host, !host.isEmpty,
              host.unicodeScalars.allSatisfy({ CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-").contains($0) }),
              url.user == nil, url.password == nil
        else {
            throw ConfigurationLoader.Invalid(description: "must be an https address such as https://example.com/logo.svg (got '\(text)')")
        }
        let origin = "https://\(host.lowercased())" + (url.port.map { ":\($0)" } ?? "")
        return .remote(url: text, origin: origin)
    }

    static func file(_ path: String) throws -> PageLogo {
        let url = URL(fileURLWithPath: path)
        let size = ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.intValue
        guard let size, let handle = FileHandle(forReadingAtPath: url.path) else {
            throw ConfigurationLoader.Invalid(description: "cannot read the logo file '\(path)'")
        }
        defer { try? handle.close() }
        guard size <= maximumBytes else {
            throw ConfigurationLoader.Invalid(description: "the logo file '\(path)' is \(size / 1024) KB; at most \(maximumBytes / 1024) KB")
        }
        let bytes = Array((try? handle.read(upToCount: maximumBytes + 1)) ?? Data())
        guard !bytes.isEmpty, bytes.count <= maximumBytes, let kind = kind(of: bytes) else {
            throw ConfigurationLoader.Invalid(description: "the logo file '\(path)' is not a PNG, JPEG or SVG image")
        }
        return .file(path: path, bytes: bytes, kind: kind)
    }

    /// What the bytes are, by their signature, never by the file's name.
    static func kind(of bytes: [UInt8]) -> Kind? {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        // SVG is text: an XML prolog, comments or a doctype may come before the root element.
        guard let text = String(validating: bytes.prefix(4096), as: UTF8.self) else { return nil }
        let head = text.lowercased()
        if let root = head.range(of: "<svg"), head[..<root.lowerBound].range(of: "<html") == nil { return .svg }
        return nil
    }

    /// The address the page's `<img>` uses.
    func source(version: String) -> String {
        switch self {
        case .remote(let url, _): url
        case .file(_, _, let kind): "\(Self.assetPath(kind))?v=\(version)"
        }
    }

    static func assetPath(_ kind: Kind) -> String { "/assets/logo.\(kind.fileExtension)" }

    /// What `--print-config` shows.
    var summary: String {
        switch self {
        case .remote(let url, _): url
        case .file(let path, let bytes, let kind): "\(path) (\(kind.rawValue), \(bytes.count) bytes)"
        }
    }

    /// An SVG is a document that can carry scripts. In an `<img>` they never run, but someone may open
    /// /assets/logo.svg directly; this policy makes it inert there too (no script, no fetch, sandboxed).
    static let svgContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
}
