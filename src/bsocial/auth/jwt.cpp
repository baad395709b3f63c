#include "bsocial/auth/jwt.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json.hpp>
#include <stdexcept>

#include "bsocial/auth/base64url.hpp"
#include "bsocial/auth/verified_tokens.hpp"
#include "bsocial/core/parse.hpp"
#include "bsocial/core/random.hpp"
#include "bsocial/core/text.hpp"

namespace bsocial::auth {

namespace json = boost::json;

namespace {
// Clock skew tolerated on iat/nbf between API instances.
constexpr std::int64_t leeway_seconds = 30;

std::optional<json::object> decode_json_part(std::string_view part) {
    auto bytes = base64url_decode(part);
    if (!bytes) return std::nullopt;
    boost::system::error_code ec;
    json::value v = json::parse(*bytes, ec);
    if (ec || !v.is_object()) return std::nullopt;
    return std::move(v.as_object());
}

std::optional<std::int64_t> int_claim(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (!v) return std::nullopt;
    if (v->is_int64()) return v->as_int64();
    if (v->is_uint64() && v->as_uint64() <= INT64_MAX)
        return static_cast<std::int64_t>(v->as_uint64());
    return std::nullopt;
}

bool audience_matches(const json::value* aud, std::string_view expected) {
    if (!aud) return false;
    if (aud->is_string()) return aud->as_string() == expected;
    if (aud->is_array()) {
        for (const auto& a : aud->as_array())
            if (a.is_string() && a.as_string() == expected) return true;
    }
    return false;
}
}  // namespace

std::string hs256_sign(std::string_view signing_input, std::string_view key) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int out_len = 0;
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
              out, &out_len))
        throw std::runtime_error("HMAC-SHA256 failed");
    return std::string(reinterpret_cast<const char*>(out), out_len);
}

token_service::token_service(std::string secret, const clock& clock, std::int64_t ttl_seconds,
                             std::string issuer, std::string audience)
    : secret_(std::move(secret)),
      clock_(clock),
      ttl_seconds_(ttl_seconds),
      issuer_(std::move(issuer)),
      audience_(std::move(audience)),
      verified_(std::make_unique<verified_tokens>()) {
    if (secret_.size() < 32) throw std::invalid_argument("JWT secret shorter than 32 bytes");
}

issued_token token_service::issue(std::int64_t user_id) const {
    token_claims claims;
    claims.user_id = user_id;
    claims.jti = new_uuid_v4();
    claims.issued_at = clock_.now_seconds();
    claims.expires_at = claims.issued_at + ttl_seconds_;

    const json::object header{{"alg", "HS256"}, {"typ", "JWT"}};
    const json::object payload{
        {"iss", issuer_},          {"aud", audience_},         {"sub", std::to_string(user_id)},
        {"iat", claims.issued_at}, {"exp", claims.expires_at}, {"jti", claims.jti}};
    std::string input = base64url_encode(json::serialize(header)) + "." +
                        base64url_encode(json::serialize(payload));
    std::string signature = base64url_encode(hs256_sign(input, secret_));
    return {input + "." + signature, std::move(claims)};
}

token_service::~token_service() = default;

std::optional<token_claims> token_service::verify(std::string_view token) const {
    if (token.empty() || token.size() > max_token_length) return std::nullopt;
    if (auto claims = verified_->find(token, clock_.now_seconds())) return claims;
    auto claims = verify_uncached(token);
    if (claims) verified_->put(token, *claims);
    return claims;
}

std::optional<token_claims> token_service::verify_uncached(std::string_view token) const {
    if (token.empty() || token.size() > max_token_length) return std::nullopt;
    const auto dot1 = token.find('.');
    if (dot1 == std::string_view::npos) return std::nullopt;
    const auto dot2 = token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
        return std::nullopt;

    const auto header = decode_json_part(token.substr(0, dot1));
    if (!header) return std::nullopt;
    const auto* alg = header->if_contains("alg");
    if (!alg || !alg->is_string() || alg->as_string() != "HS256") return std::nullopt;
    // RFC 7515 4.1.11: a "crit" header names extensions the recipient must understand; we
    // understand none, so any "crit" refuses the token. RFC 8725 3.11: when "typ" is
    // present it must say JWT (ours always does), so another kind of JOSE object signed
    // with the same key is not taken for a session token.
    if (header->contains("crit")) return std::nullopt;
    if (const auto* typ = header->if_contains("typ");
        typ && (!typ->is_string() || !ascii_iequals(typ->as_string(), "JWT")))
        return std::nullopt;

    // Signature before claims: nothing in an unauthenticated payload is trusted.
    const auto signature = base64url_decode(token.substr(dot2 + 1));
    const std::string expected = hs256_sign(token.substr(0, dot2), secret_);
    if (!signature || signature->size() != expected.size() ||
        CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0)
        return std::nullopt;

    const auto payload = decode_json_part(token.substr(dot1 + 1, dot2 - dot1 - 1));
    if (!payload) return std::nullopt;
    const auto* iss = payload->if_contains("iss");
    if (!iss || !iss->is_string() || iss->as_string() != issuer_) return std::nullopt;
    if (!audience_matches(payload->if_contains("aud"), audience_)) return std::nullopt;

    const std::int64_t now = clock_.now_seconds();
    const auto exp = int_claim(*payload, "exp");
    const auto iat = int_claim(*payload, "iat");
    if (!exp || !iat || now >= *exp || *iat > now + leeway_seconds) return std::nullopt;
    if (payload->contains("nbf")) {
        const auto nbf = int_claim(*payload, "nbf");
        if (!nbf || *nbf > now + leeway_seconds) return std::nullopt;
    }

    const auto* sub = payload->if_contains("sub");
    const auto* jti = payload->if_contains("jti");
    if (!sub || !sub->is_string() || !jti || !jti->is_string() || jti->as_string().empty())
        return std::nullopt;
    token_claims claims;
    const auto user_id = parse_positive_id(sub->as_string());
    if (!user_id) return std::nullopt;
    claims.user_id = *user_id;
    claims.jti = std::string(jti->as_string());
    claims.issued_at = *iat;
    claims.expires_at = *exp;
    return claims;
}

}  // namespace bsocial::auth
