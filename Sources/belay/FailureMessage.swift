import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// One sentence saying what went wrong and what to do, in place of the errno text or NIO description a
/// failed connection or file carries.
enum FailureMessage {
    /// Why the server at `baseURL` could not be reached.
    static func unreachable(_ error: any Error, baseURL: String) -> String {
        "cannot reach Belay at \(baseURL): " + reason(error)
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            if error.dnsAError != nil || error.dnsAAAAError != nil {
                return "no such host '\(error.host)'; check --url or BELAY_URL"
            }
            if let first = error.connectionErrors.first { return reason(first.error) }
        }
        if let error = error as? IOError { return reason(errno: error.errnoCode) }
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "no answer to the connection within 5 s; check the address and any firewall between"
            case .readTimeout, .deadlineExceeded: return "the server did not answer within 30 s; it may be overloaded, try again"
            case .remoteConnectionClosed: return "the server closed the connection; is that address really Belay?"
            case .tlsHandshakeTimeout: return "the TLS handshake timed out; check the address and any proxy between"
            default: break
            }
        }
        if error is SocketAddressError { return "'\(error)' is not an address Belay can connect to; check --url or BELAY_URL" }
        return "\(error)"
    }

    static func reason(errno code: CInt) -> String {
        switch code {
        case ECONNREFUSED: return "connection refused; is `belay serve` running there (check --url or BELAY_URL)?"
        case ECONNRESET: return "the connection was reset; is that address really Belay?"
        case ETIMEDOUT: return "the connection timed out; check the address and any firewall between"
        case EHOSTUNREACH, ENETUNREACH: return "no route to that host; check the address and the network"
        default: return String(cString: strerror(code)).lowercased()
        }
    }

    /// Reads a file named on the command line, or fails with one sentence naming its absolute path and why.
    static func readFile(_ path: String, option: String) throws -> Data {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CLIError(description: "\(option): \(url.path) does not exist")
        }
        if isDirectory.boolValue { throw CLIError(description: "\(option): \(url.path) is a directory, not a file") }
        guard FileManager.default.isReadableFile(atPath: url.path), let data = FileManager.default.contents(atPath: url.path) else {
            throw CLIError(description: "\(option): no permission to read \(url.path)")
        }
        return data
    }

    /// Why `directory` could not be opened as a data directory.
    static func dataDirectory(_ error: any Error, directory: URL) -> String {
        let path = directory.path
        let nsError = error as NSError
        if nsError.domain == "GRDB.DatabaseError" {
            // SQLite's primary result code is the low byte of the extended one.
            switch nsError.code & 0xFF {
            case 5, 6: return "the database in \(path) is locked by another process; wait and try again"
            case 8: return "the database in \(path) is read-only; check its owner and permissions"
            case 11, 26: return "\(path)/belay.sqlite is not a readable Belay database (damaged, or not SQLite); restore it from a backup"
            case 13: return "the disk holding \(path) is full; free some space and try again"
            case 14: return "cannot open the database in \(path); check that the directory is writable by this user"
            default: break
            }
        }
        if nsError.domain == NSCocoaErrorDomain {
            switch CocoaError.Code(rawValue: nsError.code) {
            case .fileWriteNoPermission, .fileReadNoPermission: return "no permission to use \(path); check its owner and permissions"
            case .fileWriteOutOfSpace: return "the disk holding \(path) is full; free some space and try again"
            case .fileWriteFileExists: return "\(path) exists and is not a directory; choose another --data"
            default: break
            }
        }
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return "cannot use \(path): " + String(cString: strerror(CInt(underlying.code))).lowercased()
        }
        return "cannot open the data directory \(path): \(error)"
    }
}
