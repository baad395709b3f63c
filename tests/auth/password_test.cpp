#include "bsocial/auth/password.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "bsocial/core/error.hpp"
#include "bsocial/core/random.hpp"

using namespace bsocial;

class PasswordHasher : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { init_crypto(); }
};

TEST_F(PasswordHasher, ProducesArgon2idWithAtLeast19MiB) {
    auth::password_hasher hasher({.threads = 1});
    const auto h = hasher.hash("correct horse battery staple");
    EXPECT_EQ(h.rfind("$argon2id$", 0), 0u) << h;
    const auto m = h.find("m=");
    ASSERT_NE(m, std::string::npos);
    EXPECT_GE(std::stol(h.substr(m + 2)), 19456);
}

TEST_F(PasswordHasher, SaltsEveryHash) {
    auth::password_hasher hasher({.threads = 1});
    EXPECT_NE(hasher.hash("same password"), hasher.hash("same password"));
}

TEST_F(PasswordHasher, VerifiesOnlyTheRightPassword) {
    auth::password_hasher hasher({.threads = 1});
    const auto h = hasher.hash("s3cret-passphrase");
    EXPECT_TRUE(hasher.verify(h, "s3cret-passphrase"));
    EXPECT_FALSE(hasher.verify(h, "s3cret-passphrasE"));
    EXPECT_FALSE(hasher.verify("not a hash", "s3cret-passphrase"));
}

TEST(CommonPasswords, LoadsDebianListAndIgnoresCase) {
    const auto list = auth::common_passwords::load("/usr/share/john/password.lst");
    EXPECT_GT(list.size(), 3000u);
    EXPECT_TRUE(list.contains("password"));
    EXPECT_TRUE(list.contains("PASSWORD"));
    EXPECT_FALSE(list.contains("#!comment"));
    EXPECT_FALSE(list.contains("a quite unusual passphrase 9f8e"));
}

TEST(CommonPasswords, MissingFileIsAnError) {
    EXPECT_THROW(auth::common_passwords::load("/nonexistent/list"), std::runtime_error);
}

// Issue 9 item 1: hashing has its own pool with a bounded queue; beyond it, callers are
// refused at once (503 + Retry-After) instead of waiting without end.
TEST_F(PasswordHasher, RefusesWhenThePoolAndItsQueueAreFull) {
    auth::password_hasher hasher({.threads = 1, .queue_bound = 1});
    EXPECT_EQ(hasher.max_waiting_callers(), 2);
    std::atomic<int> hashed{0}, refused{0};
    std::vector<std::thread> callers;
    for (int i = 0; i < 8; ++i)
        callers.emplace_back([&] {
            try {
                (void)hasher.hash("parallel password");
                ++hashed;
            } catch (const bsocial::error& e) {
                EXPECT_EQ(e.code(), bsocial::error_code::unavailable);
                EXPECT_GE(e.retry_after_seconds, 1);
                ++refused;
            }
        });
    for (auto& t : callers) t.join();
    EXPECT_GE(hashed.load(), 1);
    EXPECT_GE(refused.load(), 1);
    EXPECT_EQ(static_cast<int>(hasher.refused_total()), refused.load());
    // The pool still works afterwards.
    EXPECT_TRUE(hasher.verify(hasher.hash("after the burst"), "after the burst"));
}

TEST_F(PasswordHasher, HashesOnThePoolNotOnTheCallersThread) {
    auth::password_hasher hasher({.threads = 1, .queue_bound = 0});
    // A failure inside the pool reaches the caller.
    EXPECT_FALSE(hasher.verify("$argon2id$v=19$m=1,t=1,p=1$bad$bad", "x"));
    EXPECT_EQ(hasher.hash("x").rfind("$argon2id$", 0), 0u);
}
