// The reference bench/status-page measures Belay's public listener against: a minimal SwiftNIO HTTP/1
// server that holds each file of a directory in memory and answers GET with it, and with FILE.gz to a
// client that accepts gzip. Nothing else: no routing, no ETag check, no logging. It is the most a Swift
// server on NIO can do on this machine, so Belay's ratio to it is the cost of everything Belay adds.
//
//   nio-reference PORT DIR [PATH=CONTENT-TYPE ...]
//
// serves DIR/index.html at /, DIR/PATH at /PATH. Each PATH=CONTENT-TYPE sets that path's Content-Type
// (bench/status-page passes Belay's own, so both servers send the same header); other paths get one
// guessed from the extension, the way Belay labels its pages.
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

struct Page {
    let body: ByteBuffer
    let headers: HTTPHeaders
}

func pages(in root: URL, types: [String: String]) throws -> [String: (plain: Page, gzip: Page?)] {
    var found: [String: (Page, Page?)] = [:]
    let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
    while let file = files?.nextObject() as? URL {
        let relative = String(file.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count))
        guard !relative.hasSuffix(".gz"), let bytes = try? Data(contentsOf: file) else { continue }
        let path = relative == "/index.html" ? "/" : relative
        let type = types[path] ?? (relative.hasSuffix(".json") ? "application/json; charset=utf-8" : "text/html; charset=utf-8")
        func page(_ data: Data, gzip: Bool) -> Page {
            var headers = HTTPHeaders([("Content-Type", type), ("Content-Length", String(data.count)), ("Vary", "Accept-Encoding")])
            if gzip { headers.add(name: "Content-Encoding", value: "gzip") }
            return Page(body: ByteBuffer(bytes: data), headers: headers)
        }
        let compressed = try? Data(contentsOf: file.appendingPathExtension("gz"))
        found[path] = (page(bytes, gzip: false), compressed.map { page($0, gzip: true) })
    }
    return found
}

final class Responder: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let pages: [String: (plain: Page, gzip: Page?)]
    var current: HTTPRequestHead?

    init(pages: [String: (plain: Page, gzip: Page?)]) { self.pages = pages }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): current = head
        case .body: break
        case .end:
            guard let head = current else { return }
            let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
            let status: HTTPResponseStatus
            var page: Page?
            if let found = pages[path] {
                status = .ok
                page = head.headers["Accept-Encoding"].contains { $0.contains("gzip") } ? (found.gzip ?? found.plain) : found.plain
            } else {
                status = .notFound
            }
            let headers = page?.headers ?? HTTPHeaders([("Content-Length", "0")])
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            if let page { context.write(wrapOutboundOut(.body(.byteBuffer(page.body))), promise: nil) }
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) { context.flush() }
}

let arguments = CommandLine.arguments
var types: [String: String] = [:]
for argument in arguments.dropFirst(3) {
    guard let equals = argument.firstIndex(of: "="), argument.hasPrefix("/") else {
        FileHandle.standardError.write(Data("nio-reference: expected PATH=CONTENT-TYPE, got '\(argument)'\n".utf8))
        exit(2)
    }
    types[String(argument[..<equals])] = String(argument[argument.index(after: equals)...])
}
guard arguments.count >= 3, let port = Int(arguments[1]) else {
    FileHandle.standardError.write(Data("usage: nio-reference PORT DIR [PATH=CONTENT-TYPE ...]\n".utf8))
    exit(2)
}
let served = try pages(in: URL(fileURLWithPath: arguments[2], isDirectory: true), types: types)
let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
let channel = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
            try channel.pipeline.syncOperations.addHandler(Responder(pages: served))
        }
    }
    .bind(host: "127.0.0.1", port: port).wait()
// Written unbuffered, so a script waiting on a redirected stdout sees it at once.
FileHandle.standardOutput.write(Data("nio-reference serving \(served.count) pages on \(channel.localAddress?.port ?? port)\n".utf8))
try channel.closeFuture.wait()
