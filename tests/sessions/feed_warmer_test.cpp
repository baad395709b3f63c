// sessions::feed_warmer's login warming (issue 25): a login's first page is built in the
// background before the feed is read; a flood past the queue's bound is dropped and
// counted, never built; a user already cached costs no build. On a SQLite file with the
// timelines in memory, as serve runs them.

#include "bsocial/sessions/feed_warmer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "support/social_world.hpp"

namespace {
using namespace bsocial;
using bsocial::testing::social_world;
using namespace std::chrono_literals;

constexpr social::time_cursor top{INT64_MAX, INT64_MAX};

template <class F>
bool eventually(F done) {
    for (int i = 0; i < 500; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return done();
}

class LoginWarming : public ::testing::Test {
  protected:
    void SetUp() override {
        for (int i = 0; i < 6; ++i) users.push_back(w.add_user("user" + std::to_string(i)));
        for (std::size_t i = 1; i < users.size(); ++i) w.posts.create_post(users[i], "hello");
    }

    social_world w;
    std::vector<social::user> users;
    social::timeline_cache cache{100, 100};
    social::post_cache posts{1000};
    social::timelines timelines{*w.db, {}, &cache, &posts};
};

TEST_F(LoginWarming, ALoginBuildsTheFirstPageBeforeTheFeedIsRead) {
    sessions::feed_warmer warmer(*w.db, w.sessions, timelines, 0, false, 8);
    w.sessions.on_active([&](std::int64_t user) { warmer.enqueue(user); });
    warmer.start();
    w.graph.follow(users[0], users[1].username);
    w.log_in("user0");
    ASSERT_TRUE(eventually([&] { return warmer.login_stats().built == 1; }));
    EXPECT_EQ(cache.stats().builds, 1u);
    const auto page = timelines.read_in_memory(users[0].id, top, 20);
    ASSERT_TRUE(page) << "answered from memory: no build, no SQL";
    ASSERT_EQ(page->size(), 1u);
    EXPECT_EQ(page->front().by.id, users[1].id);
    w.log_in("user0");  // cached already: no second build
    ASSERT_TRUE(eventually([&] { return warmer.login_stats().skipped == 1; }));
    EXPECT_EQ(cache.stats().builds, 1u);
    warmer.stop();
}

TEST_F(LoginWarming, AFloodPastTheQueueIsDroppedAndCountedNotBuilt) {
    sessions::feed_warmer warmer(*w.db, w.sessions, timelines, 0, false, 2);
    w.sessions.on_active([&](std::int64_t user) { warmer.enqueue(user); });
    // Not started yet: nothing is taken from the queue while the logins come.
    for (int i = 0; i < 6; ++i) w.log_in("user" + std::to_string(i));
    w.log_in("user0");  // waiting already: not queued twice, not dropped
    auto s = warmer.login_stats();
    EXPECT_EQ(s.queued, 2u);
    EXPECT_EQ(s.dropped, 4u);
    EXPECT_NE(warmer.metrics().find("bsocial_feed_login_warm_dropped_total 4\n"),
              std::string::npos)
        << warmer.metrics();
    warmer.start();
    ASSERT_TRUE(eventually([&] { return warmer.login_stats().built == 2; }));
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(cache.stats().builds, 2u) << "only the queued users were built";
    EXPECT_TRUE(timelines.read_in_memory(users[0].id, top, 20));
    EXPECT_TRUE(timelines.read_in_memory(users[1].id, top, 20));
    EXPECT_FALSE(timelines.read_in_memory(users[2].id, top, 20)) << "dropped: not built";
    warmer.stop();
}

TEST_F(LoginWarming, OffWithAQueueOfZero) {
    sessions::feed_warmer warmer(*w.db, w.sessions, timelines, 0, false, 0);
    w.sessions.on_active([&](std::int64_t user) { warmer.enqueue(user); });
    warmer.start();
    w.log_in("user0");
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(warmer.login_stats().queued, 0u);
    EXPECT_EQ(cache.stats().builds, 0u);
    warmer.stop();
}

}  // namespace
