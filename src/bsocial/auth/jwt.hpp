#pragma once
// HS256 JSON Web Tokens on OpenSSL HMAC, following RFC 8725: the algorithm is pinned
// (the header must say HS256; "none" and everything else are refused), the key is always
// ours, and iss, aud, exp, iat, nbf, sub and jti are all checked. Thread-safe (immutable).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "bsocial/core/clock.hpp"

namespace bsocial::auth {
class verified_tokens;
}

namespace bsocial::auth {

struct token_claims {
    std::int64_t user_id = 0;     ///< "sub"
    std::string jti;              ///< unique token id, the handle for revocation
    std::int64_t issued_at = 0;   ///< seconds since epoch
    std::int64_t expires_at = 0;  ///< seconds since epoch
};

struct issued_token {
    std::string token;
    token_claims claims;
};

/// Raw HMAC-SHA256 of `signing_input` under `key` (32 bytes).
std::string hs256_sign(std::string_view signing_input, std::string_view key);

class token_service {
  public:
    static constexpr std::size_t max_token_length = 4096;

    token_service(std::string secret, const clock& clock, std::int64_t ttl_seconds,
                  std::string issuer = "bsocial", std::string audience = "bsocial-api");

    issued_token issue(std::int64_t user_id) const;

    /// The claims of a valid token; nullopt for anything malformed, forged or expired.
    /// A token verified before is found in memory (verified_tokens.hpp): no HMAC, no
    /// JSON, its expiry checked again.
    std::optional<token_claims> verify(std::string_view token) const;

    token_service(const token_service&) = delete;
    token_service& operator=(const token_service&) = delete;
    ~token_service();

  private:
    std::optional<token_claims> verify_uncached(std::string_view token) const;

    std::string secret_;
    const clock& clock_;
    std::int64_t ttl_seconds_;
    std::string issuer_;
    std::string audience_;
    std::unique_ptr<verified_tokens> verified_;
};

}  // namespace bsocial::auth
