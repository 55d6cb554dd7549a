import BelayEgress
import BelayCore
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOSSL

/// Checks a certificate's expiry: one uploaded as `pem`, or one read from `path` at every check (so a
/// renewed file is seen without touching the monitor).
public struct CertificateFileChecker: Checker {
    let connector: Connector
    let access: CertificateFileAccess
    /// Certificate files are small; anything larger is not one.
    static let maxFileSize = 1 << 20

    public init(connector: Connector, access: CertificateFileAccess = .init(directory: nil)) {
        self.connector = connector
        self.access = access
    }

    public func check(_ monitor: Monitor, now: Date) async -> CheckReport {
        let settings = monitor.settings
        let bytes: [UInt8]
        if let pem = settings.pem {
            bytes = Array(pem.utf8)
        } else if let path = settings.path {
            // Checked again at every read: the monitor may predate the directory, or a link may point out of it.
            guard let directory = access.directory, CertificateFileAccess.isWithin(path, directory) else {
                return CheckReport(outcome: .down, message: "\(path) is outside the certificate directory this server may read")
            }
            do {
                bytes = try await connector.runBlocking(deadline: monitor.checkDeadline) { try Self.readFile(path, within: directory) }
            } catch {
                return .down(error, timeoutSeconds: monitor.timeoutSeconds)
            }
        } else {
            return CheckReport(outcome: .down, message: "no certificate: give pem or path")
        }
        guard let certificate = Self.firstCertificate(bytes) else {
            return CheckReport(outcome: .down, message: settings.pem == nil ? "\(settings.path ?? "the file") holds no certificate" : "pem holds no certificate")
        }
        return CertificateExpiry.report(
            notValidBefore: certificate.notValidBefore, notValidAfter: certificate.notValidAfter, now: now,
            warnDays: settings.warnDays ?? MonitorSettings.defaultWarnDays
        )
    }

    /// Blocking: reads the whole file, refusing anything over `maxFileSize` and any file whose real path,
    /// links resolved, is not under `directory`'s real path.
    static func readFile(_ path: String, within directory: String) throws -> [UInt8] {
        guard let realFile = realpath(path, nil), let realDirectory = realpath(directory, nil) else {
            throw ConnectionFailure.failed("cannot read \(path): \(ConnectionFailure.describe(errno: errno))")
        }
        defer {
            free(realFile)
            free(realDirectory)
        }
        guard CertificateFileAccess.isWithin(String(cString: realFile), String(cString: realDirectory)) else {
            throw ConnectionFailure.failed("\(path) leads outside the certificate directory this server may read")
        }
        let descriptor = open(realFile, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { throw ConnectionFailure.failed("cannot read \(path): \(ConnectionFailure.describe(errno: errno))") }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ConnectionFailure.failed("cannot read \(path): \(ConnectionFailure.describe(errno: errno))")
            }
            if count == 0 { return bytes }
            bytes += chunk[..<count]
            guard bytes.count <= maxFileSize else { throw ConnectionFailure.failed("\(path) is larger than 1 MiB, not a certificate") }
        }
    }

    /// The first certificate of a PEM bundle, or of DER bytes.
    static func firstCertificate(_ bytes: [UInt8]) -> NIOSSLCertificate? {
        if bytes.count < maxFileSize, let pem = try? NIOSSLCertificate.fromPEMBytes(bytes), let first = pem.first { return first }
        return try? NIOSSLCertificate(bytes: bytes, format: .der)
    }
}
