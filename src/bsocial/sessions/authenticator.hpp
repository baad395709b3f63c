#pragma once
// Who is calling: the bearer token (Authorization header) or, for the browser, the
// session cookie. Identity always comes from the verified token, never from the body,
// path or query. Cookie-authenticated writes must come from our own origin (against CSRF).

#include <optional>
#include <string>
#include <vector>

#include "bsocial/http/message.hpp"
#include "bsocial/sessions/session_service.hpp"

namespace bsocial::sessions {

inline constexpr const char* session_cookie_name = "bsocial_session";
/// The name when the cookie is Secure (TLS): the __Host- prefix makes the browser refuse it
/// unless it was set by this very host over HTTPS with Path=/ and no Domain, so neither a
/// sibling subdomain nor a plain-HTTP page can plant or shadow it.
inline constexpr const char* secure_session_cookie_name = "__Host-bsocial_session";

class authenticator {
  public:
    authenticator(const session_service& sessions, std::vector<std::string> allowed_origins,
                  bool cookie_secure, std::int64_t token_ttl_seconds);

    /// The caller, or error{unauthorized | forbidden_origin}. Blocking (one SQL lookup).
    identity require(const http::request& req) const;

    /// require() without SQL, on an I/O thread (http::memory_handler): the caller when
    /// the token's session is known valid in memory, the same errors as require() when
    /// none needs SQL to decide, nullopt when only SQL can tell (then call require() on
    /// the pool). Never blocks.
    std::optional<identity> require_in_memory(const http::request& req) const;

    /// The caller of a WebSocket handshake: like require(), but a foreign Origin is refused
    /// whatever carries the token (a browser sends cookies with cross-site handshakes).
    identity require_websocket(const http::request& req) const;

    /// Set-Cookie values for a new session and for logging out.
    std::string session_cookie(const std::string& token) const;
    std::string cleared_cookie() const;
    /// The cookie's name: secure_session_cookie_name when Secure, else session_cookie_name.
    const char* cookie_name() const;

  private:
    bool origin_allowed(const http::request& req) const;
    identity identify(const http::request& req, bool always_check_origin) const;
    /// The request's token (throws what require() throws before the session check).
    std::string_view token_of(const http::request& req, bool always_check_origin,
                              std::string& cookie_token) const;

    const session_service& sessions_;
    std::vector<std::string> allowed_origins_;
    bool cookie_secure_;
    std::int64_t token_ttl_seconds_;
};

/// The value of cookie `name` in a Cookie header, if present.
std::optional<std::string> cookie_value(const std::string& header, const std::string& name);

}  // namespace bsocial::sessions
