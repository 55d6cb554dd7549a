import BelayCore
import BelaySQLite
import BelayTestSupport
import Foundation
import Testing

/// The store contract suite against SQLite, on a file (as `belay serve` runs it) and in memory.
@Suite struct SQLiteStoreContractTests {
    static let factories = [
        StoreFactory("sqlite-file") { try Fixtures.fileDatabase().0 },
        StoreFactory("sqlite-memory") { try AppDatabase.inMemory() },
    ]

    @Test(arguments: factories, StoreContract.all)
    func contract(_ factory: StoreFactory, _ contract: StoreContract) async throws {
        try await contract.run(on: factory)
    }
}
