#include "bsocial/auth/jwt_secret.hpp"

#include <algorithm>
#include <array>

#include "bsocial/core/text.hpp"

namespace bsocial::auth {

namespace {

// Values published as examples; never accept them, whatever their length.
constexpr std::array<std::string_view, 3> published_secrets{
    "dev-only-jwt-secret-change-me-0123456789abcdef",  // compose.yaml/.env.example until 2026-12
    "a-string-secret-at-least-256-bits-long",          // jwt.io's example key
    "your-256-bit-secret",                             // jwt.io's former example key
};

constexpr std::string_view advice = "; generate one with: openssl rand -hex 32";

}  // namespace

std::optional<std::string> jwt_secret_problem(std::string_view secret) {
    if (secret.size() < min_jwt_secret_bytes)
        return "BSOCIAL_JWT_SECRET is " + std::to_string(secret.size()) +
               " bytes long; it must be at least 32" + std::string(advice);
    const bool published =
        std::find(published_secrets.begin(), published_secrets.end(), secret) !=
        published_secrets.end();
    const std::string lower = ascii_lower(secret);
    const bool placeholder = lower.find("change-me") != std::string::npos ||
                             lower.find("changeme") != std::string::npos ||
                             lower.find("change_me") != std::string::npos;
    const bool one_character =
        std::all_of(secret.begin(), secret.end(), [&](char c) { return c == secret.front(); });
    if (published || placeholder || one_character)
        return "BSOCIAL_JWT_SECRET is a published example value: anyone can sign tokens with "
               "it" + std::string(advice);
    return std::nullopt;
}

}  // namespace bsocial::auth
