// The helpers of social/validation.hpp that validation_test.cpp does not reach directly.

#include <gtest/gtest.h>

#include "bsocial/social/validation.hpp"

using namespace bsocial::social;

TEST(TextRules, Utf8LengthCountsCodePointsNotBytes) {
    EXPECT_EQ(utf8_length(""), 0u);
    EXPECT_EQ(utf8_length("abc"), 3u);
    EXPECT_EQ(utf8_length("\xC3\xA9t\xC3\xA9"), 3u);         // "été"
    EXPECT_EQ(utf8_length("\xF0\x9F\x98\x80!"), 2u);         // U+1F600 then "!"
    EXPECT_EQ(utf8_length("\xE2\x82\xAC\xE2\x82\xAC"), 2u);  // two euro signs
}

TEST(TextRules, ToLowerChangesAsciiLettersOnly) {
    EXPECT_EQ(to_lower("MiXeD_09"), "mixed_09");
    EXPECT_EQ(to_lower("\xC3\x89T\xC3\x89"), "\xC3\x89t\xC3\x89") << "non-ASCII stays as it is";
}

TEST(TextRules, TrimRemovesAsciiWhiteSpaceAtBothEndsOnly) {
    EXPECT_EQ(trim(" \t\r\n\f\va b\t\n"), "a b");
    EXPECT_EQ(trim("   "), "");
    EXPECT_EQ(trim(""), "");
    EXPECT_EQ(trim("\xC2\xA0x"), "\xC2\xA0x") << "a no-break space is not ASCII white space";
}

TEST(TextRules, NormaliseEmailTrimsAndLowerCasesTheWholeAddress) {
    EXPECT_EQ(normalise_email("  Ada.Lovelace@Example.ORG "), "ada.lovelace@example.org");
}

TEST(TextRules, FindFormatCharacterFindsInvisibleCharacters) {
    EXPECT_FALSE(find_format_character("plain text, \xC3\xA9t\xC3\xA9", false));
    EXPECT_EQ(find_format_character("a\xE2\x80\xAE"
                                    "b",
                                    false),
              char32_t{0x202E});                                                    // RLO
    EXPECT_EQ(find_format_character("\xE2\x80\x8B", true), char32_t{0x200B});       // ZWSP
    EXPECT_EQ(find_format_character("x\xEF\xBB\xBF", true), char32_t{0xFEFF});      // BOM
    EXPECT_EQ(find_format_character("\xF3\xA0\x80\x81", true), char32_t{0xE0001});  // tag
    // ZWJ and ZWNJ only when joiners are allowed.
    EXPECT_FALSE(find_format_character("\xE2\x80\x8D\xE2\x80\x8C", true));
    EXPECT_EQ(find_format_character("\xE2\x80\x8D", false), char32_t{0x200D});
}

TEST(TextRules, LooksLikeUsernameIsTheShapeOfAPathParameter) {
    EXPECT_TRUE(looks_like_username("abc"));
    EXPECT_TRUE(looks_like_username("Ada_Lovelace_1815"));
    EXPECT_TRUE(looks_like_username(std::string(30, 'z')));
    EXPECT_FALSE(looks_like_username("ab"));
    EXPECT_FALSE(looks_like_username(std::string(31, 'z')));
    for (const char* bad : {"a-b", "a b", "a.b", "../x", "\xC3\xA9lan", "me%20"})
        EXPECT_FALSE(looks_like_username(bad)) << bad;
}

TEST(TextRules, CheckNameAndTextRefuseFormatCharacters) {
    std::string name = " Ada\xE2\x80\xAE ";
    EXPECT_EQ(check_name(name), "must not contain invisible formatting characters (U+202E)");
    std::string text = "hi\xE2\x81\xA6there";  // U+2066 LRI
    EXPECT_EQ(check_text(text, max_post_length),
              "must not contain invisible formatting characters (U+2066)");
}
