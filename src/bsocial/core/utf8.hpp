#pragma once

#include <string_view>

namespace bsocial {

/// True when s is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept;

}  // namespace bsocial
