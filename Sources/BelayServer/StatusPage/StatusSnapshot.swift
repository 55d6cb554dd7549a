import Crypto
import Foundation
import HTTPTypes
import NIOCore
import Synchronization

/// One public response, rendered once when data changed and then served as is.
public struct CachedPage: Sendable {
    public let body: ByteBuffer
    public let etag: String
    public let headers: HTTPFields

    init(bytes: [UInt8], contentType: String, cacheControl: String, extraHeaders: HTTPFields = [:]) {
        body = ByteBuffer(bytes: bytes)
        let digest = SHA256.hash(data: bytes)
        etag = "\"" + digest.prefix(12).map { String(format: "%02x", $0) }.joined() + "\""
        var headers = extraHeaders
        headers[.contentType] = contentType
        headers[.cacheControl] = cacheControl
        headers[.eTag] = etag
        headers[.contentLength] = String(bytes.count)
        self.headers = headers
    }

    /// True when an If-None-Match header names this page's current ETag (or is `*`).
    public func matches(ifNoneMatch: String?) -> Bool {
        guard let ifNoneMatch else { return false }
        for candidate in ifNoneMatch.split(separator: ",") {
            var tag = candidate.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            if tag == etag { return true }
        }
        return false
    }
}

/// Every public page at one moment, keyed by path.
public struct StatusSnapshot: Sendable {
    public let pages: [String: CachedPage]
    public let builtAt: Date
    public let dataVersion: UInt64

    public static let empty = StatusSnapshot(pages: [:], builtAt: .distantPast, dataVersion: 0)
}

/// Holds the current snapshot; readers take it under a lock held for a pointer copy, never blocked by a rebuild.
public final class SnapshotBox: Sendable {
    private let current = Mutex(StatusSnapshot.empty)

    public init() {}

    public var snapshot: StatusSnapshot { current.withLock { $0 } }

    func replace(with snapshot: StatusSnapshot) { current.withLock { $0 = snapshot } }
}
