#include "bsocial/social/search_keys.hpp"

#include <algorithm>
#include <cstdint>

namespace bsocial::social {

namespace {

/// Decodes one code point at s[i]; advances i. Returns -1 for an invalid sequence (one byte
/// skipped).
std::int32_t next_code_point(std::string_view s, std::size_t& i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
        ++i;
        return b0;
    }
    int len = 0;
    std::int32_t cp = 0;
    if ((b0 & 0xE0) == 0xC0) {
        len = 2;
        cp = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
        len = 3;
        cp = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
        len = 4;
        cp = b0 & 0x07;
    } else {
        ++i;
        return -1;
    }
    if (i + static_cast<std::size_t>(len) > s.size()) {
        ++i;
        return -1;
    }
    for (int k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
        if ((b & 0xC0) != 0x80) {
            ++i;
            return -1;
        }
        cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr std::int32_t min_of_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_of_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        ++i;
        return -1;
    }
    i += static_cast<std::size_t>(len);
    return cp;
}

void append_utf8(std::string& out, std::int32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

// U+00C0..U+00FF, lower-cased and stripped; "" for the signs × and ÷ (separators),
// multi-letter spellings for Æ, Þ, ß, æ, þ.
constexpr const char* latin1[] = {
    // À    Á    Â    Ã    Ä    Å    Æ     Ç    È    É    Ê    Ë    Ì    Í    Î    Ï
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    // Ð    Ñ    Ò    Ó    Ô    Õ    Ö    ×   Ø    Ù    Ú    Û    Ü    Ý    Þ     ß
    "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "ss",
    // à    á    â    ã    ä    å    æ     ç    è    é    ê    ë    ì    í    î    ï
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    // ð    ñ    ò    ó    ô    õ    ö    ÷   ø    ù    ú    û    ü    ý    þ     ÿ
    "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "y"};
static_assert(sizeof(latin1) / sizeof(latin1[0]) == 64, "one entry per code point U+00C0..U+00FF");

// U+0100..U+017F (Latin Extended-A): the base letter of each, pairs upper/lower.
constexpr const char* latin_ext_a =
    "aaaaaaccccccccdddd"    // 0100-0111 (Đ đ -> d)
    "eeeeeeeeee"            // 0112-011B
    "gggggggg"              // 011C-0123
    "hhhh"                  // 0124-0127
    "iiiiiiiiii"            // 0128-0131 (ı -> i)
    "\x01\x01"              // 0132-0133 Ĳ ĳ -> "ij"
    "jj"                    // 0134-0135
    "kkk"                   // 0136-0138 (ĸ)
    "llllllllll"            // 0139-0142 (Ł ł -> l)
    "nnnnnnnnn"             // 0143-014B (ŉ, Ŋ ŋ)
    "oooooo"                // 014C-0151
    "\x02\x02"              // 0152-0153 Œ œ -> "oe"
    "rrrrrr"                // 0154-0159
    "ssssssss"              // 015A-0161
    "tttttt"                // 0162-0167
    "uuuuuuuuuuuu"          // 0168-0173
    "ww"                    // 0174-0175
    "yyy"                   // 0176-0178
    "zzzzzz"                // 0179-017E
    "s";                    // 017F ſ

constexpr std::size_t cstrlen(const char* s) {
    std::size_t n = 0;
    while (s[n]) ++n;
    return n;
}
static_assert(cstrlen(latin_ext_a) == 0x80, "one letter per code point U+0100..U+017F");

bool is_combining_mark(std::int32_t cp) {
    return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
           (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
           (cp >= 0xFE20 && cp <= 0xFE2F);
}

/// Appends the folded form of `cp` to out; a separator appends ' '.
void fold_code_point(std::string& out, std::int32_t cp) {
    if (cp < 0x80) {
        const char c = static_cast<char>(cp);
        if (c >= 'A' && c <= 'Z')
            out.push_back(static_cast<char>(c - 'A' + 'a'));
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
            out.push_back(c);
        else
            out.push_back(' ');  // space, punctuation, controls
        return;
    }
    if (is_combining_mark(cp)) return;
    if (cp >= 0xC0 && cp <= 0xFF) {
        const char* s = latin1[cp - 0xC0];
        if (*s == '\0')
            out.push_back(' ');
        else
            out += s;
        return;
    }
    if (cp >= 0x80 && cp < 0xC0) {  // Latin-1 punctuation and symbols (NBSP, «, ·, ...)
        if (cp == 0xAA) out.push_back('a');
        else if (cp == 0xBA) out.push_back('o');
        else out.push_back(' ');
        return;
    }
    if (cp >= 0x100 && cp <= 0x17F) {
        const char c = latin_ext_a[cp - 0x100];
        if (c == '\x01') out += "ij";
        else if (c == '\x02') out += "oe";
        else out.push_back(c);
        return;
    }
    if (cp >= 0x180 && cp <= 0x24F) {  // Latin Extended-B: the common ones
        switch (cp) {
            case 0x1CD: case 0x1CE: case 0x1FA: case 0x1FB: case 0x200: case 0x201: case 0x202:
            case 0x203: out.push_back('a'); return;
            case 0x1FC: case 0x1FD: out += "ae"; return;
            case 0x1CF: case 0x1D0: case 0x208: case 0x209: case 0x20A: case 0x20B:
                out.push_back('i'); return;
            case 0x1D1: case 0x1D2: case 0x1FE: case 0x1FF: case 0x20C: case 0x20D: case 0x20E:
            case 0x20F: case 0x1A0: case 0x1A1: out.push_back('o'); return;
            case 0x1D3: case 0x1D4: case 0x1D5: case 0x1D6: case 0x1D7: case 0x1D8: case 0x1D9:
            case 0x1DA: case 0x1DB: case 0x1DC: case 0x1AF: case 0x1B0: case 0x214: case 0x215:
            case 0x216: case 0x217: out.push_back('u'); return;
            case 0x218: case 0x219: out.push_back('s'); return;
            case 0x21A: case 0x21B: out.push_back('t'); return;
            case 0x204: case 0x205: case 0x206: case 0x207: out.push_back('e'); return;
            case 0x210: case 0x211: case 0x212: case 0x213: out.push_back('r'); return;
            case 0x180: case 0x181: out.push_back('b'); return;
            case 0x189: case 0x18A: out.push_back('d'); return;
            case 0x191: case 0x192: out.push_back('f'); return;
            case 0x197: out.push_back('i'); return;
            case 0x19A: out.push_back('l'); return;
            case 0x1B5: case 0x1B6: out.push_back('z'); return;
            default: break;
        }
        append_utf8(out, cp);
        return;
    }
    if (cp >= 0x1E00 && cp <= 0x1EFF) {  // Latin Extended Additional (Vietnamese, Welsh ...)
        // Pairs upper/lower; the base letter of each pair, by ranges of this block.
        static constexpr struct {
            std::int32_t from, to;
            char base;
        } ranges[] = {{0x1E00, 0x1E01, 'a'}, {0x1E02, 0x1E07, 'b'}, {0x1E08, 0x1E09, 'c'},
                      {0x1E0A, 0x1E13, 'd'}, {0x1E14, 0x1E1D, 'e'}, {0x1E1E, 0x1E1F, 'f'},
                      {0x1E20, 0x1E21, 'g'}, {0x1E22, 0x1E2B, 'h'}, {0x1E2C, 0x1E2F, 'i'},
                      {0x1E30, 0x1E35, 'k'}, {0x1E36, 0x1E3D, 'l'}, {0x1E3E, 0x1E43, 'm'},
                      {0x1E44, 0x1E4B, 'n'}, {0x1E4C, 0x1E53, 'o'}, {0x1E54, 0x1E57, 'p'},
                      {0x1E58, 0x1E5F, 'r'}, {0x1E60, 0x1E69, 's'}, {0x1E6A, 0x1E71, 't'},
                      {0x1E72, 0x1E7B, 'u'}, {0x1E7C, 0x1E7F, 'v'}, {0x1E80, 0x1E89, 'w'},
                      {0x1E8A, 0x1E8D, 'x'}, {0x1E8E, 0x1E8F, 'y'}, {0x1E90, 0x1E95, 'z'},
                      {0x1E96, 0x1E96, 'h'}, {0x1E97, 0x1E97, 't'}, {0x1E98, 0x1E98, 'w'},
                      {0x1E99, 0x1E99, 'y'}, {0x1E9E, 0x1E9E, 's'}, {0x1EA0, 0x1EB7, 'a'},
                      {0x1EB8, 0x1EC7, 'e'}, {0x1EC8, 0x1ECB, 'i'}, {0x1ECC, 0x1EE3, 'o'},
                      {0x1EE4, 0x1EF1, 'u'}, {0x1EF2, 0x1EF9, 'y'}};
        for (const auto& r : ranges) {
            if (cp >= r.from && cp <= r.to) {
                if (cp == 0x1E9E) out += "ss";
                else out.push_back(r.base);
                return;
            }
        }
        append_utf8(out, cp);
        return;
    }
    // Greek and Cyrillic capitals to lower case (the basic blocks).
    if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) cp += 0x20;
    else if (cp >= 0x388 && cp <= 0x38A) cp += 0x25;  // Έ Ή Ί -> έ ή ί
    else if (cp >= 0x410 && cp <= 0x42F) cp += 0x20;
    else if (cp >= 0x400 && cp <= 0x40F) cp += 0x50;
    // General punctuation and spaces: separators.
    if ((cp >= 0x2000 && cp <= 0x206F) || cp == 0x3000 || (cp >= 0xFE10 && cp <= 0xFE19)) {
        out.push_back(' ');
        return;
    }
    append_utf8(out, cp);
}

/// s cut to at most `bytes`, on a character boundary.
std::string cut(std::string s, std::size_t bytes) {
    if (s.size() <= bytes) return s;
    std::size_t end = bytes;
    while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
    s.resize(end);
    return s;
}

void add_unique(std::vector<std::string>& keys, std::string key, std::size_t most) {
    if (key.empty() || keys.size() >= most) return;
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
}

}  // namespace

std::string fold_text(std::string_view text) {
    std::string raw;
    raw.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const std::int32_t cp = next_code_point(text, i);
        if (cp < 0) continue;
        fold_code_point(raw, cp);
    }
    std::string out;
    out.reserve(raw.size());
    for (const char c : raw) {
        if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
        out.push_back(c);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

std::vector<std::string> fold_tokens(std::string_view text) {
    const std::string folded = fold_text(text);
    std::vector<std::string> tokens;
    std::size_t pos = 0;
    while (pos < folded.size()) {
        auto end = folded.find(' ', pos);
        if (end == std::string::npos) end = folded.size();
        add_unique(tokens, cut(folded.substr(pos, end - pos), max_key_bytes), SIZE_MAX);
        pos = end + 1;
    }
    return tokens;
}

std::vector<std::string> search_keys_of(std::string_view username, std::string_view first_name,
                                        std::string_view last_name) {
    std::vector<std::string> keys;
    add_unique(keys, cut(fold_text(username), max_key_bytes), max_keys_per_user);
    for (auto& t : fold_tokens(first_name)) add_unique(keys, std::move(t), max_keys_per_user);
    for (auto& t : fold_tokens(last_name)) add_unique(keys, std::move(t), max_keys_per_user);
    return keys;
}

std::string key_range_end(const std::string& prefix) { return prefix + "\xF4\x8F\xBF\xBF"; }

}  // namespace bsocial::social
