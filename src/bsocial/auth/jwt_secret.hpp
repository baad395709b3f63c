#pragma once
// Whether a configured JWT signing secret may be used. Whoever knows the secret can sign a
// token for any user (administrators included), so `serve` and `notifier` refuse, at
// start, a secret that is too short to resist guessing or that has been published: the
// former compose/.env.example default, the examples of well-known JWT tools, a value that
// asks to be changed, or one character repeated (the unit tests' kind of key).

#include <optional>
#include <string>
#include <string_view>

namespace bsocial::auth {

/// Shortest secret accepted, in bytes (HS256: a key as long as the hash, RFC 7518 §3.2).
inline constexpr std::size_t min_jwt_secret_bytes = 32;

/// Why `secret` must not sign tokens (one line, naming BSOCIAL_JWT_SECRET and what to do),
/// or nullopt when it may.
std::optional<std::string> jwt_secret_problem(std::string_view secret);

}  // namespace bsocial::auth
