#include "bsocial/auth/base64url.hpp"

#include <gtest/gtest.h>

using bsocial::auth::base64url_decode;
using bsocial::auth::base64url_encode;

TEST(Base64url, EncodesRfc4648Vectors) {
    EXPECT_EQ(base64url_encode(""), "");
    EXPECT_EQ(base64url_encode("f"), "Zg");
    EXPECT_EQ(base64url_encode("fo"), "Zm8");
    EXPECT_EQ(base64url_encode("foo"), "Zm9v");
    EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
    EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
}

TEST(Base64url, RoundTripsEveryByte) {
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
    EXPECT_EQ(base64url_decode(base64url_encode(all)), all);
}

TEST(Base64url, RejectsPaddingForeignCharactersAndBadLengths) {
    EXPECT_FALSE(base64url_decode("Zg=="));
    EXPECT_FALSE(base64url_decode("Zm9v+"));
    EXPECT_FALSE(base64url_decode("Z"));
    EXPECT_FALSE(base64url_decode("Zh"));  // non-zero trailing bits
}
