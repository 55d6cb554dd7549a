import NIOCore

/// One complete server reply: a code and the text of each of its lines.
public struct SMTPReply: Sendable, Equatable {
    public var code: Int
    public var lines: [String]

    public init(code: Int, lines: [String]) { (self.code, self.lines) = (code, lines) }

    public var isPositive: Bool { (200..<300).contains(code) }
    /// The reply on one line, with control characters removed and its length capped, safe for errors and logs.
    public var summary: String { "\(code) " + Self.printable(lines.joined(separator: " ")) }

    static func printable(_ text: String, limit: Int = 300) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.lazy.filter { $0.value >= 32 && $0.value != 127 }.prefix(limit)))
    }
}

/// Assembles replies from received bytes. Bounded, so a hostile server cannot make us buffer without limit.
public struct SMTPReplyParser: Sendable {
    public static let maxLineLength = 2048
    public static let maxLines = 100

    private var code: Int?
    private var lines: [String] = []

    public init() {}

    /// True when no reply is half-read, i.e. the server has sent nothing we have not delivered.
    public var isIdle: Bool { lines.isEmpty }

    /// Consumes complete lines from `buffer` and returns the first complete reply, or nil if more bytes are needed.
    public mutating func parse(_ buffer: inout ByteBuffer) throws -> SMTPReply? {
        while let newline = buffer.withUnsafeReadableBytes({ $0.firstIndex(of: UInt8(ascii: "\n")) }) {
            guard newline <= Self.maxLineLength + 1, var line = buffer.readBytes(length: newline + 1) else {
                throw SMTPError(.protocolError, "reply line longer than \(Self.maxLineLength) bytes")
            }
            line.removeLast()
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            if let reply = try feed(line) { return reply }
        }
        guard buffer.readableBytes <= Self.maxLineLength + 1 else {
            throw SMTPError(.protocolError, "reply line longer than \(Self.maxLineLength) bytes")
        }
        return nil
    }

    /// One line without its line ending; RFC 5321 4.2: "250-text" continues, "250 text" or "250" ends.
    mutating func feed(_ line: [UInt8]) throws -> SMTPReply? {
        guard line.count <= Self.maxLineLength else {
            throw SMTPError(.protocolError, "reply line longer than \(Self.maxLineLength) bytes")
        }
        let digits = line.prefix(3).map { Int($0) - 48 }
        guard digits.count == 3, (2...5).contains(digits[0]), (0...5).contains(digits[1]), (0...9).contains(digits[2]),
              line.count == 3 || line[3] == UInt8(ascii: " ") || line[3] == UInt8(ascii: "-") else {
            throw SMTPError(.protocolError, "malformed reply line: " + SMTPReply.printable(String(decoding: line, as: UTF8.self), limit: 80))
        }
        let code = digits[0] * 100 + digits[1] * 10 + digits[2]
        guard self.code == nil || self.code == code else {
            throw SMTPError(.protocolError, "reply code changed from \(self.code ?? 0) to \(code) within one reply")
        }
        guard lines.count < Self.maxLines else { throw SMTPError(.protocolError, "reply has more than \(Self.maxLines) lines") }
        self.code = code
        lines.append(String(decoding: line.dropFirst(4), as: UTF8.self))
        guard line.count == 3 || line[3] == UInt8(ascii: " ") else { return nil }
        defer { (self.code, lines) = (nil, []) }
        return SMTPReply(code: code, lines: lines)
    }
}

/// What the server said it supports in its EHLO reply.
public struct SMTPCapabilities: Sendable, Equatable {
    public var startTLS = false
    public var authMechanisms: Set<String> = []
    /// The maximum message size, when the server declares one (0 means no fixed limit).
    public var size: Int?

    public init() {}

    /// Reads the keyword lines that follow the greeting line; keywords are case-insensitive.
    public init(ehlo reply: SMTPReply) {
        for line in reply.lines.dropFirst() {
            // "AUTH=PLAIN LOGIN" is an old form some servers still send next to "AUTH PLAIN LOGIN".
            let words = line.uppercased().split(whereSeparator: { $0 == " " || $0 == "=" }).map(String.init)
            switch words.first {
            case "STARTTLS": startTLS = true
            case "AUTH": authMechanisms.formUnion(words.dropFirst())
            case "SIZE": size = words.count > 1 ? Int(words[1]) : 0
            default: break
            }
        }
    }
}
