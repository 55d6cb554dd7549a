import Foundation

/// The one check for every link that arrives from outside (alert sources, runbooks, client URLs) before
/// it is stored: only absolute http and https URLs with a host, so no `javascript:` or `data:` link can
/// ever be rendered as an href.
public enum ExternalLink {
    public static let maxLength = 2048

    /// The link if it is safe to store and render, else nil.
    public static func validated(_ text: String) -> String? {
        guard !text.isEmpty, text.utf8.count <= maxLength else { return nil }
        // Whitespace and controls are how scheme checks get fooled ("java\tscript:", " javascript:").
        guard !text.unicodeScalars.contains(where: { $0.value <= 0x20 || (0x7F...0x9F).contains($0.value) }) else { return nil }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else { return nil }
        return text
    }
}
