#include "bsocial/core/parse.hpp"

#include <gtest/gtest.h>

#include <limits>

using bsocial::parse_int64;
using bsocial::parse_positive_id;

TEST(ParseInt64, WholeStringOfDigits) {
    EXPECT_EQ(parse_int64("0"), 0);
    EXPECT_EQ(parse_int64("42"), 42);
    EXPECT_EQ(parse_int64("-7"), -7);
    EXPECT_EQ(parse_int64("007"), 7);
    EXPECT_EQ(parse_int64("9223372036854775807"), std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(parse_int64("-9223372036854775808"), std::numeric_limits<std::int64_t>::min());
}

TEST(ParseInt64, RefusesSignsSpacesJunkAndOverflow) {
    for (const char* bad : {"", "+1", " 1", "1 ", "1a", "a1", "-", "1.0", "0x10", "1e3",
                            "9223372036854775808", "-9223372036854775809", "99999999999999999999"})
        EXPECT_EQ(parse_int64(bad), std::nullopt) << '"' << bad << '"';
}

TEST(ParseInt64, StopsAtTheViewEnd) {
    const std::string_view s = std::string_view("12:34").substr(0, 2);
    EXPECT_EQ(parse_int64(s), 12);
}

TEST(ParsePositiveId, OnlyAboveZero) {
    EXPECT_EQ(parse_positive_id("1"), 1);
    EXPECT_EQ(parse_positive_id("123456789012"), 123456789012);
    EXPECT_EQ(parse_positive_id("0"), std::nullopt);
    EXPECT_EQ(parse_positive_id("-3"), std::nullopt);
    EXPECT_EQ(parse_positive_id("+3"), std::nullopt);
    EXPECT_EQ(parse_positive_id("3x"), std::nullopt);
}
