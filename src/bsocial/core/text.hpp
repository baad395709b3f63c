#pragma once
// ASCII-only text helpers. std::tolower on a plain char is undefined for bytes >= 0x80 and
// depends on the locale; these never look at the locale and leave non-ASCII bytes alone.

#include <algorithm>
#include <string>
#include <string_view>

namespace bsocial {

constexpr char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// s with A-Z turned into a-z; every other byte (UTF-8 included) unchanged.
inline std::string ascii_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) { return ascii_lower(c); });
    return out;
}

/// Case-insensitive (ASCII) equality.
constexpr bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_lower(x) == ascii_lower(y);
           });
}

/// Case-insensitive (ASCII) prefix test.
constexpr bool ascii_istarts_with(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && ascii_iequals(s.substr(0, prefix.size()), prefix);
}

}  // namespace bsocial
