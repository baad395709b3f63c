#include "bsocial/store/cluster_bus.hpp"

#include "store/bus_inbox.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {
using namespace std::chrono_literals;
using bsocial::store::cluster_bus;
using bsocial::testing::inbox;

TEST(ClusterBus, InProcessDeliversByTopicInPublishingOrder) {
    cluster_bus bus("");
    inbox in;
    bus.subscribe("post.deleted", in.handler("a"));
    bus.subscribe("post.deleted", in.handler("b"));
    bus.subscribe("session.revoked", in.handler("s"));
    bus.start();
    bus.publish("post.deleted", R"({"post_id":"1"})");
    bus.publish("nobody.listens", "x");
    bus.publish("session.revoked", R"({"user_id":"7"})");
    bus.publish("post.deleted", R"({"post_id":"2"})");
    ASSERT_TRUE(in.wait_for(5));
    EXPECT_EQ(in.snapshot(),
              (std::vector<std::string>{R"(a:{"post_id":"1"})", R"(b:{"post_id":"1"})",
                                        R"(s:{"user_id":"7"})", R"(a:{"post_id":"2"})",
                                        R"(b:{"post_id":"2"})"}));
    bus.stop();
    EXPECT_EQ(bus.delivered(), 4u);  // the unsubscribed topic counts as delivered
}

TEST(ClusterBus, RefusesBadTopicsAndOversizedPayloads) {
    cluster_bus bus("");
    EXPECT_THROW(bus.publish("", "x"), std::invalid_argument);
    EXPECT_THROW(bus.publish("a\nb", "x"), std::invalid_argument);
    EXPECT_THROW(bus.publish("t", std::string(cluster_bus::max_payload + 1, 'x')),
                 std::invalid_argument);
    EXPECT_NO_THROW(bus.publish("t", std::string(cluster_bus::max_payload, 'x')));
}

TEST(ClusterBus, AHandlerThatThrowsDoesNotStopTheOthers) {
    cluster_bus bus("");
    inbox in;
    bus.subscribe("t", [](std::string_view) { throw std::runtime_error("boom"); });
    bus.subscribe("t", in.handler("ok"));
    bus.start();
    bus.publish("t", "1");
    bus.publish("t", "2");
    ASSERT_TRUE(in.wait_for(2));
    EXPECT_EQ(in.snapshot(), (std::vector<std::string>{"ok:1", "ok:2"}));
}

}  // namespace
