#include "bsocial/http/client_address.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace {
using namespace bsocial::http;

ip_address ip(std::string_view text) {
    auto a = ip_address::parse(text);
    if (!a) throw std::invalid_argument("test address does not parse: " + std::string(text));
    return *a;
}

std::string client(std::string_view peer, std::vector<std::string_view> xff,
                   const trusted_proxies& proxies) {
    return client_key(forwarded_client(ip(peer), xff, proxies));
}

TEST(ClientAddress, ParsesIpv4Ipv6BracketsAndPorts) {
    EXPECT_EQ(client_key(ip("192.0.2.7")), "192.0.2.7");
    EXPECT_EQ(client_key(ip("192.0.2.7:5555")), "192.0.2.7");
    EXPECT_EQ(client_key(ip("[2001:db8::1]:443")), "2001:db8::/64");
    EXPECT_EQ(client_key(ip("[2001:db8::1]")), "2001:db8::/64");
    for (const char* bad : {"", "unknown", "192.0.2", "192.0.2.256", "1.2.3.4:", "1.2.3.4:x",
                            "[2001:db8::1", "[2001:db8::1]x", "fe80::1%eth0", "host.example",
                            " 1.2.3.4", "1.2.3.4/32", "_hidden"})
        EXPECT_FALSE(ip_address::parse(bad)) << bad;
}

TEST(ClientAddress, Ipv4MappedIpv6IsTheIpv4Address) {
    EXPECT_TRUE(ip("::ffff:192.0.2.7").is_v4());
    EXPECT_EQ(ip("::ffff:192.0.2.7"), ip("192.0.2.7"));
    EXPECT_EQ(client_key(ip("::ffff:192.0.2.7")), "192.0.2.7");
    EXPECT_FALSE(ip("::1").is_v4());
}

TEST(ClientAddress, Ipv6KeysOnItsSlash64) {
    EXPECT_EQ(client_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")), "2001:db8:1:2::/64");
    EXPECT_EQ(client_key(ip("2001:db8:1:2::99")), client_key(ip("2001:db8:1:2:ffff::1")));
    EXPECT_NE(client_key(ip("2001:db8:1:2::1")), client_key(ip("2001:db8:1:3::1")));
    EXPECT_EQ(client_key(ip("::1")), "::/64");
}

TEST(TrustedProxies, MatchesIpv4AndIpv6Cidrs) {
    const trusted_proxies p({"10.0.0.0/8", " 192.168.1.1 ", "fd00::/8", "", "2001:db8::5/128"});
    EXPECT_TRUE(p.contains(ip("10.200.3.4")));
    EXPECT_TRUE(p.contains(ip("::ffff:10.1.1.1")));  // mapped counts as IPv4
    EXPECT_FALSE(p.contains(ip("11.0.0.1")));
    EXPECT_TRUE(p.contains(ip("192.168.1.1")));
    EXPECT_FALSE(p.contains(ip("192.168.1.2")));
    EXPECT_TRUE(p.contains(ip("fd12:3456::1")));
    EXPECT_FALSE(p.contains(ip("fe00::1")));
    EXPECT_TRUE(p.contains(ip("2001:db8::5")));
    EXPECT_FALSE(p.contains(ip("2001:db8::6")));
    // an IPv4 range never matches an IPv6 address that merely shares bits
    EXPECT_FALSE(trusted_proxies({"0.0.0.0/0"}).contains(ip("2001:db8::1")));
    EXPECT_TRUE(trusted_proxies({"0.0.0.0/0"}).contains(ip("203.0.113.9")));
    EXPECT_TRUE(trusted_proxies({"::/0"}).contains(ip("203.0.113.9")));
    // host bits below the prefix are ignored
    EXPECT_TRUE(trusted_proxies({"172.16.5.9/12"}).contains(ip("172.31.0.1")));
    EXPECT_TRUE(trusted_proxies().empty());
    EXPECT_TRUE(trusted_proxies({"", "  "}).empty());
}

TEST(TrustedProxies, AMalformedEntryIsAnErrorNamingIt) {
    for (const char* bad : {"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/8x", "10.0.0/8",
                            "nginx", "10.0.0.1:80", "[fd00::1]", "10.0.0.0/-1", "fd00::/08x"}) {
        try {
            trusted_proxies p({"127.0.0.1/32", bad});
            ADD_FAILURE() << "accepted " << bad;
        } catch (const std::invalid_argument& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find(std::string("\"") + bad + "\""), std::string::npos) << what;
            EXPECT_NE(what.find("BSOCIAL_TRUSTED_PROXIES"), std::string::npos) << what;
        }
    }
}

TEST(ForwardedClient, TheRightMostEntryThatIsNotTrustedIsTheClient) {
    const trusted_proxies p({"10.0.0.0/8"});
    // client, then two proxies of ours appended
    EXPECT_EQ(client("10.0.0.1", {"203.0.113.5, 10.0.0.7"}, p), "203.0.113.5");
    // a client-supplied (spoofed) entry to the left of the real one is not believed
    EXPECT_EQ(client("10.0.0.1", {"198.51.100.1, 203.0.113.5"}, p), "203.0.113.5");
    // several header lines are one list, in order
    EXPECT_EQ(client("10.0.0.1", {"198.51.100.1", "203.0.113.5, 10.9.9.9"}, p), "203.0.113.5");
    EXPECT_EQ(client("10.0.0.1", {"203.0.113.5", "10.9.9.9"}, p), "203.0.113.5");
}

TEST(ForwardedClient, EveryEntryTrustedGivesTheLeftMost) {
    const trusted_proxies p({"10.0.0.0/8"});
    EXPECT_EQ(client("10.0.0.1", {"10.1.1.1, 10.2.2.2"}, p), "10.1.1.1");
    EXPECT_EQ(client("10.0.0.1", {}, p), "10.0.0.1");  // no header: the peer
}

TEST(ForwardedClient, AMalformedEntryEndsTheWalk) {
    const trusted_proxies p({"10.0.0.0/8"});
    EXPECT_EQ(client("10.0.0.1", {"garbage"}, p), "10.0.0.1");  // nothing found: the peer
    EXPECT_EQ(client("10.0.0.1", {""}, p), "10.0.0.1");
    EXPECT_EQ(client("10.0.0.1", {"203.0.113.5, unknown, 10.2.2.2"}, p), "10.2.2.2");
    EXPECT_EQ(client("10.0.0.1", {"203.0.113.5,, 10.2.2.2"}, p), "10.2.2.2");
    EXPECT_EQ(client("10.0.0.1", {"203.0.113.5, unknown"}, p), "10.0.0.1");
}

TEST(ForwardedClient, Ipv6ClientsKeyOnTheirSlash64AndMappedOnIpv4) {
    const trusted_proxies p({"fd00::/8", "127.0.0.1"});
    EXPECT_EQ(client("fd00::1", {"2001:db8:7:8::1234"}, p), "2001:db8:7:8::/64");
    EXPECT_EQ(client("fd00::1", {"::ffff:203.0.113.5"}, p), "203.0.113.5");
    EXPECT_EQ(client("127.0.0.1", {"[2001:db8::9]:4711"}, p), "2001:db8::/64");
    // an IPv4-mapped trusted proxy in the list is skipped like its IPv4 form
    EXPECT_EQ(client("127.0.0.1", {"203.0.113.5, ::ffff:127.0.0.1"}, p), "203.0.113.5");
}

}  // namespace
