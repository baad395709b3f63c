#include "bsocial/core/utf8.hpp"

#include <gtest/gtest.h>

TEST(Utf8, AcceptsWellFormedText) {
    EXPECT_TRUE(bsocial::is_valid_utf8(""));
    EXPECT_TRUE(bsocial::is_valid_utf8("plain ascii"));
    EXPECT_TRUE(bsocial::is_valid_utf8("élan — 漢字 😀"));
}

TEST(Utf8, RejectsMalformedText) {
    EXPECT_FALSE(bsocial::is_valid_utf8("\xff"));
    EXPECT_FALSE(bsocial::is_valid_utf8("\xc3"));              // truncated
    EXPECT_FALSE(bsocial::is_valid_utf8("\xc0\xaf"));          // overlong '/'
    EXPECT_FALSE(bsocial::is_valid_utf8("\xed\xa0\x80"));      // surrogate
    EXPECT_FALSE(bsocial::is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
    EXPECT_FALSE(
        bsocial::is_valid_utf8("a\x80"
                               "b"));  // stray continuation
}
