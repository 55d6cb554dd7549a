import BelayEgress
import BelayCore
import BelayFormats
import BelayMonitoring
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

enum Fixtures {
    /// The policy every networked test uses: the defaults, with the test servers' address allowed.
    static let localPolicy = EgressPolicy(allow: [try! CIDR(parsing: "127.0.0.1/32")])

    static func checkers(_ policy: EgressPolicy = localPolicy, certificateDirectory: String? = nil) -> Checkers {
        Checkers(group: MultiThreadedEventLoopGroup.singleton, egress: policy, certificateFiles: CertificateFileAccess(directory: certificateDirectory))
    }

    /// The default timeout is generous on purpose: a debug build's TLS handshakes on a machine whose cores
    /// are all busy can take seconds, and a test that wants a timeout sets its own.
    static func monitor(_ kind: MonitorKind, _ settings: MonitorSettings, timeout: Int = 30, interval: Int = 60, createdAt: Date = Date()) -> Monitor {
        Monitor(id: 1, name: "test", kind: kind, settings: settings, intervalSeconds: interval, timeoutSeconds: timeout, createdAt: createdAt, updatedAt: createdAt)
    }

    /// A port nothing listens on: bound, read, and closed again.
    static func closedPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        return port
    }
}

/// A self-signed certificate and key made with openssl for one test, in a temporary directory.
struct TestCertificate {
    let directory: URL
    let certificatePEM: String
    let keyPEM: String
    var certificatePath: String { directory.appendingPathComponent("cert.pem").path }

    /// - Parameter days: validity from now; negative makes one that has already expired.
    init(days: Int, names: String = "DNS:localhost,IP:127.0.0.1") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("belay-cert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let key = directory.appendingPathComponent("key.pem").path
        let request = directory.appendingPathComponent("request.csr").path
        let extensions = directory.appendingPathComponent("ext.cnf").path
        try "subjectAltName=\(names)\nbasicConstraints=critical,CA:TRUE\nkeyUsage=digitalSignature,keyCertSign\n".write(toFile: extensions, atomically: true, encoding: .utf8)
        try Self.openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                          "-keyout", key, "-subj", "/CN=localhost", "-out", request])
        try Self.openssl(["x509", "-req", "-in", request, "-signkey", key, "-days", String(days),
                          "-extfile", extensions, "-out", directory.appendingPathComponent("cert.pem").path])
        certificatePEM = try String(contentsOfFile: directory.appendingPathComponent("cert.pem").path, encoding: .utf8)
        keyPEM = try String(contentsOfFile: key, encoding: .utf8)
    }

    func serverContext() throws -> NIOSSLContext {
        let certificate = try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem)
        let key = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
        return try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: [.certificate(certificate)], privateKey: .privateKey(key)))
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw OpenSSLFailed(arguments: arguments) }
    }

    struct OpenSSLFailed: Error { var arguments: [String] }
}
