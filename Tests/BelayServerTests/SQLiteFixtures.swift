import BelaySQLite
import BelayTestSupport
import Foundation

extension Fixtures {
    /// A database file in a fresh directory, opened exactly as `belay serve` opens it.
    static func fileDatabase() throws -> (AppDatabase, URL) {
        let directory = try temporaryDirectory()
        return (try AppDatabase.open(directory: directory), directory)
    }
}
