#include "bsocial/social/validation.hpp"

#include <gtest/gtest.h>

using namespace bsocial::social;

TEST(Validation, UsernameIsNormalisedAndChecked) {
    std::string u = "  Alice_01 ";
    EXPECT_FALSE(check_username(u));
    EXPECT_EQ(u, "alice_01");
    for (std::string bad :
         std::vector<std::string>{"ab", "a-b-c", "x' OR '1'='1", std::string(31, 'a'), "élan"}) {
        EXPECT_TRUE(check_username(bad)) << bad;
    }
}

TEST(Validation, EmailShape) {
    std::string ok = " Bob@Example.COM ";
    EXPECT_FALSE(check_email(ok));
    EXPECT_EQ(ok, "bob@example.com");
    for (std::string bad :
         std::vector<std::string>{"bob", "bob@", "@x.io", "bob@x", "a@@b.io", "a b@c.io", "a@b..io",
                                  std::string(250, 'a') + "@x.io"}) {
        EXPECT_TRUE(check_email(bad)) << bad;
    }
}

TEST(Validation, PasswordLengthInCodePointsAndCommonList) {
    bsocial::auth::common_passwords common;
    common.add("password1");
    EXPECT_TRUE(check_password("1234567", common));              // 7
    EXPECT_FALSE(check_password("12345678x", common));           // 9, not common
    EXPECT_TRUE(check_password(std::string(128, 'a') + "b", common));  // 129
    EXPECT_FALSE(check_password(std::string(127, 'a') + "b", common));
    EXPECT_FALSE(check_password("éééééééèé", common));  // 9 code points, 18 bytes
    EXPECT_TRUE(check_password("Password1", common));   // common, any case
    EXPECT_FALSE(
        check_password("this is a long passphrase without any digits or capitals at all", common));
}

TEST(Validation, NamesAndTexts) {
    std::string name = "  Ada  ";
    EXPECT_FALSE(check_name(name));
    EXPECT_EQ(name, "Ada");
    std::string empty = "   ";
    EXPECT_TRUE(check_name(empty));
    std::string ctrl = "A\x01";
    EXPECT_TRUE(check_name(ctrl));
    std::string text = "line one\nline two";
    EXPECT_FALSE(check_text(text, 1000));
    std::string long_text(1001, 'x');
    EXPECT_TRUE(check_text(long_text, 1000));
    std::string exact(1000, 'x');
    EXPECT_FALSE(check_text(exact, 1000));
}

// Issue 9 item 7: bidi overrides/isolates and other invisible format characters.
TEST(Validation, RefusesInvisibleFormatCharacters) {
    const std::vector<std::string> bad = {
        "\u202Egnp.exe",   // RIGHT-TO-LEFT OVERRIDE
        "a\u202Ab",        // LEFT-TO-RIGHT EMBEDDING
        "a\u2066b\u2069",  // LEFT-TO-RIGHT ISOLATE ... POP DIRECTIONAL ISOLATE
        "a\u200Bb",        // ZERO WIDTH SPACE
        "a\u200Fb",        // RIGHT-TO-LEFT MARK
        "\uFEFFhello",     // BOM / ZERO WIDTH NO-BREAK SPACE
        "a\u2060b",        // WORD JOINER
        "soft\u00ADhyphen",
        "tag\U000E0041",  // TAG LATIN CAPITAL LETTER A
    };
    for (auto text : bad) {
        auto name = text;
        EXPECT_TRUE(check_name(name)) << text;
        auto post = text;
        const auto why = check_text(post, max_post_length);
        ASSERT_TRUE(why) << text;
        EXPECT_NE(why->find("invisible"), std::string::npos) << *why;
    }
    // Joiners stay allowed: Persian needs ZWNJ, emoji sequences need ZWJ.
    std::string persian = "\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645";
    EXPECT_FALSE(check_text(persian, max_post_length));
    std::string family = "\U0001F468\u200D\U0001F469\u200D\U0001F467";
    EXPECT_FALSE(check_name(family));
    std::string plain = "Zoë Ågren: ok";
    EXPECT_FALSE(check_text(plain, max_post_length));
}

// Issue 24 item 6: C1 controls (U+009B is a terminal's CSI), the line and paragraph
// separators and the Hangul fillers passed the text checks.
TEST(Validation, RefusesC1ControlsSeparatorsAndFillers) {
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"a\u0080b", "control"},  {"csi\u009B31m", "control"}, {"a\u009Fb", "control"},
        {"a\u2028b", "control"},  {"a\u2029b", "control"},     {"\u3164", "filler"},
        {"a\u115Fb", "filler"},   {"a\u1160b", "filler"},      {"a\uFFA0b", "filler"},
    };
    for (const auto& [text, kind] : bad) {
        auto name = text;
        const auto name_why = check_name(name);
        ASSERT_TRUE(name_why) << text;
        EXPECT_NE(name_why->find(kind), std::string::npos) << *name_why;
        auto post = "before " + text + " after";
        const auto post_why = check_text(post, max_post_length);
        ASSERT_TRUE(post_why) << text;
        EXPECT_NE(post_why->find(kind), std::string::npos) << *post_why;
    }
    // Neighbours stay allowed: U+00A0 (no-break space), U+00E9, Hangul syllables.
    std::string fine = "caf\u00E9\u00A0\uD55C\uAE00 \u00BF\u00A1";
    EXPECT_FALSE(check_text(fine, max_post_length));
    std::string hangul_name = "\uD55C\uAE00";
    EXPECT_FALSE(check_name(hangul_name));
}

// Issue 24 item 6: a password of eight spaces was accepted.
TEST(Validation, PasswordNotOnlySpacesNorOneRepeatedCharacter) {
    bsocial::auth::common_passwords common;
    EXPECT_EQ(check_password("        ", common), "must not be only spaces");
    EXPECT_EQ(check_password(" \t \t \t \t", common), "must not be only spaces");
    EXPECT_EQ(check_password("zzzzzzzzzz", common), "must not be one character repeated");
    EXPECT_EQ(check_password("\u00E9\u00E9\u00E9\u00E9\u00E9\u00E9\u00E9\u00E9", common),
              "must not be one character repeated");
    EXPECT_FALSE(check_password("  spaced out  ", common));  // spaces inside a passphrase are fine
    EXPECT_FALSE(check_password("zzzzzzzzzy", common));
}

// Issue 9 item 7: one mailbox, one spelling: trimmed, lower case, ASCII only.
TEST(Validation, EmailIsNormalisedAndAsciiOnly) {
    std::string e = "\tMiXed.Case@Example.ORG ";
    EXPECT_FALSE(check_email(e));
    EXPECT_EQ(e, "mixed.case@example.org");
    EXPECT_EQ(normalise_email(" A@B.IO"), "a@b.io");
    for (std::string bad : std::vector<std::string>{"zo\u00eb@example.org", "a@exampl\u0435.org",
                                                    "a\u200B@example.org", "a@b\uFF0Eio"}) {
        EXPECT_TRUE(check_email(bad)) << bad;
    }
}
