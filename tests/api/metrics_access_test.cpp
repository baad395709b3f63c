#include "bsocial/api/metrics_access.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

using bsocial::api::metrics_access;
using bsocial::http::request;

namespace {
request from(const std::string& client, bsocial::http::header_list headers = {},
             bool trusted_peer = false) {
    request r;
    r.method = "GET";
    r.path = "/metrics";
    r.client_address = client;
    r.peer_trusted = trusted_peer;
    r.headers = std::move(headers);
    return r;
}
const std::string token(40, 'm');
}  // namespace

// Issue 24, item 6: on main /metrics answered anyone.
TEST(MetricsAccess, WithoutATokenOnlyDirectLoopbackClients) {
    const metrics_access open_to_host{};
    EXPECT_TRUE(open_to_host.allows(from("127.0.0.1")));
    EXPECT_TRUE(open_to_host.allows(from("::1")));
    EXPECT_FALSE(open_to_host.allows(from("192.0.2.1")));
    EXPECT_FALSE(open_to_host.allows(from("2001:db8:1:2::/64")));
    EXPECT_FALSE(open_to_host.allows(from("")));
    // A proxy on the same host passes requests from anywhere: never believed to be local.
    EXPECT_FALSE(open_to_host.allows(from("127.0.0.1", {{"x-forwarded-for", "203.0.113.9"}})));
    EXPECT_FALSE(open_to_host.allows(from("127.0.0.1", {{"forwarded", "for=203.0.113.9"}})));
    EXPECT_FALSE(open_to_host.allows(from("127.0.0.1", {{"x-real-ip", "203.0.113.9"}})));
    EXPECT_FALSE(open_to_host.allows(from("127.0.0.1", {}, true)));
}

TEST(MetricsAccess, WithATokenOnlyThatBearerTokenFromAnywhere) {
    const metrics_access locked{token};
    EXPECT_TRUE(locked.allows(from("192.0.2.1", {{"authorization", "Bearer " + token}})));
    EXPECT_TRUE(locked.allows(from("192.0.2.1", {{"authorization", "bearer " + token}})));
    EXPECT_FALSE(locked.allows(from("127.0.0.1"))) << "set, it is needed from the host too";
    EXPECT_FALSE(locked.allows(from("192.0.2.1", {{"authorization", "Bearer " + token + "x"}})));
    EXPECT_FALSE(locked.allows(from("192.0.2.1", {{"authorization", "Bearer " + token.substr(1)}})));
    EXPECT_FALSE(locked.allows(from("192.0.2.1", {{"authorization", "Basic " + token}})));
}

TEST(MetricsAccess, AShortTokenStopsTheStart) {
    EXPECT_THROW(metrics_access{"short"}.validate(), std::invalid_argument);
    EXPECT_NO_THROW(metrics_access{token}.validate());
    EXPECT_NO_THROW(metrics_access{}.validate());
}
