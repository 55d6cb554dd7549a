@testable import BelayServer
import Testing

struct TokenSecretsTests {
    @Test func aKeyHashIsTheStandardSHA256TextSoStoredHashesStillMatch() {
        // Token and integration key hashes in existing databases were written with String(format: "%02x").
        #expect(TokenSecrets.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
