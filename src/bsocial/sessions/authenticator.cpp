#include "bsocial/sessions/authenticator.hpp"

#include <algorithm>
#include <string_view>

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

namespace {

/// The last entry of a comma-separated header value, trimmed: the one our own (trusted)
/// proxy wrote when proxies in front of it appended theirs.
std::string last_entry(const std::string& value) {
    const auto comma = value.rfind(',');
    std::string_view v(value);
    if (comma != std::string::npos) v.remove_prefix(comma + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return std::string(v);
}

/// Whether `origin` is the origin the browser addressed: scheme and host[:port] of this
/// request. Behind a trusted proxy, X-Forwarded-Host and X-Forwarded-Proto (when present)
/// say what the browser used; from anyone else they are ignored. Without a known scheme
/// either is accepted (the server itself speaks plain HTTP; TLS ends in front of it).
bool same_origin(const http::request& req, const std::string& origin) {
    const std::string* host_header = req.header("host");
    std::string host = host_header ? *host_header : std::string();
    std::string scheme;
    if (req.peer_trusted) {
        if (const auto* h = req.header("x-forwarded-host")) host = last_entry(*h);
        if (const auto* p = req.header("x-forwarded-proto")) scheme = ascii_lower(last_entry(*p));
    }
    if (host.empty()) return false;
    if (!scheme.empty()) return origin == scheme + "://" + host;
    return origin == "http://" + host || origin == "https://" + host;
}

}  // namespace

bool authenticator::origin_allowed(const http::request& req) const {
    if (const auto* site = req.header("sec-fetch-site"); site && *site == "cross-site")
        return false;
    const auto* origin = req.header("origin");
    if (!origin) return true;  // not a browser cross-origin request; SameSite=Strict also holds
    if (same_origin(req, *origin)) return true;
    return std::find(allowed_origins_.begin(), allowed_origins_.end(), *origin) !=
           allowed_origins_.end();
}

identity authenticator::require(const http::request& req) const { return identify(req, false); }

identity authenticator::require_websocket(const http::request& req) const {
    return identify(req, true);
}

std::string_view authenticator::token_of(const http::request& req, bool always_check_origin,
                                        std::string& cookie_token) const {
    std::optional<std::string_view> token;
    bool from_cookie = false;
    if (const auto* authz = req.header("authorization")) {
        constexpr std::string_view scheme = "Bearer ";
        if (authz->size() > scheme.size() && ascii_istarts_with(*authz, scheme))
            token = std::string_view(*authz).substr(scheme.size());
        else
            throw error(error_code::unauthorized,
                        "the Authorization header must be Bearer <token>");
    } else if (const auto* cookies = req.header("cookie")) {
        // Only the name this configuration sets: with Secure, a plain "bsocial_session"
        // could have been planted by a sibling subdomain or over plain HTTP.
        if (auto value = cookie_value(*cookies, cookie_name())) {
            cookie_token = std::move(*value);
            token = cookie_token;
            from_cookie = true;
        }
    }
    if (!token) throw error(error_code::unauthorized, "authentication required");
    const bool state_changing = req.method != "GET" && req.method != "HEAD";
    if ((always_check_origin || (from_cookie && state_changing)) && !origin_allowed(req))
        throw error(error_code::forbidden_origin, "cross-origin request refused");
    return *token;
}

identity authenticator::identify(const http::request& req, bool always_check_origin) const {
    std::string cookie_token;
    const std::string_view token = token_of(req, always_check_origin, cookie_token);
    auto who = sessions_.authenticate(token);
    if (!who) throw error(error_code::unauthorized, "invalid or expired token");
    return std::move(*who);
}

std::optional<identity> authenticator::require_in_memory(const http::request& req) const {
    std::string cookie_token;
    const std::string_view token = token_of(req, false, cookie_token);
    std::optional<identity> who;
    switch (sessions_.authenticate_in_memory(token, who)) {
        case session_service::memory_check::found:
            return who;
        case session_service::memory_check::invalid:
            throw error(error_code::unauthorized, "invalid or expired token");
        case session_service::memory_check::needs_sql:
            break;
    }
    return std::nullopt;
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
