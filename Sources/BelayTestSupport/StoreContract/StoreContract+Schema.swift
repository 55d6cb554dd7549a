import BelayCore
import Foundation
import Testing

/// The schema a store reports against the migrations its binary knows (what `/readyz` reads).
extension StoreContract {
    static let schema: [StoreContract] = [
        StoreContract("a migrated store has every migration its binary knows applied, and no other") { store in
            let status = try await store.migrationStatus()
            #expect(status.known.first == "v1-foundation")
            #expect(status.applied == Set(status.known))
            #expect(status.pending.isEmpty)
            #expect(status.unknown.isEmpty)
            #expect(status.isUpToDate)
        }
    ]
}
