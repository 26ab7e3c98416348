import Testing

@testable import SessionGate

@Suite("ClientAddressResolver")
struct ClientAddressResolverTests {
    static func resolver(_ networks: String...) -> ClientAddressResolver {
        ClientAddressResolver(trustedProxies: networks.map { CIDR($0)! })
    }

    let proxies = ClientAddressResolverTests.resolver("10.0.0.0/8", "fd00::/8")

    @Test func withoutTrustedProxiesThePeerIsTheClient() {
        let nobody = ClientAddressResolver(trustedProxies: [])
        #expect(nobody.clientAddress(peer: "10.0.0.1", forwardedFor: ["203.0.113.7"]) == "10.0.0.1")
        // The proxy asks once per connection whether its peer is trusted.
        #expect(!nobody.isTrusted("10.0.0.1"))
        #expect(proxies.isTrusted("10.0.0.1") && proxies.isTrusted("fd00::1"))
        #expect(!proxies.isTrusted("198.51.100.9") && !proxies.isTrusted("unknown"))
    }

    @Test func untrustedPeerIsTheClientWhateverItClaims() {
        #expect(proxies.clientAddress(peer: "198.51.100.9", forwardedFor: ["203.0.113.7"]) == "198.51.100.9")
        #expect(proxies.clientAddress(peer: "198.51.100.9", forwardedFor: ["10.0.0.5"]) == "198.51.100.9")
    }

    @Test func trustedPeerVouchesForTheAddressBeforeIt() {
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwardedFor: ["203.0.113.7"]) == "203.0.113.7")
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwardedFor: []) == "10.0.0.1")
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwardedFor: [""]) == "10.0.0.1")
    }

    @Test func rightmostUntrustedAddressWinsNotTheSpoofableLeftmost() {
        let chain = ["1.1.1.1, 203.0.113.7, 10.0.0.3,10.0.0.2"]
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwardedFor: chain) == "203.0.113.7")
    }

    @Test func severalHeadersFormOneChain() {
        let headers = ["1.1.1.1", " 203.0.113.7 ,10.0.0.3", "10.0.0.2\t"]
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwardedFor: headers) == "203.0.113.7")
    }

    @Test func chainOfOnlyTrustedProxiesEndsAtItsLeftmost() {
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwardedFor: ["10.0.0.3, 10.0.0.2"]) == "10.0.0.3")
    }

    @Test(arguments: ["unknown", "203.0.113.7:443", "[2001:db8::1]", "", "203.0.113.999", "_hidden"])
    func garbageStopsTheWalk(hop: String) {
        let chain = ["198.51.100.1, \(hop), 10.0.0.2"]
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwardedFor: chain) == "10.0.0.2")
    }

    @Test func ipv6Addresses() {
        #expect(proxies.clientAddress(peer: "fd00::1", forwardedFor: ["2001:db8::7"]) == "2001:db8::7")
        #expect(proxies.clientAddress(peer: "fd00::1", forwardedFor: ["2001:db8::7, fd12::3"]) == "2001:db8::7")
        #expect(proxies.clientAddress(peer: "2001:db8::1", forwardedFor: ["203.0.113.7"]) == "2001:db8::1")
    }

    @Test func ipv4MappedAddressesMatchIPv4Networks() {
        #expect(proxies.isTrusted("::ffff:10.1.2.3"))
        #expect(!proxies.isTrusted("::ffff:11.1.2.3"))
        #expect(proxies.clientAddress(peer: "::ffff:10.0.0.1", forwardedFor: ["203.0.113.7"]) == "203.0.113.7")
        #expect(proxies.clientAddress(peer: "10.0.0.1", forwardedFor: ["203.0.113.7, ::ffff:10.0.0.2"]) == "203.0.113.7")
    }

    /// The proxy walks the request's own `X-Forwarded-For` bytes: every chain above, and some more, resolves as the
    /// strings do.
    @Test(arguments: [
        ["203.0.113.7"], [], [""], ["1.1.1.1, 203.0.113.7, 10.0.0.3,10.0.0.2"], ["1.1.1.1", " 203.0.113.7 ,10.0.0.3", "10.0.0.2\t"],
        ["10.0.0.3, 10.0.0.2"], ["198.51.100.1, unknown, 10.0.0.2"], ["198.51.100.1, 203.0.113.7:443, 10.0.0.2"],
        ["198.51.100.1, , 10.0.0.2"], ["198.51.100.1,,10.0.0.2"], ["2001:db8::7, fd12::3"], ["203.0.113.7, ::ffff:10.0.0.2"],
        ["10.0.0.9,"], [",10.0.0.9"], ["203.0.113.7", ""], ["\(String(repeating: "1", count: 60))"],
        ["0000:0000:0000:0000:0000:ffff:255.255.255.255, 10.0.0.2"],
    ])
    func requestBytesResolveAsTheStrings(chain: [String]) throws {
        let head = try RequestHead.parsing(chain.map { ("X-Forwarded-For", $0) } + [("Accept", "*/*")])
        for peer in ["10.0.0.1", "fd00::1"] {
            #expect(proxies.clientAddress(trustedPeer: peer, in: head) == proxies.clientAddress(peer: peer, forwardedFor: chain))
        }
    }

    @Test func isTrustedNeedsAnAddress() {
        #expect(proxies.isTrusted("10.0.0.1"))
        #expect(!proxies.isTrusted("unknown"))
        #expect(!proxies.isTrusted("10.0.0.1:80"))
    }
}

@Suite("CIDR")
struct CIDRTests {
    private func contains(_ network: String, _ address: String) throws -> Bool {
        let cidr = try #require(CIDR(network))
        let bytes = try #require(CIDR.parseAddress(address))
        return cidr.contains(bytes)
    }

    @Test func slash8() throws {
        #expect(try contains("10.0.0.0/8", "10.0.0.0"))
        #expect(try contains("10.0.0.0/8", "10.255.255.255"))
        #expect(try !contains("10.0.0.0/8", "11.0.0.0"))
        #expect(try !contains("10.0.0.0/8", "9.255.255.255"))
    }

    @Test func slash32AndBareAddresses() throws {
        #expect(try contains("192.168.1.7/32", "192.168.1.7"))
        #expect(try !contains("192.168.1.7/32", "192.168.1.6"))
        #expect(try contains("192.168.1.7", "192.168.1.7"))
        #expect(try !contains("192.168.1.7", "192.168.1.8"))
        #expect(CIDR("192.168.1.7")?.prefixLength == 32)
        #expect(CIDR("::1")?.prefixLength == 128)
    }

    @Test func slash0() throws {
        #expect(try contains("0.0.0.0/0", "203.0.113.7"))
        #expect(try contains("0.0.0.0/0", "255.255.255.255"))
        #expect(try !contains("0.0.0.0/0", "2001:db8::1"), "an IPv4 network holds no IPv6 address")
        #expect(try contains("::/0", "2001:db8::1"))
    }

    @Test func prefixesNotOnAByteBoundary() throws {
        #expect(try contains("172.16.0.0/12", "172.31.255.255"))
        #expect(try !contains("172.16.0.0/12", "172.32.0.0"))
        #expect(try !contains("172.16.0.0/12", "172.15.255.255"))
        #expect(try contains("10.1.2.3/8", "10.9.9.9"), "host bits in the network are ignored")
    }

    @Test func ipv6Slash64() throws {
        #expect(try contains("2001:db8:1:2::/64", "2001:db8:1:2:ffff:ffff:ffff:ffff"))
        #expect(try contains("2001:db8:1:2::/64", "2001:db8:1:2::1"))
        #expect(try !contains("2001:db8:1:2::/64", "2001:db8:1:3::1"))
        #expect(try contains("::1/128", "::1"))
        #expect(try !contains("::1/128", "::2"))
        #expect(try !contains("::1/128", "127.0.0.1"))
    }

    @Test(arguments: ["10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/8/8", "nonsense", "", "/8", "10.0.0/8", "10.0.0.0/x"])
    func rejects(text: String) {
        #expect(CIDR(text) == nil)
    }

    @Test func parseAddress() {
        #expect(CIDR.parseAddress("192.0.2.1") == [192, 0, 2, 1])
        #expect(CIDR.parseAddress("::1") == Array(repeating: 0, count: 15) + [1])
        #expect(CIDR.parseAddress("::ffff:10.0.0.1")?.count == 16)
        #expect(CIDR.parseAddress("host.example") == nil)
        #expect(CIDR.parseAddress(" 192.0.2.1") == nil)
    }

    @Test func description() {
        #expect(CIDR("10.0.0.0/8")?.description == "10.0.0.0/8")
        #expect(CIDR("2001:db8::/32")?.description == "2001:db8:0:0:0:0:0:0/32")
    }
}
