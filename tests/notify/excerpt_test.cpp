// notify::post_excerpt_of: the one-line name of a post in a notification group (issue 27).
#include <gtest/gtest.h>

#include <string>

#include "bsocial/core/utf8.hpp"
#include "bsocial/notify/notifications.hpp"

using bsocial::notify::post_excerpt_of;

namespace {
std::string repeat(const std::string& s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += s;
    return out;
}
std::size_t code_points(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}
const std::string ellipsis = "…";
bool ends_with_ellipsis(const std::string& s) {
    return s.size() >= ellipsis.size() && s.compare(s.size() - ellipsis.size(), ellipsis.size(), ellipsis) == 0;
}
}  // namespace

TEST(PostExcerpt, ShortTextIsKeptWhole) {
    EXPECT_EQ(post_excerpt_of("Hello world"), "Hello world");
    EXPECT_EQ(post_excerpt_of(repeat("a", 80)), repeat("a", 80));  // exactly the limit
    EXPECT_EQ(post_excerpt_of(""), "");
}

TEST(PostExcerpt, WhitespaceBecomesOneLine) {
    EXPECT_EQ(post_excerpt_of("  first line\n\n\tsecond   line \r\n"), "first line second line");
}

TEST(PostExcerpt, LongWordIsCutAtTheLimitWithEllipsis) {
    const auto e = post_excerpt_of(repeat("b", 81));
    EXPECT_EQ(e, repeat("b", 80) + ellipsis);
}

TEST(PostExcerpt, CutsAtASpaceNearTheEnd) {
    // 75 letters, a space, then a long word: cut before the word, not inside it.
    const std::string text = repeat("x", 75) + " " + repeat("y", 30);
    EXPECT_EQ(post_excerpt_of(text), repeat("x", 75) + ellipsis);
}

TEST(PostExcerpt, MultiByteTextIsCutOnCodePoints) {
    // Hebrew (2 bytes each), Japanese (3 bytes), emoji (4 bytes): never a broken byte sequence.
    for (const std::string unit : {"ש", "日", "😀"}) {
        const auto e = post_excerpt_of(repeat(unit, 200));
        EXPECT_TRUE(bsocial::is_valid_utf8(e)) << unit;
        EXPECT_TRUE(ends_with_ellipsis(e)) << unit;
        EXPECT_EQ(code_points(e), 81u) << unit;  // 80 + the ellipsis
    }
}

TEST(PostExcerpt, CombiningMarksStayWithTheirLetter) {
    // "é" written e + U+0301: the 80th letter's accent is kept (81 code points + …).
    const std::string e_acute = "e\xCC\x81";
    const auto e = post_excerpt_of(repeat(e_acute, 100));
    EXPECT_EQ(e, repeat(e_acute, 40) + ellipsis);  // 40 letters = 80 code points
    const auto odd = post_excerpt_of("a" + repeat(e_acute, 100));
    // 'a' + 39 full letters = 79 code points, the 40th letter's base is the 80th: its mark follows.
    EXPECT_EQ(odd, "a" + repeat(e_acute, 40) + ellipsis);
}

TEST(PostExcerpt, EmojiSequencesAndFlagsStayWhole) {
    // family: man ZWJ woman ZWJ girl (5 code points); cut in its middle keeps all of it.
    const std::string family = "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7";
    auto e = post_excerpt_of(repeat("a", 78) + family + "tail tail tail");
    EXPECT_EQ(e, repeat("a", 78) + family + ellipsis);
    // thumbs up + skin tone modifier
    const std::string thumb = "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD";
    e = post_excerpt_of(repeat("a", 79) + thumb + "zz");
    EXPECT_EQ(e, repeat("a", 79) + thumb + ellipsis);
    // flags: pairs of regional indicators; 79 letters then flags: the first flag whole.
    const std::string fr = "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7";
    e = post_excerpt_of(repeat("a", 79) + fr + fr + fr);
    EXPECT_EQ(e, repeat("a", 79) + fr + ellipsis);
    // an even number of indicators before the limit: the cut falls between two flags.
    e = post_excerpt_of(repeat("a", 78) + fr + fr);
    EXPECT_EQ(e, repeat("a", 78) + fr + ellipsis);
}

TEST(PostExcerpt, VariationSelectorIsKept) {
    const std::string heart = "\xE2\x9D\xA4\xEF\xB8\x8F";  // U+2764 U+FE0F
    const auto e = post_excerpt_of(repeat("a", 79) + heart + "bb");
    EXPECT_EQ(e, repeat("a", 79) + heart + ellipsis);
}
