#include "bsocial/sessions/authenticator.hpp"

#include <algorithm>

#include "bsocial/core/error.hpp"
#include "bsocial/core/text.hpp"

namespace bsocial::sessions {

std::optional<std::string> cookie_value(const std::string& header, const std::string& name) {
    std::size_t pos = 0;
    while (pos < header.size()) {
        while (pos < header.size() && (header[pos] == ' ' || header[pos] == ';')) ++pos;
        const auto end = header.find(';', pos);
        const std::string pair = header.substr(pos, end == std::string::npos ? end : end - pos);
        const auto eq = pair.find('=');
        if (eq != std::string::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
        if (end == std::string::npos) break;
        pos = end + 1;
    }
    return std::nullopt;
}

authenticator::authenticator(const session_service& sessions,
                             std::vector<std::string> allowed_origins, bool cookie_secure,
                             std::int64_t token_ttl_seconds)
    : sessions_(sessions),
      allowed_origins_(std::move(allowed_origins)),
      cookie_secure_(cookie_secure),
      token_ttl_seconds_(token_ttl_seconds) {}

bool authenticator::origin_allowed(const http::request& req) const {
    if (const auto* site = req.header("sec-fetch-site"); site && *site == "cross-site")
        return false;
    const auto* origin = req.header("origin");
    if (!origin) return true;  // not a browser cross-origin request; SameSite=Strict also holds
    if (const auto* host = req.header("host")) {
        if (*origin == "http://" + *host || *origin == "https://" + *host) return true;
    }
    return std::find(allowed_origins_.begin(), allowed_origins_.end(), *origin) !=
           allowed_origins_.end();
}

identity authenticator::require(const http::request& req) const { return identify(req, false); }

identity authenticator::require_websocket(const http::request& req) const {
    return identify(req, true);
}

identity authenticator::identify(const http::request& req, bool always_check_origin) const {
    std::optional<std::string> token;
    bool from_cookie = false;
    if (const auto* authz = req.header("authorization")) {
        constexpr std::string_view scheme = "Bearer ";
        if (authz->size() > scheme.size() && ascii_istarts_with(*authz, scheme))
            token = authz->substr(scheme.size());
        else
            throw error(error_code::unauthorized,
                        "the Authorization header must be Bearer <token>");
    } else if (const auto* cookies = req.header("cookie")) {
        // Only the name this configuration sets: with Secure, a plain "bsocial_session"
        // could have been planted by a sibling subdomain or over plain HTTP.
        token = cookie_value(*cookies, cookie_name());
        from_cookie = token.has_value();
    }
    if (!token) throw error(error_code::unauthorized, "authentication required");
    const bool state_changing = req.method != "GET" && req.method != "HEAD";
    if ((always_check_origin || (from_cookie && state_changing)) && !origin_allowed(req))
        throw error(error_code::forbidden_origin, "cross-origin request refused");
    auto who = sessions_.authenticate(*token);
    if (!who) throw error(error_code::unauthorized, "invalid or expired token");
    return std::move(*who);
}

const char* authenticator::cookie_name() const {
    return cookie_secure_ ? secure_session_cookie_name : session_cookie_name;
}

std::string authenticator::session_cookie(const std::string& token) const {
    return std::string(cookie_name()) + "=" + token +
           "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(token_ttl_seconds_) +
           (cookie_secure_ ? "; Secure" : "");
}

std::string authenticator::cleared_cookie() const {
    return std::string(cookie_name()) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" +
           (cookie_secure_ ? "; Secure" : "");
}

}  // namespace bsocial::sessions
