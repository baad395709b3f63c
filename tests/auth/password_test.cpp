#include "bsocial/auth/password.hpp"

#include <gtest/gtest.h>

#include "bsocial/core/random.hpp"

using namespace bsocial;

class PasswordHasher : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { init_crypto(); }
};

TEST_F(PasswordHasher, ProducesArgon2idWithAtLeast19MiB) {
    auth::password_hasher hasher(1);
    const auto h = hasher.hash("correct horse battery staple");
    EXPECT_EQ(h.rfind("$argon2id$", 0), 0u) << h;
    const auto m = h.find("m=");
    ASSERT_NE(m, std::string::npos);
    EXPECT_GE(std::stol(h.substr(m + 2)), 19456);
}

TEST_F(PasswordHasher, SaltsEveryHash) {
    auth::password_hasher hasher(1);
    EXPECT_NE(hasher.hash("same password"), hasher.hash("same password"));
}

TEST_F(PasswordHasher, VerifiesOnlyTheRightPassword) {
    auth::password_hasher hasher(1);
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
