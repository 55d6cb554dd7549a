import BelayCore
import Foundation

/// Helpers that give each test its own real SQLite database in a fresh temporary folder.
public enum Fixtures {
    /// A new, empty temporary directory; the caller may delete it when done.
    public static func temporaryDirectory(_ name: String = "belay-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    public static func component(_ slug: String, group: String? = nil, dependsOn: [String] = [], at date: Date) -> Component {
        Component(slug: slug, name: slug.capitalized, group: group, dependsOn: dependsOn, createdAt: date, updatedAt: date)
    }

    /// Adds the components of a small service: a database, an API on it, a website and exports on the API.
    @discardableResult
    public static func seedComponents(_ store: some BelayStore, at date: Date) async throws -> [Component] {
        var created: [Component] = []
        for component in [
            component("database", group: "Core", at: date), component("api", group: "Core", dependsOn: ["database"], at: date),
            component("website", group: "Web", dependsOn: ["api"], at: date), component("exports", group: "Web", dependsOn: ["api"], at: date),
        ] {
            created.append(try await store.createComponent(component))
        }
        return created
    }

    /// Text meant to break out of HTML, attributes, JSON, XML and scripts if anything forgets to escape it.
    public static let hostileStrings = [
        "<script>alert('x')</script>",
        "\"><img src=x onerror=alert(1)>",
        "'><svg onload=alert(1)>",
        "]]></content><script>alert(2)</script>",
        "&lt;b&gt; & <b>bold</b> {{title}} {{{raw}}}",
        "javascript:alert(3)",
    ]
}
