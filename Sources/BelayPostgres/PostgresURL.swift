import Foundation
import NIOSSL
import PostgresNIO

/// `postgres://user:password@host:port/database?sslmode=...&sslrootcert=...` (libpq's URL form) as a
/// client configuration. Errors name what is wrong and never repeat the password.
public struct PostgresURL: Sendable {
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    public var rootCertificate: String?
    /// Set when `host` names a directory holding the server's Unix socket (`?host=/run/postgresql`).
    public var socketPath: String?

    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public static func parse(_ text: String) throws -> PostgresURL {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "postgres" || scheme == "postgresql"
        else { throw Invalid(description: "the database URL must look like postgres://user:password@host:5432/database") }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        let known: Set<String> = ["sslmode", "sslrootcert", "host", "port", "user", "password", "dbname"]
        if let unknown = query.keys.sorted().first(where: { !known.contains($0) }) {
            throw Invalid(description: "the database URL has an unknown parameter \"\(unknown)\" (known: \(known.sorted().joined(separator: ", ")))")
        }
        let mode = query["sslmode"] ?? "prefer"
        guard let sslMode = SSLMode(rawValue: mode) else {
            throw Invalid(description: "sslmode \"\(mode)\" is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let socketDirectory = query["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        let host = query["host"].flatMap { $0.hasPrefix("/") ? nil : $0 } ?? components.host ?? ""
        guard socketDirectory != nil || !host.isEmpty else { throw Invalid(description: "the database URL names no host") }
        let port = try query["port"].map { text -> Int in
            guard let port = Int(text), (1...65535).contains(port) else { throw Invalid(description: "the database port \"\(text)\" is not a port number") }
            return port
        } ?? components.port ?? 5432
        guard (1...65535).contains(port) else { throw Invalid(description: "the database port \(port) is not a port number") }
        let username = query["user"] ?? components.user ?? ""
        guard !username.isEmpty else { throw Invalid(description: "the database URL names no user (postgres://USER@host/database)") }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let database = query["dbname"] ?? (path.isEmpty ? username : path)
        return PostgresURL(
            host: host, port: port, username: username, password: query["password"] ?? components.password, database: database,
            sslMode: sslMode, rootCertificate: query["sslrootcert"].flatMap { $0.isEmpty ? nil : $0 },
            socketPath: socketDirectory.map { "\($0)/.s.PGSQL.\(port)" })
    }

    /// The URL as it may be shown: the password replaced.
    public var redacted: String {
        let credentials = password == nil ? username : "\(username):***"
        return "postgres://\(credentials)@\(socketPath ?? "\(host):\(port)")/\(database)?sslmode=\(sslMode.rawValue)"
    }

    /// libpq's meanings: prefer tries TLS and falls back, require insists but (without a root certificate)
    /// does not verify, verify-ca checks the chain, verify-full also the host name. Nil for disable.
    var tls: TLSConfiguration? {
        guard sslMode != .disable else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let rootCertificate { tls.trustRoots = .file(rootCertificate) }
        switch sslMode {
        case .disable, .prefer: tls.certificateVerification = .none
        case .require: tls.certificateVerification = rootCertificate == nil ? .none : .noHostnameVerification
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        return tls
    }

    /// The pool's configuration.
    public var configuration: PostgresClient.Configuration {
        get throws {
            if let socketPath {
                return PostgresClient.Configuration(unixSocketPath: socketPath, username: username, password: password, database: database)
            }
            let mode: PostgresClient.Configuration.TLS =
                switch (sslMode, tls) {
                case (.prefer, let tls?): .prefer(tls)
                case (_, let tls?): .require(tls)
                case (_, nil): .disable
                }
            return PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: mode)
        }
    }

    /// One connection's configuration, for the probe that reports why a database cannot be used.
    var connectionConfiguration: PostgresConnection.Configuration {
        get throws {
            if let socketPath {
                return PostgresConnection.Configuration(unixSocketPath: socketPath, username: username, password: password, database: database)
            }
            let mode: PostgresConnection.Configuration.TLS =
                switch (sslMode, tls) {
                case (.prefer, let tls?): .prefer(try NIOSSLContext(configuration: tls))
                case (_, let tls?): .require(try NIOSSLContext(configuration: tls))
                case (_, nil): .disable
                }
            return PostgresConnection.Configuration(host: host, port: port, username: username, password: password, database: database, tls: mode)
        }
    }
}
