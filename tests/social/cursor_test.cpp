#include "bsocial/social/cursor.hpp"

#include <gtest/gtest.h>

#include "bsocial/auth/base64url.hpp"

using namespace bsocial::social;

TEST(Cursor, TimeCursorRoundTrips) {
    const time_cursor c{1'795'000'000'123, 987654321012};
    const auto decoded = decode_time_cursor(encode_cursor(c));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->created_at, c.created_at);
    EXPECT_EQ(decoded->id, c.id);
}

TEST(Cursor, NameCursorRoundTrips) {
    EXPECT_EQ(decode_name_cursor(encode_cursor(std::string_view("alice_01"))), "alice_01");
}

TEST(Cursor, KindsDoNotMix) {
    EXPECT_FALSE(decode_name_cursor(encode_cursor(time_cursor{1, 2})));
    EXPECT_FALSE(decode_time_cursor(encode_cursor(std::string_view("bob"))));
}

TEST(Cursor, RejectsGarbage) {
    using bsocial::auth::base64url_encode;
    EXPECT_FALSE(decode_time_cursor(""));
    EXPECT_FALSE(decode_time_cursor("!!!"));
    EXPECT_FALSE(decode_time_cursor(base64url_encode("t1:abc:1")));
    EXPECT_FALSE(decode_time_cursor(base64url_encode("t1:1:-5")));
    EXPECT_FALSE(decode_time_cursor(base64url_encode("t1:1")));
    EXPECT_FALSE(decode_time_cursor(base64url_encode("t1:1:2:3")));
    EXPECT_FALSE(decode_time_cursor(std::string(500, 'A')));
}

// A name cursor carries a stored username and nothing else: bytes PostgreSQL would refuse
// as text (invalid UTF-8) answered 500 before (schemathesis, issue 23).
TEST(Cursor, NameCursorIsAStoredUsername) {
    using bsocial::auth::base64url_encode;
    EXPECT_FALSE(decode_name_cursor(base64url_encode("n1:\xff\xfe")));
    EXPECT_FALSE(decode_name_cursor(base64url_encode(std::string("n1:a\0b", 6))));
    EXPECT_FALSE(decode_name_cursor(base64url_encode("n1:Alice")));
    EXPECT_FALSE(decode_name_cursor(base64url_encode("n1:ab")));
    EXPECT_FALSE(decode_name_cursor(base64url_encode("n1:" + std::string(31, 'a'))));
    EXPECT_EQ(decode_name_cursor(base64url_encode("n1:" + std::string(30, 'a'))),
              std::string(30, 'a'));
}

TEST(Cursor, InvalidCursorIsTheOne422Answer) {
    const bsocial::error e = invalid_cursor();
    EXPECT_EQ(e.code(), bsocial::error_code::validation_failed);
    EXPECT_STREQ(e.what(), "invalid cursor");
    ASSERT_EQ(e.fields().size(), 1u);
    EXPECT_EQ(e.fields().at("cursor"), "is invalid");
}
