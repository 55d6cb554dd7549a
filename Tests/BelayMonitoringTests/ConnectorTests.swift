import BelayEgress
import BelayMonitoring
import NIOCore
import NIOPosix
import Testing

@Suite struct ConnectorTests {
    /// getaddrinfo reads all of these as 127.0.0.1; the policy must see through every one.
    @Test(arguments: ["2130706433", "0x7f000001", "017700000001", "127.1", "0177.0.0.1", "localhost", "127.0.0.1", "::ffff:127.0.0.1", "[::ffff:7f00:1]"])
    func numericSpellingsOfLoopbackAreRefusedAfterResolution(host: String) async throws {
        try await TestHTTPServer.with { server in try await refusesThenAllows(host: host, server: server) }
    }

    private func refusesThenAllows(host: String, server: TestHTTPServer) async throws {
        let refusing = Connector(group: MultiThreadedEventLoopGroup.singleton, egress: EgressPolicy())
        await #expect {
            let channel = try await refusing.connect(host: host, port: server.port, deadline: .now() + .seconds(5))
            try? await channel.close()
        } throws: { error in
            guard case .refused(let reason) = error as? ConnectionFailure else { return false }
            return reason.contains("is refused by the egress policy (loopback")
        }
        // The same spelling with 127.0.0.1 allowed does connect, so the refusal above was the policy's.
        if host != "localhost" {
            let allowing = Connector(group: MultiThreadedEventLoopGroup.singleton, egress: Fixtures.localPolicy)
            let channel = try await allowing.connect(host: host, port: server.port, deadline: .now() + .seconds(5))
            #expect(channel.remoteAddress?.ipAddress == "127.0.0.1" || channel.remoteAddress?.ipAddress == "::ffff:127.0.0.1")
            try await channel.close()
        }
    }

    @Test func unresolvableNamesFailWithTheReason() async throws {
        let connector = Connector(group: MultiThreadedEventLoopGroup.singleton, egress: EgressPolicy())
        await #expect {
            _ = try await connector.connect(host: "no-such-host.invalid", port: 80, deadline: .now() + .seconds(5))
        } throws: { error in
            guard case .unresolvable(let reason) = error as? ConnectionFailure else { return false }
            return reason.contains("no-such-host.invalid")
        }
    }
}
