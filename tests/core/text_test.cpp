#include "bsocial/core/text.hpp"

#include <gtest/gtest.h>

// Issue 9 item 12: ASCII only; bytes >= 0x80 (UTF-8) are left alone, whatever the locale.
TEST(Text, AsciiLowerLeavesNonAsciiBytesAlone) {
    EXPECT_EQ(bsocial::ascii_lower("Bearer ÉCOLE Zz"), "bearer École zz");
    for (int b = 0x80; b <= 0xFF; ++b) {
        const char c = static_cast<char>(b);
        EXPECT_EQ(bsocial::ascii_lower(c), c) << b;
    }
    EXPECT_TRUE(bsocial::ascii_iequals("BEARER", "bearer"));
    EXPECT_FALSE(bsocial::ascii_iequals("\xC3\x89", "\xC3\xA9"));  // É vs é: not ASCII
    EXPECT_TRUE(bsocial::ascii_istarts_with("bEaReR abc", "Bearer "));
    EXPECT_FALSE(bsocial::ascii_istarts_with("Bear", "Bearer "));
}
