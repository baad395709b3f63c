#include "bsocial/auth/jwt_secret.hpp"

#include <gtest/gtest.h>

#include "bsocial/core/random.hpp"

namespace {
using bsocial::auth::jwt_secret_problem;

TEST(JwtSecret, ARandomSecretOf32BytesOrMoreIsAccepted) {
    EXPECT_EQ(jwt_secret_problem(bsocial::random_hex(16)), std::nullopt);  // 32 characters
    EXPECT_EQ(jwt_secret_problem(bsocial::random_hex(32)), std::nullopt);
}

TEST(JwtSecret, ShorterThan32BytesIsRefusedSayingSo) {
    const auto problem = jwt_secret_problem(std::string(31, 'x') + "y");
    EXPECT_EQ(problem, std::nullopt);
    const auto short_one = jwt_secret_problem(bsocial::random_hex(15));  // 30 bytes
    ASSERT_TRUE(short_one);
    EXPECT_NE(short_one->find("BSOCIAL_JWT_SECRET is 30 bytes long"), std::string::npos)
        << *short_one;
    EXPECT_EQ(short_one->find('\n'), std::string::npos);  // one line
    EXPECT_TRUE(jwt_secret_problem(""));
}

TEST(JwtSecret, PublishedValuesAreRefusedWhateverTheirLength) {
    for (const char* published : {"dev-only-jwt-secret-change-me-0123456789abcdef",
                                  "a-string-secret-at-least-256-bits-long"}) {
        const auto problem = jwt_secret_problem(published);
        ASSERT_TRUE(problem) << published;
        EXPECT_NE(problem->find("published example value"), std::string::npos) << *problem;
        EXPECT_NE(problem->find("openssl rand -hex 32"), std::string::npos) << *problem;
    }
}

TEST(JwtSecret, PlaceholdersAndOneRepeatedCharacterAreRefused) {
    EXPECT_TRUE(jwt_secret_problem("please-CHANGE-ME-before-going-live-0123"));
    EXPECT_TRUE(jwt_secret_problem("changeme" + bsocial::random_hex(16)));
    EXPECT_TRUE(jwt_secret_problem(std::string(32, 'k')));  // the unit tests' kind of key
    EXPECT_TRUE(jwt_secret_problem(std::string(64, '0')));
}

}  // namespace
