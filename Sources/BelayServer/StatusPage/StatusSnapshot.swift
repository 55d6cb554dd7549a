import BelayCore
import CompressNIO
import Crypto
import Foundation
import HTTPTypes
import NIOCore
import Synchronization

/// One public response, rendered once when data changed and then served as is, with a gzip copy
/// made at the same time for clients that accept it (every browser does).
public struct CachedPage: Sendable {
    public let body: ByteBuffer
    public let etag: String
    public let headers: HTTPFields
    /// The gzip-compressed body and its headers, when compressing saves bytes.
    public let gzip: (body: ByteBuffer, etag: String, headers: HTTPFields)?

    /// Bodies smaller than this go out as they are; compressing them saves too little.
    static let compressionThreshold = 1024

    init(bytes: [UInt8], contentType: String, cacheControl: String, extraHeaders: HTTPFields = [:]) {
        body = ByteBuffer(bytes: bytes)
        // The tag covers the headers as well as the bytes: two pages with one tag are the same answer, which
        // lets `SnapshotResponder` share a head built for one tag between paths.
        var hasher = SHA256()
        for field in extraHeaders { hasher.update(data: Data("\(field.name.canonicalName): \(field.value)\n".utf8)) }
        hasher.update(data: Data("\(contentType)\n\(cacheControl)\n\n".utf8))
        hasher.update(data: bytes)
        let tag = hasher.finalize().prefix(12).hexString
        etag = "\"" + tag + "\""
        var headers = extraHeaders
        headers[.contentType] = contentType
        headers[.cacheControl] = cacheControl
        headers[.eTag] = etag
        headers[.vary] = "Accept-Encoding"
        headers[.contentLength] = String(bytes.count)
        self.headers = headers

        var source = body
        if bytes.count >= Self.compressionThreshold, let compressed = try? source.compress(with: .gzip()),
            compressed.readableBytes < bytes.count
        {
            // A different representation needs a different strong ETag.
            let gzipTag = "\"" + tag + "-gzip\""
            var gzipHeaders = headers
            gzipHeaders[.eTag] = gzipTag
            gzipHeaders[.contentEncoding] = "gzip"
            gzipHeaders[.contentLength] = String(compressed.readableBytes)
            gzip = (compressed, gzipTag, gzipHeaders)
        } else {
            gzip = nil
        }
    }

    /// The representation for a client's Accept-Encoding: the gzip copy when there is one and the client takes it.
    func variant(acceptEncoding: String?) -> (body: ByteBuffer, etag: String, headers: HTTPFields) {
        if let gzip, Self.acceptsGzip(acceptEncoding) { return gzip }
        return (body, etag, headers)
    }

    /// Whether an Accept-Encoding header admits gzip, by name or by `*`, with a quality above zero.
    public static func acceptsGzip(_ acceptEncoding: String?) -> Bool {
        guard let acceptEncoding else { return false }
        // What browsers and most clients send, answered without splitting the header.
        if acceptEncoding == "gzip" || acceptEncoding == "gzip, deflate, br" || acceptEncoding == "gzip, deflate, br, zstd" {
            return true
        }
        for part in acceptEncoding.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let coding = pieces.first, coding == "gzip" || coding == "*" else { continue }
            let quality = pieces.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return quality > 0
        }
        return false
    }

    /// True when an If-None-Match header names this page's current ETag (or is `*`).
    public static func matches(_ etag: String, ifNoneMatch: String?) -> Bool {
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
