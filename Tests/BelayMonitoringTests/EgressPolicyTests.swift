import BelayEgress
import BelayFormats
import BelayMonitoring
import NIOCore
import Testing

@Suite struct EgressPolicyTests {
    let policy = EgressPolicy()

    func reason(_ address: String, _ policy: EgressPolicy? = nil) throws -> String? {
        (policy ?? self.policy).denialReason(for: try SocketAddress(ipAddress: address, port: 80))
    }

    @Test(arguments: [
        ("127.0.0.1", "loopback"), ("127.45.6.7", "loopback"), ("::1", "loopback"),
        ("169.254.10.20", "link-local"), ("fe80::1", "link-local"), ("febf::1", "link-local"),
        ("169.254.169.254", "cloud metadata"), ("fd00:ec2::254", "cloud metadata"),
        ("0.0.0.0", "unspecified"), ("0.1.2.3", "unspecified"), ("::", "unspecified"),
        ("224.0.0.1", "multicast"), ("239.255.255.250", "multicast"), ("ff02::1", "multicast"),
        ("255.255.255.255", "broadcast"), ("240.0.0.1", "reserved"),
    ])
    func refusesTheDefaultDeniedClasses(address: String, label: String) throws {
        let reason = try #require(try reason(address))
        #expect(reason.hasPrefix("\(address) is refused by the egress policy ("))
        #expect(reason.contains(label))
    }

    @Test func wordsTheReasonAsPeopleReadIt() throws {
        #expect(try reason("127.0.0.1") == "127.0.0.1 is refused by the egress policy (loopback)")
    }

    @Test(arguments: [
        ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "cloud metadata"), ("::ffff:0.0.0.0", "unspecified"),
        ("::127.0.0.1", "loopback"), ("64:ff9b::7f00:1", "loopback"), ("::ffff:0:7f00:1", "loopback"),
        ("2002:7f00:1::1", "loopback"), ("64:ff9b:1::a9fe:a9fe", "cloud metadata"),
    ])
    func judgesIPv6SpellingsOfIPv4AddressesAsTheIPv4Address(address: String, label: String) throws {
        let reason = try #require(try reason(address))
        #expect(reason.contains(label))
    }

    @Test func mappedAddressesOfPublicHostsAreAllowed() throws {
        #expect(try reason("::ffff:8.8.8.8") == nil)
        #expect(try reason("64:ff9b::808:808") == nil)
    }

    @Test(arguments: ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1", "fd12::1"])
    func allowsPublicAndPrivateAddressesByDefault(address: String) throws {
        #expect(try reason(address) == nil)
    }

    @Test(arguments: ["10.1.2.3", "172.20.0.1", "192.168.1.1", "100.64.0.1", "fd12::1", "::ffff:10.0.0.1"])
    func refusesPrivateRangesWithDenyPrivate(address: String) throws {
        #expect(try reason(address, EgressPolicy(denyPrivate: true)) != nil)
        #expect(try reason("8.8.8.8", EgressPolicy(denyPrivate: true)) == nil)
        #expect(try reason("172.32.0.1", EgressPolicy(denyPrivate: true)) == nil)
    }

    @Test func anExplicitAllowBeatsTheDefaultDenial() throws {
        let policy = EgressPolicy(allow: [try CIDR(parsing: "127.0.0.1/32")])
        #expect(try reason("127.0.0.1", policy) == nil)
        #expect(try reason("::ffff:127.0.0.1", policy) == nil)
        #expect(try reason("127.0.0.2", policy) != nil)
        #expect(try reason("::1", policy) != nil)
    }

    @Test func anExplicitDenyBeatsEverything() throws {
        let policy = EgressPolicy(
            allow: try EgressPolicy.parseList("10.0.0.0/8, 127.0.0.0/8"),
            deny: try EgressPolicy.parseList("10.1.0.0/16,127.0.0.1,8.8.8.8")
        )
        #expect(try reason("10.2.0.1", policy) == nil)
        #expect(try reason("10.1.2.3", policy)?.contains("denied by 10.1.0.0/16") == true)
        #expect(try reason("127.0.0.1", policy) != nil)
        #expect(try reason("127.0.0.2", policy) == nil)
        #expect(try reason("8.8.8.8", policy) != nil)
        #expect(try reason("::ffff:8.8.8.8", policy) != nil)
    }

    @Test func parsesListsAndNamesTheBadEntry() throws {
        let list = try EgressPolicy.parseList(" 10.0.0.0/8 , fd00::/8,,192.168.1.5 ")
        #expect(list.map(\.description) == ["10.0.0.0/8", "fd00::/8", "192.168.1.5/32"])
        #expect(try EgressPolicy.parseList("").isEmpty)
        for bad in ["10.0.0.0/33", "nonsense", "127.1", "0x7f000001", "10.0.0.0/", "fe80::1%eth0", "::/129", "10.0.0.0/-1"] {
            #expect {
                _ = try EgressPolicy.parseList("10.0.0.0/8, \(bad)")
            } throws: { error in
                "\(error)".contains("'\(bad)'")
            }
        }
    }

    @Test func cidrClearsHostBitsAndMatchesByPrefix() throws {
        let network = try CIDR(parsing: "10.1.2.3/8")
        #expect(network.description == "10.0.0.0/8")
        #expect(network.contains(try SocketAddress(ipAddress: "10.255.0.1", port: 1)))
        #expect(!network.contains(try SocketAddress(ipAddress: "11.0.0.1", port: 1)))
        let v6 = try CIDR(parsing: "2001:db8::/32")
        #expect(v6.contains(try SocketAddress(ipAddress: "2001:db8:ffff::1", port: 1)))
        #expect(!v6.contains(try SocketAddress(ipAddress: "2001:db9::1", port: 1)))
        #expect(try CIDR(parsing: "0.0.0.0/0").contains(try SocketAddress(ipAddress: "203.0.113.9", port: 1)))
        #expect(try CIDR(parsing: "2001:db8::1:2/127").description == "2001:db8::1:2/127")
        #expect(try CIDR(parsing: "2001:db8::1:3/127").description == "2001:db8::1:2/127")
        #expect(try CIDR(parsing: "10.0.0.1") == CIDR(parsing: "10.0.0.1/32"))
    }
}
