#include "bsocial/auth/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {
class manual_clock final : public bsocial::clock {
  public:
    std::int64_t ms = 1'000'000;
    std::int64_t now_ms() const override { return ms; }
};
}  // namespace

TEST(RateLimiter, AllowsTheBurstThenRefillsPerMinute) {
    manual_clock clock;
    bsocial::auth::rate_limiter r(clock, 6, 3);  // one token every 10 s, bursts of 3
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(r.try_take("10.0.0.1")) << i;
    const auto wait = r.try_take("10.0.0.1");
    ASSERT_TRUE(wait);
    EXPECT_EQ(*wait, 10);
    EXPECT_FALSE(r.try_take("10.0.0.2"));  // another address has its own bucket
    clock.ms += 10'000;
    EXPECT_FALSE(r.try_take("10.0.0.1"));
    EXPECT_TRUE(r.try_take("10.0.0.1"));
}

TEST(RateLimiter, ZeroPerMinuteTurnsItOff) {
    manual_clock clock;
    bsocial::auth::rate_limiter r(clock, 0, 1);
    for (int i = 0; i < 100; ++i) EXPECT_FALSE(r.try_take("a"));
}

TEST(RateLimiter, KeepsAtMostCapacityKeys) {
    manual_clock clock;
    bsocial::auth::rate_limiter r(clock, 1, 1, 100);
    for (int i = 0; i < 10000; ++i) r.try_take("key" + std::to_string(i));
    EXPECT_EQ(r.size(), 100u);
}
