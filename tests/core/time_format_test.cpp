#include "bsocial/core/time_format.hpp"

#include <gtest/gtest.h>

TEST(TimeFormat, Rfc3339UtcWithMilliseconds) {
    EXPECT_EQ(bsocial::format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(bsocial::format_rfc3339_ms(1'795'860'930'123), "2026-11-28T10:15:30.123Z");
    EXPECT_EQ(bsocial::format_rfc3339_ms(951'782'400'005), "2000-02-29T00:00:00.005Z");
}

TEST(TimeFormat, EveryFieldPaddedAcrossTheRange) {
    EXPECT_EQ(bsocial::format_rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
    EXPECT_EQ(bsocial::format_rfc3339_ms(253'402'300'799'999), "9999-12-31T23:59:59.999Z");
    EXPECT_EQ(bsocial::format_rfc3339_ms(-62'135'596'800'000), "0001-01-01T00:00:00.000Z");
    EXPECT_EQ(bsocial::format_rfc3339_ms(1'000'000'000'007), "2001-09-09T01:46:40.007Z");
    // Beyond four digits of year the old printf form is kept.
    EXPECT_EQ(bsocial::format_rfc3339_ms(253'402'300'800'000), "10000-01-01T00:00:00.000Z");
}

using bsocial::parse_rfc3339_ms;

TEST(ParseRfc3339, ReadsBackWhatFormatWrites) {
    for (const std::int64_t ms : {0LL, 1'795'860'930'123LL, 951'782'400'005LL, 1LL, 86'399'999LL})
        EXPECT_EQ(parse_rfc3339_ms(bsocial::format_rfc3339_ms(ms)), ms) << ms;
    EXPECT_EQ(parse_rfc3339_ms("2026-11-28T10:15:30.123Z"), 1'795'860'930'123);
}

TEST(ParseRfc3339, FractionalSecondsOfAnyLengthCutToMilliseconds) {
    EXPECT_EQ(parse_rfc3339_ms("2026-11-28T10:15:30Z"), 1'795'860'930'000);
    EXPECT_EQ(parse_rfc3339_ms("2026-11-28T10:15:30.1Z"), 1'795'860'930'100);
    EXPECT_EQ(parse_rfc3339_ms("2026-11-28T10:15:30.12Z"), 1'795'860'930'120);
    EXPECT_EQ(parse_rfc3339_ms("2026-11-28T10:15:30.123999Z"), 1'795'860'930'123);
    EXPECT_EQ(parse_rfc3339_ms("2026-11-28T10:15:30.Z"), std::nullopt) << "a dot needs digits";
}

TEST(ParseRfc3339, ZuluAndOffsets) {
    const std::int64_t utc = 1'795'860'930'123;  // 2026-11-28T10:15:30.123Z
    EXPECT_EQ(parse_rfc3339_ms("2026-11-28t10:15:30.123z"), utc);
    EXPECT_EQ(parse_rfc3339_ms("2026-11-28T10:15:30.123+00:00"), utc);
    EXPECT_EQ(parse_rfc3339_ms("2026-11-28T10:15:30.123-00:00"), utc);
    EXPECT_EQ(parse_rfc3339_ms("2026-11-28T11:45:30.123+01:30"), utc);
    EXPECT_EQ(parse_rfc3339_ms("2026-11-28T05:15:30.123-05:00"), utc);
    EXPECT_EQ(parse_rfc3339_ms("2026-11-29T00:15:30.123+14:00"), utc) << "across midnight";
}

TEST(ParseRfc3339, RefusesBadInput) {
    for (const char* bad : {
             "",
             "2026-11-28",
             "2026-11-28T10:15:30",            // no zone
             "2026-11-28T10:15:30.123",        // no zone
             "2026-11-28 10:15:30.123Z",       // space for T
             "2026-11-28T10:15:30.123Z ",      // trailing byte
             " 2026-11-28T10:15:30.123Z",      // leading space
             "2026-11-28T10:15:30.123+0100",   // offset without colon
             "2026-11-28T10:15:30.123+01",     // short offset
             "2026-11-28T10:15:30.123+24:00",  // offset hour
             "2026-11-28T10:15:30.123+01:60",  // offset minute
             "2026-13-28T10:15:30.123Z",       // month
             "2026-00-28T10:15:30.123Z",       // month
             "2026-02-29T10:15:30.123Z",       // not a leap year
             "2026-11-31T10:15:30.123Z",       // day
             "2026-11-28T24:00:00.000Z",       // hour
             "2026-11-28T10:60:30.123Z",       // minute
             "2026-11-28T10:15:60.123Z",       // leap second: not representable
             "2026-1-28T10:15:30.123Z",        // short field
             "+026-11-28T10:15:30.123Z",       // sign in a field
             "2026-11-28T10:15:3a.123Z",       // letter in a field
             "2026-11-28T10:15:30,123Z",       // comma fraction
         })
        EXPECT_EQ(parse_rfc3339_ms(bad), std::nullopt) << '"' << bad << '"';
}
