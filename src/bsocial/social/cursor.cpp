#include "bsocial/social/cursor.hpp"

#include <algorithm>

#include "bsocial/auth/base64url.hpp"
#include "bsocial/core/parse.hpp"
#include "bsocial/social/validation.hpp"

namespace bsocial::social {

namespace {
constexpr std::string_view time_prefix = "t1:";
constexpr std::string_view name_prefix = "n1:";
}  // namespace

std::string encode_cursor(const time_cursor& c) {
    return auth::base64url_encode(std::string(time_prefix) + std::to_string(c.created_at) + ":" +
                                  std::to_string(c.id));
}

std::string encode_cursor(std::string_view name) {
    return auth::base64url_encode(std::string(name_prefix) + std::string(name));
}

std::optional<time_cursor> decode_time_cursor(std::string_view text) {
    if (text.size() > 200) return std::nullopt;
    const auto raw = auth::base64url_decode(text);
    if (!raw || raw->rfind(time_prefix, 0) != 0) return std::nullopt;
    const std::string_view body = std::string_view(*raw).substr(time_prefix.size());
    const auto colon = body.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    const auto at = parse_int64(body.substr(0, colon));
    const auto id = parse_int64(body.substr(colon + 1));
    if (!at || !id || *id <= 0 || *at < 0) return std::nullopt;
    return time_cursor{*at, *id};
}

std::optional<std::string> decode_name_cursor(std::string_view text) {
    if (text.size() > 200) return std::nullopt;
    auto raw = auth::base64url_decode(text);
    if (!raw || raw->rfind(name_prefix, 0) != 0) return std::nullopt;
    std::string name = raw->substr(name_prefix.size());
    // Only what encode_cursor is given: a stored (lower-case) username. Any other bytes
    // never came from us, and invalid UTF-8 would make PostgreSQL refuse the query.
    const bool lower_case = std::none_of(name.begin(), name.end(),
                                         [](char c) { return c >= 'A' && c <= 'Z'; });
    if (!looks_like_username(name) || !lower_case) return std::nullopt;
    return name;
}

}  // namespace bsocial::social
