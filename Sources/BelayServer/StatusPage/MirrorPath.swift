/// Where a snapshot page lives inside the mirror directory: `/` is `index.html`, a page without an
/// extension gets `.html` (`/incidents/42` is `incidents/42.html`, which a static server finds with
/// `try_files $uri $uri.html`), everything else keeps its path. Strict on purpose: a key only becomes a
/// path when every segment is plain, so no key (incident ids come from the database) can name anything
/// outside the directory, a hidden file or the manifest.
enum MirrorPath {
    /// The not-found page, for a static server's `error_page 404`.
    static let notFoundKey = "not-found"
    static let notFoundFile = "404.html"

    /// The relative path for a snapshot key, or nil when the key is not one a mirror may write.
    static func relativePath(forKey key: String) -> String? {
        if key == notFoundKey { return notFoundFile }
        if key == "/" { return "index.html" }
        guard key.hasPrefix("/") else { return nil }
        let path = String(key.dropFirst())
        guard isSafe(path), !path.hasSuffix(".gz") else { return nil }
        guard let last = path.split(separator: "/").last, !last.contains(".") else { return path }
        return path + ".html"
    }

    /// Whether a relative path (from a key or from the manifest on disk, which anyone could have edited)
    /// stays inside the directory: segments of letters, digits, `-`, `_`, `~` and `.`, none empty, none
    /// starting with a dot (so no `..`, no hidden files), at most 16 deep and 1,024 bytes in all.
    static func isSafe(_ relative: String) -> Bool {
        guard !relative.isEmpty, relative.utf8.count <= 1024 else { return false }
        let segments = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count <= 16 else { return false }
        return segments.allSatisfy { segment in
            guard let first = segment.utf8.first, first != UInt8(ascii: "."), segment.utf8.count <= 255 else { return false }
            return segment.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    true
                case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "."):
                    true
                default:
                    false
                }
            }
        }
    }
}
