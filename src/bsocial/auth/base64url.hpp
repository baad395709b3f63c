#pragma once
// base64url without padding (RFC 4648 section 5), as JWTs and our cursors use it.

#include <optional>
#include <string>
#include <string_view>

namespace bsocial::auth {

std::string base64url_encode(std::string_view bytes);

/// nullopt for any character outside the alphabet, padding, or an impossible length.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace bsocial::auth
