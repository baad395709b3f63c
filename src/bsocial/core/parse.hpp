#pragma once
// Whole-string integer parsing. One place for what several modules wrote by hand.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace bsocial {

/// The base-10 integer that is the whole of s, or nullopt. An optional leading '-' is the
/// only sign; no '+', no spaces, no trailing bytes, nothing out of the int64 range.
inline std::optional<std::int64_t> parse_int64(std::string_view s) noexcept {
    std::int64_t v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
    return v;
}

/// A database id: parse_int64(s) when it is > 0, else nullopt.
inline std::optional<std::int64_t> parse_positive_id(std::string_view s) noexcept {
    const auto v = parse_int64(s);
    if (!v || *v <= 0) return std::nullopt;
    return v;
}

}  // namespace bsocial
