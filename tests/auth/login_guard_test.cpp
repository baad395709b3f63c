#include "bsocial/auth/login_guard.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace {
using bsocial::auth::login_guard;

class manual_clock final : public bsocial::clock {
  public:
    std::int64_t ms = 1'000'000;
    std::int64_t now_ms() const override { return ms; }
};

/// One login attempt as accounts::check_credentials makes it; true when it reached the
/// password check (then `right` decides), false when refused (429).
bool attempt(login_guard& g, const std::string& id, const std::string& address, bool right,
             std::int64_t* wait = nullptr) {
    if (auto w = g.begin_address(address)) {
        if (wait) *wait = *w;
        return false;
    }
    if (auto w = g.begin_identifier(id, address)) {
        if (wait) *wait = *w;
        return false;
    }
    if (right) g.succeeded(id, address);
    return true;
}

login_guard::options opts(int max_failures, int ceiling, int slow_seconds = 2) {
    return {.max_failures = max_failures,
            .window_seconds = 900,
            .capacity = 1000,
            .identifier_ceiling = ceiling,
            .slow_seconds = slow_seconds};
}
}  // namespace

// Issue 24, item 2: on main, 5 failures for a username locked it for everyone.
TEST(LoginGuard, AnAttackersFailuresFromAnotherAddressNeverRefuseTheOwner) {
    manual_clock clock;
    login_guard g(clock, opts(5, 100));
    int reached = 0;
    for (int i = 0; i < 12; ++i) reached += attempt(g, "account:7", "203.0.113.66", false);
    EXPECT_EQ(reached, 5) << "the attacker's own pair is still limited";
    std::int64_t wait = 0;
    EXPECT_FALSE(attempt(g, "account:7", "203.0.113.66", true, &wait))
        << "not even the right password from the attacker's address";
    EXPECT_GT(wait, 0);
    EXPECT_TRUE(attempt(g, "account:7", "192.0.2.10", true)) << "the owner, at their address";
}

TEST(LoginGuard, APairIsLimitedUntilTheWindowEnds) {
    manual_clock clock;
    login_guard g(clock, opts(3, 100));
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(attempt(g, "account:1", "192.0.2.1", false));
    std::int64_t wait = 0;
    EXPECT_FALSE(attempt(g, "account:1", "192.0.2.1", true, &wait));
    EXPECT_EQ(wait, 900);
    clock.ms += 900'000;
    EXPECT_TRUE(attempt(g, "account:1", "192.0.2.1", true));
}

TEST(LoginGuard, AnAddressIsLimitedAcrossIdentifiers) {
    manual_clock clock;
    login_guard g(clock, opts(2, 100));
    for (int i = 0; i < 8; ++i)
        EXPECT_TRUE(attempt(g, "login:ghost" + std::to_string(i), "192.0.2.5", false));
    EXPECT_FALSE(attempt(g, "account:1", "192.0.2.5", true));
    EXPECT_TRUE(attempt(g, "account:1", "192.0.2.6", true)) << "another address is not affected";
}

TEST(LoginGuard, BeyondTheCeilingUnknownAddressesAreSlowedNotLocked) {
    manual_clock clock;
    login_guard g(clock, opts(5, 10, 2));
    EXPECT_TRUE(attempt(g, "account:9", "192.0.2.200", true));  // the owner's own address
    for (int i = 0; i < 10; ++i)
        EXPECT_TRUE(attempt(g, "account:9", "198.51.100." + std::to_string(i), false));
    // The ceiling is reached: a new address waits its turn (a delay, not the window)...
    std::int64_t wait = 0;
    EXPECT_FALSE(attempt(g, "account:9", "198.51.100.50", false, &wait));
    EXPECT_GE(wait, 1);
    EXPECT_LE(wait, 2);
    // ...the owner's address does not,
    EXPECT_TRUE(attempt(g, "account:9", "192.0.2.200", true));
    // and after the delay one attempt from anywhere gets through, then the next waits.
    clock.ms += 2'000;
    EXPECT_TRUE(attempt(g, "account:9", "198.51.100.51", false));
    EXPECT_FALSE(attempt(g, "account:9", "198.51.100.52", false));
    clock.ms += 2'000;
    EXPECT_TRUE(attempt(g, "account:9", "198.51.100.52", true)) << "the owner, at a new address";
    // Another account is not slowed.
    EXPECT_TRUE(attempt(g, "account:10", "198.51.100.53", false));
}

TEST(LoginGuard, ParallelAttemptsFromManyAddressesCannotPassTheCeiling) {
    manual_clock clock;
    login_guard g(clock, opts(5, 8, 60));
    std::atomic<int> reached{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 4; ++i)
                reached += attempt(g, "account:3", "10.0." + std::to_string(t) + "." +
                                                       std::to_string(i), false);
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(reached.load(), 8);
}

TEST(LoginGuard, ParallelAttemptsFromOneAddressCannotPassThePairLimit) {
    manual_clock clock;
    login_guard g(clock, opts(3, 100));
    std::atomic<int> reached{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 12; ++t)
        threads.emplace_back([&] { reached += attempt(g, "account:4", "192.0.2.44", false); });
    for (auto& t : threads) t.join();
    EXPECT_EQ(reached.load(), 3);
}

TEST(LoginGuard, ACancelledAttemptCountsNowhere) {
    manual_clock clock;
    login_guard g(clock, opts(1, 1));
    ASSERT_FALSE(g.begin_address("192.0.2.8"));
    ASSERT_FALSE(g.begin_identifier("account:5", "192.0.2.8"));
    g.cancel("account:5", "192.0.2.8");  // e.g. the hashing pool was full (503)
    EXPECT_TRUE(attempt(g, "account:5", "192.0.2.8", true));
}
