import Foundation

/// Finds the folder of templates, assets and the OpenAPI document shipped with the server.
enum ServerResources {
    enum Missing: Error, CustomStringConvertible {
        case folder
        var description: String { "the BelayServer resource bundle (templates, assets) was not found next to the executable" }
    }

    /// Foundation on Linux and on Darwin disagree on whether `resourceURL` already ends in Resources,
    /// so look in both places for the folder we copied.
    static func directory() throws -> URL {
        let candidates = [
            Bundle.module.resourceURL, Bundle.module.resourceURL?.appendingPathComponent("Resources"),
            Bundle.module.bundleURL.appendingPathComponent("Resources"),
        ].compactMap { $0 }
        for candidate in candidates
        where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("Templates/status/home.mustache").path) {
            return candidate
        }
        throw Missing.folder
    }
}
