#include "bsocial/core/time_format.hpp"

#include <gtest/gtest.h>

TEST(TimeFormat, Rfc3339UtcWithMilliseconds) {
    EXPECT_EQ(bsocial::format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(bsocial::format_rfc3339_ms(1'795'860'930'123), "2026-11-28T10:15:30.123Z");
    EXPECT_EQ(bsocial::format_rfc3339_ms(951'782'400'005), "2000-02-29T00:00:00.005Z");
}
