#include "bsocial/auth/settings.hpp"

#include <stdexcept>

namespace bsocial::auth {

namespace {
void require(bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(what);
}
}  // namespace

void token_settings::validate() const {
    require(jwt_secret.empty() || jwt_secret.size() >= 32,
            "JWT secret must be at least 32 characters (BSOCIAL_JWT_SECRET)");
    require(ttl_seconds >= 60 && ttl_seconds <= 30 * 86400,
            "token lifetime must be 60..2592000 seconds (BSOCIAL_TOKEN_TTL_SECONDS)");
}

void password_settings::validate() const {
    require(hash_threads >= 1 && hash_threads <= 64,
            "hash threads must be 1..64 (BSOCIAL_HASH_THREADS)");
    require(hash_queue >= 0 && hash_queue <= 1024,
            "hash queue must be 0..1024 (BSOCIAL_HASH_QUEUE)");
}

void throttle_settings::validate() const {
    require(login_max_failures >= 1, "login max failures must be >= 1");
    require(login_window_seconds >= 1, "login window must be >= 1 second");
    require(login_throttle_keys >= 1 && login_throttle_keys <= 10000000,
            "login throttle keys must be 1..10000000 (BSOCIAL_LOGIN_THROTTLE_KEYS)");
    require(login_identifier_ceiling >= 1,
            "login identifier ceiling must be >= 1 (BSOCIAL_LOGIN_IDENTIFIER_CEILING)");
    require(login_slow_seconds >= 1 && login_slow_seconds <= 3600,
            "login slow seconds must be 1..3600 (BSOCIAL_LOGIN_SLOW_SECONDS)");
    require(registrations_per_minute >= 0,
            "registrations per minute must be >= 0 (BSOCIAL_REGISTRATIONS_PER_MINUTE)");
    require(registration_burst >= 1,
            "registration burst must be >= 1 (BSOCIAL_REGISTRATION_BURST)");
}

}  // namespace bsocial::auth
