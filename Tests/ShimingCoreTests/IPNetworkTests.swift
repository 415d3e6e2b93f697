import Testing
import Foundation
@testable import ShimingCore

@Suite struct IPNetworkTests {
    @Test("addresses and networks parse, v4 and v6, and contain what they should")
    func networks() throws {
        #expect(IPAddress("203.0.113.7")?.description == "203.0.113.7")
        #expect(IPAddress("2001:db8::1") != nil && IPAddress("[::1]") != nil && IPAddress("::ffff:10.1.2.3")?.isV4 == true)
        for good in ["0.0.0.0", "255.255.255.255", " 10.0.0.1 ", "100.64.0.10"] {
            #expect(IPAddress(good)?.description == good.trimmingCharacters(in: .whitespaces), "\(good)")
        }
        for bad in ["", "1.2.3", "1.2.3.256", "01.2.3.4", "1.2.3.04", "1.2.3.00", "1..2.3", "1.2.3.4.", ".1.2.3", "1.2.3.4.5", "1.2.3.1000",
                    "１.2.3.4", "2001:db8:::1", "g::1", "1:2:3:4:5:6:7:8:9", "not an ip"] {
            #expect(IPAddress(bad) == nil, "\(bad)")
        }
        let ten = try #require(IPNetwork("10.0.0.0/8"))
        #expect(ten.contains(IPAddress("10.255.1.2")!) && !ten.contains(IPAddress("11.0.0.1")!))
        let one = try #require(IPNetwork("192.168.1.10"))
        #expect(one.contains(IPAddress("192.168.1.10")!) && !one.contains(IPAddress("192.168.1.11")!))
        let v6 = try #require(IPNetwork("fd00::/8"))
        #expect(v6.contains(IPAddress("fd12:3456::1")!) && !v6.contains(IPAddress("fe80::1")!) && !v6.contains(IPAddress("10.0.0.1")!))
        #expect(IPNetwork("10.0.0.0/33") == nil && IPNetwork("10.0.0.0/x") == nil && IPNetwork("::/129") == nil)
        #expect(IPNetwork("0.0.0.0/0")?.contains(IPAddress("8.8.8.8")!) == true)
    }

    @Test("the client is the right-most untrusted hop, and only a trusted peer's headers are read")
    func clientAddress() throws {
        let trusted = [IPNetwork("10.0.0.0/8")!, IPNetwork("127.0.0.1")!]
        // Through the load balancer: the client, then the balancer's own hop.
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: ["198.51.100.9, 10.0.0.7"], forwarded: [], trusted: trusted) == "198.51.100.9")
        // A client that forges a first hop cannot choose its address: the right-most untrusted wins.
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: ["1.1.1.1", "203.0.113.50"], forwarded: [], trusted: trusted) == "203.0.113.50")
        // Not from a trusted proxy: the headers are ignored.
        #expect(ClientAddress.resolve(peer: "203.0.113.50", forwardedFor: ["1.1.1.1"], forwarded: [], trusted: trusted) == "203.0.113.50")
        // RFC 7239, with a port and an IPv6 address.
        #expect(ClientAddress.resolve(peer: "127.0.0.1", forwardedFor: [], forwarded: ["for=\"[2001:db8::7]:4711\";proto=https, for=10.0.0.9"],
                                      trusted: trusted) == "2001:db8:0:0:0:0:0:7")
        #expect(ClientAddress.resolve(peer: "127.0.0.1", forwardedFor: ["198.51.100.9:5555"], forwarded: [], trusted: trusted) == "198.51.100.9")
        // Garbage stops the walk at the last address that was good.
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: ["<script>, 10.0.0.6"], forwarded: [], trusted: trusted) == "10.0.0.6")
        #expect(ClientAddress.resolve(peer: nil, forwardedFor: ["1.1.1.1"], forwarded: [], trusted: trusted) == nil)
    }
}
