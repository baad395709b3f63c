#include "bsocial/auth/login_throttle.hpp"

#include <gtest/gtest.h>

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
