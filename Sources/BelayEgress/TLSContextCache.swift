import Foundation
import NIOSSL

/// TLS client contexts, built once and shared. Building one loads the system trust store, far too slow to
/// repeat for every check; a context is thread-safe and serves any number of connections.
package final class TLSContextCache: @unchecked Sendable {
    package init() {}

    package enum Verification: Hashable {
        /// Chain against the system roots (plus the monitor's `caPEM`), and the host name.
        case full
        /// Nothing verified: used only to read a certificate that failed, to say why.
        case none
    }

    private struct Key: Hashable {
        var verification: Verification
        var caPEM: String?
    }

    private let lock = NSLock()
    private var contexts: [Key: NIOSSLContext] = [:]
    /// Distinct `caPEM` values are few in practice; the bound only stops an unbounded growth.
    private let limit = 256

    package func context(_ verification: Verification, caPEM: String? = nil) throws -> NIOSSLContext {
        let key = Key(verification: verification, caPEM: caPEM)
        if let context = lock.withLock({ contexts[key] }) { return context }
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch verification {
        case .full:
            configuration.certificateVerification = .fullVerification
            if let caPEM {
                let roots: [NIOSSLCertificate]
                do { roots = try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)) } catch {
                    throw ConnectionFailure.failed("caPEM is not a valid PEM certificate")
                }
                guard !roots.isEmpty else { throw ConnectionFailure.failed("caPEM holds no certificate") }
                configuration.additionalTrustRoots = [.certificates(roots)]
            }
        case .none:
            configuration.certificateVerification = .none
        }
        let context = try NIOSSLContext(configuration: configuration)
        lock.withLock {
            if contexts.count >= limit { contexts.removeAll() }
            contexts[key] = context
        }
        return context
    }

    /// A context trusting only `certificate`, to tell a self-signed certificate from one by an unknown issuer.
    package func trustingOnly(_ certificate: NIOSSLCertificate) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates([certificate])
        configuration.certificateVerification = .noHostnameVerification
        return try NIOSSLContext(configuration: configuration)
    }
}
