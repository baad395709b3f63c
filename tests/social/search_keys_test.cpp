// People search keys (social/search_keys.hpp): folding of case and diacritics, tokens.
#include "bsocial/social/search_keys.hpp"

#include <gtest/gtest.h>

namespace bsocial::social {
namespace {

TEST(SearchKeys, FoldsCaseAndDiacritics) {
    EXPECT_EQ(fold_text("Østergaard"), "ostergaard");
    EXPECT_EQ(fold_text("ØSTERGAARD"), "ostergaard");
    EXPECT_EQ(fold_text("øster"), "oster");
    EXPECT_EQ(fold_text("Oster"), "oster");
    EXPECT_EQ(fold_text("Ærøskøbing"), "aeroskobing");
    EXPECT_EQ(fold_text("Straße"), "strasse");
    EXPECT_EQ(fold_text("Łódź"), "lodz");
    EXPECT_EQ(fold_text("Đorđević"), "dordevic");
    EXPECT_EQ(fold_text("Þórunn"), "thorunn");
    EXPECT_EQ(fold_text("Œuvre"), "oeuvre");
    EXPECT_EQ(fold_text("José Nuñez"), "jose nunez");
    EXPECT_EQ(fold_text("Nguyễn Thị"), "nguyen thi");
    EXPECT_EQ(fold_text("İstanbul ılık"), "istanbul ilik");
    EXPECT_EQ(fold_text("Ştefan Ţepeş"), "stefan tepes");  // cedilla forms
    EXPECT_EQ(fold_text("Ș ș Ț ț"), "s s t t");            // comma-below forms
}

TEST(SearchKeys, DropsCombiningMarks) {
    // "é" written as e + U+0301 (decomposed) folds like the precomposed one
    EXPECT_EQ(fold_text("Jose\xCC\x81"), "jose");
    EXPECT_EQ(fold_text("A\xCC\x8A" "se"), "ase");  // A + ring above
}

TEST(SearchKeys, LowerCasesGreekAndCyrillicAndKeepsOtherScripts) {
    EXPECT_EQ(fold_text("ΑΘΗΝΑ"), "αθηνα");
    EXPECT_EQ(fold_text("ИВАН Ёж"), "иван ёж");
    EXPECT_EQ(fold_text("山田 太郎"), "山田 太郎");
}

TEST(SearchKeys, SeparatorsSplitTokens) {
    EXPECT_EQ(fold_tokens("Anne-Marie"), (std::vector<std::string>{"anne", "marie"}));
    EXPECT_EQ(fold_tokens("  O'Brien,  Jr. "), (std::vector<std::string>{"o", "brien", "jr"}));
    EXPECT_EQ(fold_tokens("anna_k"), (std::vector<std::string>{"anna_k"}));
    EXPECT_EQ(fold_tokens("Ann ann ANN"), (std::vector<std::string>{"ann"}));
    EXPECT_TRUE(fold_tokens(" - . ").empty());
    EXPECT_EQ(fold_tokens("a%b"), (std::vector<std::string>{"a", "b"}));
}

TEST(SearchKeys, InvalidUtf8IsDropped) {
    EXPECT_EQ(fold_text("ab\xFF" "c"), "abc");
    EXPECT_EQ(fold_text("\xC3"), "");              // truncated sequence
    EXPECT_EQ(fold_text("\xC0\xAF" "x"), "x");     // overlong
    EXPECT_EQ(fold_text("\xED\xA0\x80" "y"), "y");  // surrogate
}

TEST(SearchKeys, KeysOfAnAccount) {
    EXPECT_EQ(search_keys_of("soren_o", "Søren", "Østergaard"),
              (std::vector<std::string>{"soren_o", "soren", "ostergaard"}));
    EXPECT_EQ(search_keys_of("ann", "Ann", "Ann"), (std::vector<std::string>{"ann"}));
    const auto many = search_keys_of("x", "a b c d e f g h i j", "k l");
    EXPECT_EQ(many.size(), max_keys_per_user);
    const std::string longname(200, 'z');
    EXPECT_EQ(search_keys_of("u", longname, "")[1].size(), max_key_bytes);
    // cut on a character boundary: 63 'a' + "é" (2 bytes) would pass 64
    const auto cut = fold_tokens(std::string(63, 'a') + "ж");
    EXPECT_EQ(cut.front(), std::string(63, 'a'));
}

TEST(SearchKeys, RangeEndIsAboveEveryContinuation) {
    const std::string end = key_range_end("oster");
    for (const std::string key : {"oster", "ostergaard", "oster\xF0\x9F\x98\x80", "osterzzz",
                                  "oster\xE5\xB1\xB1"})
        EXPECT_LT(key, end) << key;
    EXPECT_GT(std::string("ostes"), end);
    EXPECT_GE(std::string("oster"), std::string("oster"));
}

}  // namespace
}  // namespace bsocial::social
