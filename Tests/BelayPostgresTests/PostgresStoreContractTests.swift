import BelayCore
import BelayPostgres
import BelayTestSupport
import Foundation
import Testing

/// The store contract suite against PostgreSQL: the same contracts SQLite passes, on a fresh schema each.
@Suite(.enabled(if: TestDatabase.isAvailable, "needs BELAY_TEST_POSTGRES_URL"))
struct PostgresStoreContractTests {
    static let factories = [StoreFactory("postgres") { try await TestDatabase.makeStore() }]

    @Test(arguments: factories, StoreContract.all)
    func contract(_ factory: StoreFactory, _ contract: StoreContract) async throws {
        try await contract.run(on: factory)
    }
}
