import Foundation
import Testing

@testable import BelayNotify

/// Decodes our quoted-printable back: "=XX" is a byte, "=" at a line end joins lines, CRLF becomes "\n".
func decodeQuotedPrintable(_ encoded: String) -> String {
    var out: [UInt8] = []
    let lines = encoded.components(separatedBy: "\r\n")
    for (index, line) in lines.enumerated() {
        var bytes = Array(line.utf8)[...]
        var soft = false
        while let byte = bytes.popFirst() {
            guard byte == UInt8(ascii: "=") else { out.append(byte); continue }
            if bytes.isEmpty { soft = true; break }
            out.append(UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) ?? 0)
            bytes = bytes.dropFirst(2)
        }
        if !soft && index < lines.count - 1 { out.append(10) }
    }
    return String(decoding: out, as: UTF8.self)
}

func decodeEncodedWords(_ header: String) -> String {
    header.replacingOccurrences(of: "\r\n ", with: " ").split(separator: " ").map { word -> String in
        guard word.hasPrefix("=?utf-8?B?"), word.hasSuffix("?="),
              let data = Data(base64Encoded: String(word.dropFirst(10).dropLast(2))) else { return String(word) }
        return String(decoding: data, as: UTF8.self)
    }.joined()
}

func sample(subject: String = "Incident #12: API degraded", text: String = "Hello\nWorld", html: String? = "<p>Hello</p>",
            extraHeaders: [(name: String, value: String)] = []) throws -> MailMessage {
    MailMessage(from: try MailAddress(parsing: "Belay Status <status@example.com>"),
                to: try MailAddress(parsing: "alice@example.com"), subject: subject, text: text, html: html,
                messageID: "<msg_12_s4@status.example.com>", date: Date(timeIntervalSince1970: 1_764_600_000),
                extraHeaders: extraHeaders)
}

func headerBlock(_ rendered: String) -> [String] {
    String(rendered[..<(rendered.range(of: "\r\n\r\n")?.lowerBound ?? rendered.endIndex)]).components(separatedBy: "\r\n")
}

@Suite struct MailAddressTests {
    @Test func parsesBareAndNamedForms() throws {
        let bare = try MailAddress(parsing: "alice@example.com")
        #expect(bare.address == "alice@example.com" && bare.displayName == nil)
        let named = try MailAddress(parsing: "\"Belay \\\"Ops\\\"\" <ops+s4@status.example.com>")
        #expect(named.address == "ops+s4@status.example.com" && named.displayName == "Belay \"Ops\"")
        let explicit = try MailAddress(parsing: "a.b@x-y.example", displayName: "Äpfel")
        #expect(explicit.displayName == "Äpfel")
    }

    @Test(arguments: ["alice@example.com\r\nBcc: x@y.z", "alice@exa\nmple.com", "a\0@b.c", "no-at-sign", "a@b@c",
                      "@example.com", "alice@", "al ice@example.com", "alice@exa_mple.com", "a..b@example.com",
                      ".a@example.com", "a@-example.com", "a@example..com", "\"quoted\"@example.com", "ä@example.com",
                      "a<b@example.com", String(repeating: "a", count: 60) + "@" + String(repeating: "b", count: 195) + ".com",
                      String(repeating: "a", count: 65) + "@example.com"])
    func rejectsInvalidAddresses(_ text: String) {
        #expect(throws: MailFormatError.self) { try MailAddress(parsing: text) }
    }

    @Test func rejectsLineBreaksInDisplayName() {
        #expect(throws: MailFormatError.self) { try MailAddress(parsing: "a@example.com", displayName: "Evil\r\nBcc: x@y.z") }
    }

    @Test func rendersNonASCIIDisplayNameAsEncodedWord() throws {
        let address = try MailAddress(parsing: "status@example.com", displayName: "Bélay Státus")
        let header = Header.fold("From", address.headerTokens)
        #expect(header.hasPrefix("From: =?utf-8?B?") && header.hasSuffix("?= <status@example.com>"))
        #expect(decodeEncodedWords(String(header.dropFirst(6))).hasPrefix("Bélay Státus"))
    }

    @Test func quotesDisplayNamesWithSpecials() throws {
        let address = try MailAddress(parsing: "status@example.com", displayName: "Belay, Inc. \"Status\"")
        #expect(Header.fold("From", address.headerTokens) == "From: \"Belay, Inc. \\\"Status\\\"\" <status@example.com>")
    }
}

@Suite struct RenderingTests {
    @Test func headersInOrder() throws {
        let rendered = try sample(extraHeaders: [("List-Unsubscribe", "<https://status.example.com/u/s4>"),
                                                 ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]).rendered()
        let headers = headerBlock(rendered)
        #expect(Array(headers.prefix(8)) == [
            "Date: Mon, 01 Dec 2025 14:40:00 +0000",
            "From: Belay Status <status@example.com>",
            "To: alice@example.com",
            "Subject: Incident #12: API degraded",
            "Message-ID: <msg_12_s4@status.example.com>",
            "MIME-Version: 1.0",
            "List-Unsubscribe: <https://status.example.com/u/s4>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        ])
        #expect(headers[8] == "Content-Type: multipart/alternative;")
        #expect(headers[9].hasPrefix(" boundary=\"=_belay_"))
        #expect(!rendered.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        #expect(rendered.hasSuffix("--\r\n"))
    }

    @Test func dateIsRFC5322InUTC() {
        #expect(MailMessage.rfc5322Date(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(MailMessage.rfc5322Date(Date(timeIntervalSince1970: 951_782_400 + 3_661)) == "Tue, 29 Feb 2000 01:01:01 +0000")
    }

    @Test func multipartHasBothPartsWithABoundaryNotInTheBodies() throws {
        let rendered = try sample(text: "plain body", html: "<b>html body</b>").rendered()
        let line = headerBlock(rendered).first { $0.hasPrefix(" boundary=") } ?? ""
        let boundary = String(line.dropFirst(" boundary=\"".count).dropLast())
        #expect(boundary.count > 20)
        let parts = rendered.components(separatedBy: "\r\n--\(boundary)")
        #expect(parts.count == 4)  // preamble, text, html, closing "--"
        #expect(parts[1].contains("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nplain body"))
        #expect(parts[2].contains("Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<b>html body</b>"))
        #expect(parts[3] == "--\r\n")
    }

    @Test func withoutHTMLASingleTextPart() throws {
        let rendered = try sample(text: "only text", html: nil).rendered()
        #expect(headerBlock(rendered).suffix(2) == ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable"])
        #expect(!rendered.contains("multipart"))
        #expect(rendered.hasSuffix("\r\n\r\nonly text=\r\n"))
        #expect(try sample(text: "ends with newline\n", html: nil).rendered().hasSuffix("\r\n\r\nends with newline\r\n"))
    }

    @Test func nonASCIISubjectIsEncodedAndFolded() throws {
        let subject = "Störung behoben — 数据库 wieder verfügbar ✅ " + String(repeating: "ü", count: 40)
        let headers = headerBlock(try sample(subject: subject).rendered())
        let start = try #require(headers.firstIndex { $0.hasPrefix("Subject: ") })
        let lines = Array(headers[start...].prefix { $0 == headers[start] || $0.hasPrefix(" ") })
        #expect(lines.count > 2)
        #expect(lines.allSatisfy { $0.utf8.count <= 78 && $0.allSatisfy(\.isASCII) })
        #expect(decodeEncodedWords(String(lines.joined(separator: "\r\n").dropFirst(9))) == subject)
    }

    @Test func longASCIISubjectIsFoldedToo() throws {
        let subject = String(repeating: "Database latency is elevated in eu-west-1 ", count: 4)
        let headers = headerBlock(try sample(subject: subject).rendered())
        #expect(headers.allSatisfy { $0.utf8.count <= 78 })
        let start = try #require(headers.firstIndex { $0.hasPrefix("Subject: ") })
        let joined = headers[start...].prefix { $0 == headers[start] || $0.hasPrefix(" ") }.joined(separator: "\r\n")
        #expect(decodeEncodedWords(String(joined.dropFirst(9))) == subject)
    }

    @Test func subjectThatLooksEncodedIsEncoded() throws {
        let headers = headerBlock(try sample(subject: "=?utf-8?B?ZXZpbA==?=").rendered())
        #expect(headers.contains { $0.hasPrefix("Subject: =?utf-8?B?") && !$0.contains("ZXZpbA==?=") })
    }

    @Test(arguments: ["Hi\r\nBcc: victim@example.com", "Hi\nthere", "Hi\rthere", "nul\0"])
    func rejectsLineBreaksInSubject(_ subject: String) throws {
        #expect(throws: MailFormatError.self) { try sample(subject: subject).rendered() }
    }

    @Test(arguments: [("List-Unsubscribe", "<https://x>\r\nBcc: victim@example.com"), ("X-Ok", "line\nbreak"),
                      ("Bad Name", "v"), ("Bad:Name", "v"), ("", "v"), ("X-Ünicode", "v"), ("X-Value", "ünicode"),
                      ("Subject", "second subject"), ("content-type", "text/html")])
    func rejectsBadExtraHeaders(_ header: (String, String)) throws {
        #expect(throws: MailFormatError.self) { try sample(extraHeaders: [(name: header.0, value: header.1)]).rendered() }
    }

    @Test func longExtraHeaderIsFoldedAtSpaces() throws {
        let value = (1...6).map { "<https://status.example.com/unsubscribe/\($0)>," }.joined(separator: " ")
        let headers = headerBlock(try sample(extraHeaders: [("List-Unsubscribe", value)]).rendered())
        let start = try #require(headers.firstIndex { $0.hasPrefix("List-Unsubscribe: ") })
        let lines = headers[start...].prefix { $0 == headers[start] || $0.hasPrefix(" ") }
        #expect(lines.count > 1 && lines.allSatisfy { $0.utf8.count <= 78 })
        #expect(lines.joined(separator: "\r\n").replacingOccurrences(of: "\r\n", with: "") == "List-Unsubscribe: " + value)
    }

    @Test func unbreakableHeaderOver998IsRejected() throws {
        let value = "<https://status.example.com/" + String(repeating: "a", count: 1000) + ">"
        #expect(throws: MailFormatError.self) { try sample(extraHeaders: [("List-Unsubscribe", value)]).rendered() }
    }

    @Test(arguments: ["msg_12@status.example.com", "<msg_12>", "<a@b@c>", "<a b@c>", "<msg@x>\r\nBcc: y", "<@x>", "<a@>", "<>"])
    func rejectsBadMessageIDs(_ id: String) throws {
        var message = try sample()
        message.messageID = id
        #expect(throws: MailFormatError.self) { try message.rendered() }
    }
}

@Suite struct QuotedPrintableTests {
    @Test func plainASCIIIsUnchanged() {
        #expect(QuotedPrintable.encode("Hello, world.\nSecond line") == "Hello, world.\r\nSecond line")
    }

    @Test func encodesNonASCIIEqualsAndTrailingWhitespace() {
        #expect(QuotedPrintable.encode("Grüße = 1 ✅") == "Gr=C3=BC=C3=9Fe =3D 1 =E2=9C=85")
        #expect(QuotedPrintable.encode("trailing  \nTab\t") == "trailing =20\r\nTab=09")
    }

    @Test func normalizesAllLineEndingsToCRLF() {
        #expect(QuotedPrintable.encode("a\r\nb\nc\rd\n") == "a\r\nb\r\nc\r\nd\r\n")
    }

    @Test(arguments: [
        String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 30),
        String(repeating: "x", count: 1000),
        String(repeating: "é", count: 300),
        String(repeating: "a=", count: 200) + " \t " + String(repeating: "✅", count: 50),
        ".leading dot\n" + String(repeating: "y", count: 75) + "\n" + String(repeating: "z", count: 76) + "\n",
    ])
    func longLinesAreSoftBrokenAndRoundTrip(_ text: String) {
        let encoded = QuotedPrintable.encode(text)
        #expect(encoded.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 76 })
        #expect(decodeQuotedPrintable(encoded) == text)
    }

    @Test func exactly76CharactersNeedNoSoftBreak() {
        let line = String(repeating: "k", count: 76)
        #expect(QuotedPrintable.encode(line) == line)
        #expect(QuotedPrintable.encode(line + "k") == String(repeating: "k", count: 75) + "=\r\nkk")
    }

    @Test func renderedBodyLinesStayWithin76() throws {
        let text = String(repeating: "ünïcödé and long ", count: 100) + "\n.dot\n" + String(repeating: "-", count: 500)
        let rendered = try sample(text: text, html: "<p>" + text + "</p>").rendered()
        let body = rendered.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        #expect(body.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 76 })
        #expect(rendered.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 998 })
    }
}

@Suite struct DotStuffingTests {
    @Test func bodyLineStartingWithDotIsStuffed() throws {
        let rendered = try sample(text: ".hidden\n.\nok", html: nil).rendered()
        #expect(rendered.contains("\r\n\r\n.hidden\r\n.\r\nok"))  // rendered() leaves dots alone
        let stuffed = SMTPSession.dotStuffed(rendered)
        #expect(stuffed.contains("\r\n\r\n..hidden\r\n..\r\nok"))
        #expect(!stuffed.contains("\r\n.\r\n"))  // nothing that would end DATA early
        #expect(stuffed.hasSuffix("\r\n"))
    }

    @Test func leadingDotAndMissingFinalCRLF() {
        #expect(SMTPSession.dotStuffed(".a\r\n.b") == "..a\r\n..b\r\n")
        #expect(SMTPSession.dotStuffed("a\r\n") == "a\r\n")
        #expect(SMTPSession.dotStuffed("a\r\n.\u{301}x\r\n") == "a\r\n..\u{301}x\r\n")  // dot plus combining mark
    }
}
