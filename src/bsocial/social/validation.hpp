#pragma once
// Input rules of docs/api-conventions.md. Each function normalises its input in place
// (trim, lower case) and returns why it is refused, or nullopt when it is fine.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "bsocial/auth/password.hpp"
#include "bsocial/core/error.hpp"

namespace bsocial::social {

inline constexpr std::size_t max_name_length = 100;
inline constexpr std::size_t max_email_length = 254;
inline constexpr std::size_t min_password_length = 8;
inline constexpr std::size_t max_password_length = 128;
inline constexpr std::size_t max_post_length = 1000;
inline constexpr std::size_t max_comment_length = 500;
inline constexpr std::size_t max_username_length = 30;

/// Unicode code points in a valid UTF-8 string.
std::size_t utf8_length(std::string_view s);

/// ASCII lower case of s.
std::string to_lower(std::string_view s);

/// The e-mail address as stored and looked up: trimmed, ASCII lower case (the whole
/// address: docs/security.md, item 7).
std::string normalise_email(std::string_view email);

/// The first invisible formatting code point in (valid UTF-8) s: bidi overrides and
/// isolates, zero-width and other Unicode Cf characters, except U+200C/U+200D (ZWNJ/ZWJ,
/// needed by several scripts and by emoji) when `allow_joiners`. nullopt when none.
std::optional<char32_t> find_format_character(std::string_view s, bool allow_joiners);

/// Removes leading and trailing ASCII white space.
std::string trim(std::string_view s);

std::optional<std::string> check_name(std::string& name);
std::optional<std::string> check_username(std::string& username);
std::optional<std::string> check_email(std::string& email);
std::optional<std::string> check_password(const std::string& password,
                                          const auth::common_passwords& common);
/// Post or comment body: trimmed, 1..max_length code points, no control characters but
/// newline and tab.
std::optional<std::string> check_text(std::string& text, std::size_t max_length);

/// True when s is a plausible username (used for path parameters: anything else is 404).
bool looks_like_username(std::string_view s);

}  // namespace bsocial::social
