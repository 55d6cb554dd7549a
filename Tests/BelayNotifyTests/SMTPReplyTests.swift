import NIOCore
import Testing

@testable import BelayNotify

func parseAll(_ text: String, chunk: Int = .max) throws -> [SMTPReply] {
    var parser = SMTPReplyParser()
    var buffer = ByteBuffer()
    var replies: [SMTPReply] = []
    var rest = Array(text.utf8)[...]
    while !rest.isEmpty {  // feed in pieces, as TCP may deliver them
        buffer.writeBytes(rest.prefix(chunk))
        rest = rest.dropFirst(chunk)
        while let reply = try parser.parse(&buffer) { replies.append(reply) }
    }
    return replies
}

@Suite struct SMTPReplyParserTests {
    @Test func singleLineReplies() throws {
        #expect(try parseAll("220 mail.example.com ESMTP ready\r\n250 OK\r\n250\r\n") == [
            SMTPReply(code: 220, lines: ["mail.example.com ESMTP ready"]), SMTPReply(code: 250, lines: ["OK"]),
            SMTPReply(code: 250, lines: [""]),
        ])
    }

    @Test(arguments: [Int.max, 1, 7])
    func multilineReplyInAnyChunking(chunk: Int) throws {
        let replies = try parseAll("250-mail.example.com\r\n250-SIZE 1000\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n354 go\r\n", chunk: chunk)
        #expect(replies == [SMTPReply(code: 250, lines: ["mail.example.com", "SIZE 1000", "AUTH PLAIN LOGIN", "STARTTLS"]),
                            SMTPReply(code: 354, lines: ["go"])])
    }

    @Test func incompleteReplyWaits() throws {
        var parser = SMTPReplyParser()
        var buffer = ByteBuffer(string: "250-first\r\n250 sec")
        #expect(try parser.parse(&buffer) == nil)
        #expect(!parser.isIdle)
        buffer.writeString("ond\r\n")
        #expect(try parser.parse(&buffer) == SMTPReply(code: 250, lines: ["first", "second"]))
        #expect(parser.isIdle)
    }

    @Test func bareLFIsTolerated() throws {
        #expect(try parseAll("250 OK\n") == [SMTPReply(code: 250, lines: ["OK"])])
    }

    @Test(arguments: ["abc hello\r\n", "25 short\r\n", "2500 OK\r\n", "250_OK\r\n", "600 nope\r\n", "199 too low\r\n",
                      "260 bad second digit\r\n", "\r\n", "250-one\r\n251 two\r\n", " 250 OK\r\n"])
    func badReplyLinesAreProtocolErrors(_ text: String) {
        #expect { try parseAll(text) } throws: { ($0 as? SMTPError)?.kind == .protocolError }
    }

    @Test func lineLengthBound() throws {
        let longest = "250 " + String(repeating: "x", count: SMTPReplyParser.maxLineLength - 4) + "\r\n"
        #expect(try parseAll(longest).first?.lines.first?.count == SMTPReplyParser.maxLineLength - 4)
        let overlong = "250 " + String(repeating: "x", count: SMTPReplyParser.maxLineLength) + "\r\n"
        #expect { try parseAll(overlong) } throws: { ($0 as? SMTPError)?.kind == .protocolError }
        // No line ending at all must not make us buffer without limit.
        #expect { try parseAll(String(repeating: "x", count: 5000), chunk: 100) } throws: { ($0 as? SMTPError)?.kind == .protocolError }
    }

    @Test func lineCountBound() throws {
        let many = { (n: Int) in String(repeating: "250-x\r\n", count: n - 1) + "250 end\r\n" }
        #expect(try parseAll(many(SMTPReplyParser.maxLines)).first?.lines.count == SMTPReplyParser.maxLines)
        #expect { try parseAll(many(SMTPReplyParser.maxLines + 1)) } throws: { ($0 as? SMTPError)?.kind == .protocolError }
    }

    @Test func summaryIsOneSafeLine() {
        let reply = SMTPReply(code: 550, lines: ["no\u{7}such", "user", String(repeating: "z", count: 1000)])
        #expect(reply.summary.hasPrefix("550 nosuch user zzz"))
        #expect(reply.summary.count == 4 + 300)
    }
}

@Suite struct SMTPCapabilitiesTests {
    @Test func parsesEHLOKeywords() throws {
        let reply = try #require(try parseAll(
            "250-mail.example.com Hello\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n250-AUTH LOGIN PLAIN XOAUTH2\r\n"
                + "250-AUTH=LOGIN\r\n250-starttls\r\n250-PIPELINING\r\n250 HELP\r\n").first)
        let caps = SMTPCapabilities(ehlo: reply)
        #expect(caps.startTLS)
        #expect(caps.authMechanisms == ["LOGIN", "PLAIN", "XOAUTH2"])
        #expect(caps.size == 35_882_577)
    }

    @Test func greetingLineIsNotAKeyword() {
        let caps = SMTPCapabilities(ehlo: SMTPReply(code: 250, lines: ["STARTTLS.example.com"]))
        #expect(caps == SMTPCapabilities())
    }
}

@Suite struct OutcomeAndErrorTests {
    @Test func permanence() {
        #expect(SMTPOutcome.rejected(code: 550, reply: "no").isPermanent)
        #expect(!SMTPOutcome.rejected(code: 451, reply: "later").isPermanent)
        #expect(!SMTPOutcome.accepted.isPermanent)
    }

    @Test func descriptionIsOneLine() {
        let error = SMTPError(.auth, code: 535, "authentication refused: 535 5.7.8 invalid")
        #expect(error.description == "SMTP auth error: authentication refused: 535 5.7.8 invalid")
    }
}
