import Foundation

/// A message or address that cannot be put on the wire safely; thrown before any SMTP command is sent.
public struct MailFormatError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    init(_ description: String) { self.description = description }
}

public struct MailAddress: Sendable, Equatable {
    public let address: String
    public let displayName: String?

    /// Accepts `user@example.com`, or `Name <user@example.com>` when `displayName` is not given.
    /// Only dot-atom addresses are accepted: quoted local parts, address literals and
    /// internationalized addresses (SMTPUTF8) are refused rather than half-supported.
    public init(parsing text: String, displayName: String? = nil) throws {
        guard !text.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
            throw MailFormatError("address contains a line break or NUL")
        }
        var address = text.trimmingCharacters(in: .whitespaces)
        var name = displayName
        if name == nil, address.hasSuffix(">"), let open = address.lastIndex(of: "<") {
            name = Self.unquoted(address[..<open].trimmingCharacters(in: .whitespaces))
            address = String(address[address.index(after: open)..<address.index(before: address.endIndex)])
        }
        try Self.validate(address)
        if let name, name.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
            throw MailFormatError("display name contains a line break or NUL")
        }
        self.address = address
        self.displayName = (name?.isEmpty ?? true) ? nil : name
    }

    private static func unquoted(_ name: String) -> String {
        guard name.count >= 2, name.hasPrefix("\""), name.hasSuffix("\"") else { return name }
        var result = "", escaped = false
        for c in name.dropFirst().dropLast() {
            if !escaped && c == "\\" { escaped = true } else { result.append(c); escaped = false }
        }
        return result
    }

    private static func validate(_ address: String) throws {
        guard address.utf8.count <= 254 else { throw MailFormatError("address is longer than 254 characters") }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw MailFormatError("address must contain exactly one @") }
        let local = parts[0], domain = parts[1]
        guard (1...64).contains(local.utf8.count), isDotAtom(local) else {
            throw MailFormatError("address has characters not allowed in a local part")
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        let labelOK = { (l: Substring) in
            (1...63).contains(l.utf8.count) && l.first != "-" && l.last != "-"
                && l.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") }
        }
        guard labels.allSatisfy(labelOK) else { throw MailFormatError("address has an invalid domain") }
    }
}

/// RFC 5322 atext, the characters of an atom.
func isAtext(_ s: Unicode.Scalar) -> Bool {
    s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || "!#$%&'*+-/=?^_`{|}~".unicodeScalars.contains(s))
}

func isDotAtom(_ s: Substring) -> Bool {
    !s.isEmpty && s.first != "." && s.last != "." && !s.contains("..")
        && s.unicodeScalars.allSatisfy { isAtext($0) || $0 == "." }
}

public struct MailMessage: Sendable {
    public var from: MailAddress
    public var to: MailAddress
    public var subject: String
    public var text: String
    public var html: String?
    public var messageID: String
    public var date: Date
    public var extraHeaders: [(name: String, value: String)]

    public init(from: MailAddress, to: MailAddress, subject: String, text: String, html: String? = nil,
                messageID: String, date: Date = Date(), extraHeaders: [(name: String, value: String)] = []) {
        (self.from, self.to, self.subject, self.text, self.html) = (from, to, subject, text, html)
        (self.messageID, self.date, self.extraHeaders) = (messageID, date, extraHeaders)
    }

    /// Headers we generate ourselves; a second copy from `extraHeaders` would make the message ambiguous.
    private static let ownHeaders: Set<String> = ["date", "from", "to", "subject", "message-id", "mime-version",
                                                  "content-type", "content-transfer-encoding"]

    /// The full RFC 5322 message with CRLF line endings, not yet dot-stuffed.
    public func rendered() throws -> String {
        guard !subject.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
            throw MailFormatError("subject contains a line break or NUL")
        }
        let idBody = messageID.dropFirst().dropLast().split(separator: "@", omittingEmptySubsequences: false)
        guard messageID.utf8.count <= 250, messageID.hasPrefix("<"), messageID.hasSuffix(">"),
              idBody.count == 2, idBody.allSatisfy(isDotAtom) else {
            throw MailFormatError("message ID must look like <local@domain>")
        }
        var headers = [
            "Date: " + Self.rfc5322Date(date),
            Header.fold("From", from.headerTokens),
            Header.fold("To", to.headerTokens),
            Header.fold("Subject", Header.unstructuredTokens(subject, prefixLength: "Subject: ".count)),
            "Message-ID: " + messageID,
            "MIME-Version: 1.0",
        ]
        for (name, value) in extraHeaders {
            guard !name.isEmpty, name.unicodeScalars.allSatisfy({ (33...126).contains($0.value) && $0 != ":" }) else {
                throw MailFormatError("invalid header field name")
            }
            guard !Self.ownHeaders.contains(name.lowercased()) else { throw MailFormatError("header \(name) is set by the renderer") }
            guard value.unicodeScalars.allSatisfy({ (32...126).contains($0.value) || $0 == "\t" }) else {
                throw MailFormatError("header \(name) must be printable ASCII without line breaks")
            }
            headers.append(Header.fold(name, value.split(separator: " ", omittingEmptySubsequences: false).map(String.init)))
        }
        let textPart = QuotedPrintable.encode(text)
        var body: String
        if let html {
            let htmlPart = QuotedPrintable.encode(html)
            // "=_" never occurs in quoted-printable output, so this boundary cannot collide with a body.
            let boundary = "=_belay_" + String((0..<24).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement() ?? "x" })
            headers.append(Header.fold("Content-Type", ["multipart/alternative;", "boundary=\"\(boundary)\""]))
            body = "This is a multi-part message in MIME format.\r\n"
            for (type, content) in [("plain", textPart), ("html", htmlPart)] {
                body += "\r\n--\(boundary)\r\nContent-Type: text/\(type); charset=utf-8\r\n"
                    + "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + content
            }
            body += "\r\n--\(boundary)--\r\n"
        } else {
            headers += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable"]
            // The data must end in CRLF; when the text does not, a soft line break keeps that CRLF out of the text.
            body = textPart.hasSuffix("\r\n") ? textPart : textPart + "=\r\n"
        }
        let message = headers.joined(separator: "\r\n") + "\r\n\r\n" + body
        guard !message.split(separator: "\r\n", omittingEmptySubsequences: false).contains(where: { $0.utf8.count > 998 }) else {
            throw MailFormatError("a header line would exceed 998 characters")
        }
        return message
    }

    static func rfc5322Date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let two = { (n: Int?) in n.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        let day = days[min(max((c.weekday ?? 1) - 1, 0), 6)], month = months[min(max((c.month ?? 1) - 1, 0), 11)]
        return "\(day), \(two(c.day)) \(month) \(c.year ?? 1970) "
            + "\(two(c.hour)):\(two(c.minute)):\(two(c.second)) +0000"
    }
}

extension MailAddress {
    /// The address as header words, so that long display names can be folded between them.
    var headerTokens: [String] {
        guard let displayName else { return [address] }
        let plain = displayName.unicodeScalars.allSatisfy { (32...126).contains($0.value) } && !displayName.contains("=?")
        let words: [String]
        if !plain {
            words = Header.encodedWords(displayName)
        } else if displayName.unicodeScalars.allSatisfy({ isAtext($0) || $0 == " " }) {
            words = displayName.split(separator: " ").map(String.init)
        } else {
            let escaped = displayName.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            words = ["\"\(escaped)\""]
        }
        return words + ["<\(address)>"]
    }
}

enum Header {
    /// Joins words with spaces, breaking lines (CRLF + space) to stay within 78 characters where a word allows it.
    static func fold(_ name: String, _ words: [String]) -> String {
        var out = name + ":", lineLength = out.count
        for word in words {
            if lineLength + 1 + word.count > 78 && lineLength > name.count + 1 {
                out += "\r\n "
                lineLength = 1
            } else {
                out += " "
                lineLength += 1
            }
            out += word
            lineLength += word.count
        }
        return out
    }

    /// Plain ASCII text stays readable; anything else (non-ASCII, controls, text that looks like an
    /// encoded word, or too long to fold) becomes RFC 2047 encoded words.
    static func unstructuredTokens(_ value: String, prefixLength: Int) -> [String] {
        let plain = value.unicodeScalars.allSatisfy { (32...126).contains($0.value) } && !value.contains("=?")
        if plain && prefixLength + value.utf8.count <= 78 { return [value] }
        return encodedWords(value)
    }

    /// Base64 encoded words of at most 39 bytes (64 characters each), split only between Unicode
    /// scalars, so "Subject: " plus one word stays under 78 characters.
    static func encodedWords(_ value: String) -> [String] {
        var words: [String] = [], chunk: [UInt8] = []
        let flush = { (chunk: [UInt8]) in "=?utf-8?B?" + Data(chunk).base64EncodedString() + "?=" }
        for scalar in value.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > 39 {
                words.append(flush(chunk))
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append(flush(chunk)) }
        return words
    }
}

enum QuotedPrintable {
    /// RFC 2045 quoted-printable of UTF-8 text; any CR, LF or CRLF becomes a CRLF line break and
    /// encoded lines never exceed 76 characters.
    static func encode(_ text: String) -> String {
        var lines: [[UInt8]] = [[]]
        var previousWasCR = false
        for byte in text.utf8 {
            if byte == 10 && previousWasCR { previousWasCR = false; continue }
            previousWasCR = byte == 13
            if byte == 10 || byte == 13 { lines.append([]) } else { lines[lines.count - 1].append(byte) }
        }
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for (index, line) in lines.enumerated() {
            if index > 0 { out += [13, 10] }
            var length = 0
            for (i, byte) in line.enumerated() {
                let isLast = i == line.count - 1
                // Trailing whitespace would be stripped in transit, so it is encoded at the end of a line.
                let literal = (33...126).contains(byte) && byte != 61 || (byte == 32 || byte == 9) && !isLast
                let token = literal ? [byte] : [61, hex[Int(byte >> 4)], hex[Int(byte & 15)]]
                if length + token.count > (isLast ? 76 : 75) {
                    out += [61, 13, 10]
                    length = 0
                }
                out += token
                length += token.count
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
