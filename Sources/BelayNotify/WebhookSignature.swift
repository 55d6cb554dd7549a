import Crypto
import Foundation

/// Standard Webhooks signatures: `v1,` and the base64 HMAC-SHA256, keyed by the secret's bytes, of
/// "{webhook-id}.{webhook-timestamp}.{body}". Secrets are `whsec_` and base64 of random bytes.
public enum WebhookSignature {
    public static let secretPrefix = "whsec_"

    /// A new secret: 32 random bytes.
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return secretPrefix + Data(bytes).base64EncodedString()
    }

    /// The key a secret stands for, or nil when it is not a `whsec_` base64 secret.
    public static func key(_ secret: String) -> SymmetricKey? {
        guard secret.hasPrefix(secretPrefix), let bytes = Data(base64Encoded: String(secret.dropFirst(secretPrefix.count))),
              (16...128).contains(bytes.count)
        else { return nil }
        return SymmetricKey(data: bytes)
    }

    /// The `webhook-signature` header value: one `v1,` signature per secret, separated by spaces.
    public static func header(id: String, timestamp: Int, body: Data, secrets: [String]) -> String {
        var signed = Data("\(id).\(timestamp).".utf8)
        signed.append(body)
        return secrets.compactMap(key).map { key in
            "v1," + Data(HMAC<SHA256>.authenticationCode(for: signed, using: key)).base64EncodedString()
        }.joined(separator: " ")
    }
}
