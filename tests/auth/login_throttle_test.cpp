#include "bsocial/auth/login_throttle.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace {
class manual_clock final : public bsocial::clock {
  public:
    std::int64_t ms = 1'000'000;
    std::int64_t now_ms() const override { return ms; }
};
}  // namespace

TEST(LoginThrottle, LocksAfterMaxFailuresAndUnlocksAfterWindow) {
    manual_clock clock;
    bsocial::auth::login_throttle t(clock, 3, 60);
    for (int i = 0; i < 2; ++i) t.record_failure("alice");
    EXPECT_FALSE(t.locked_for("alice"));
    t.record_failure("alice");
    const auto wait = t.locked_for("alice");
    ASSERT_TRUE(wait);
    EXPECT_EQ(*wait, 60);
    clock.ms += 30'000;
    EXPECT_EQ(t.locked_for("alice").value_or(0), 30);
    clock.ms += 30'000;
    EXPECT_FALSE(t.locked_for("alice"));
}

TEST(LoginThrottle, KeysAreIndependentAndClearResets) {
    manual_clock clock;
    bsocial::auth::login_throttle t(clock, 1, 60);
    t.record_failure("a");
    EXPECT_TRUE(t.locked_for("a"));
    EXPECT_FALSE(t.locked_for("b"));
    t.clear("a");
    EXPECT_FALSE(t.locked_for("a"));
}

// Issue 9 item 2: a hard bound on the limiter's memory, whatever the keys.
TEST(LoginThrottle, MillionDistinctLongKeysStayWithinTheCapacity) {
    manual_clock clock;
    constexpr std::size_t capacity = 10000;
    bsocial::auth::login_throttle t(clock, 5, 900, capacity);
    std::string key(200, 'k');
    for (int i = 0; i < 1'000'000; ++i) {
        const std::string n = std::to_string(i);
        key.replace(0, n.size(), n);
        t.record_failure(key);
        ASSERT_LE(t.size(), capacity) << "after " << i + 1 << " keys";
    }
    EXPECT_EQ(t.size(), capacity);
}

TEST(LoginThrottle, LongKeysAreLimitedLikeShortOnes) {
    manual_clock clock;
    bsocial::auth::login_throttle t(clock, 2, 60);
    const std::string long_key(60 * 1024, 'x');
    t.record_failure(long_key);
    t.record_failure(long_key);
    EXPECT_TRUE(t.locked_for(long_key));
    EXPECT_FALSE(t.locked_for(std::string(60 * 1024 - 1, 'x')));
}

TEST(LoginThrottle, ForgetsTheLeastRecentlyUsedKeyFirst) {
    manual_clock clock;
    bsocial::auth::login_throttle t(clock, 1, 60, 2);
    t.record_failure("a");
    t.record_failure("b");
    EXPECT_TRUE(t.locked_for("a"));  // a is now the most recently used
    t.record_failure("c");           // evicts b
    EXPECT_TRUE(t.locked_for("a"));
    EXPECT_FALSE(t.locked_for("b"));
    EXPECT_TRUE(t.locked_for("c"));
}

// Issue 9 item 2: checked and counted in one step, so parallel guesses cannot all pass.
TEST(LoginThrottle, ParallelAttemptsCannotPassTheLimit) {
    manual_clock clock;
    bsocial::auth::login_throttle t(clock, 3, 60);
    std::atomic<int> admitted{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 32; ++i)
        threads.emplace_back([&] {
            if (!t.try_begin("alice")) ++admitted;
        });
    for (auto& th : threads) th.join();
    EXPECT_EQ(admitted.load(), 3);
    EXPECT_TRUE(t.locked_for("alice"));
}

TEST(LoginThrottle, CancelTakesBackAnAttemptAndClearEndsTheLock) {
    manual_clock clock;
    bsocial::auth::login_throttle t(clock, 2, 60);
    EXPECT_FALSE(t.try_begin("bob"));
    EXPECT_FALSE(t.try_begin("bob"));
    EXPECT_TRUE(t.try_begin("bob"));  // two attempts counted: locked
    t.cancel("bob");
    EXPECT_FALSE(t.try_begin("bob"));
    t.clear("bob");
    EXPECT_FALSE(t.locked_for("bob"));
}
