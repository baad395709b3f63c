#pragma once
// The settings of auth (core/settings.hpp): session tokens, password hashing and the
// common-password list, the failed-login and registration limiters.

#include <cstdint>
#include <string>

namespace bsocial::auth {

/// Session tokens (HS256 JWTs).
struct token_settings {
    /// Empty = generated once and kept in the data directory (apps/jwt_secret_file.hpp).
    /// Environment only: a secret never travels in argv.
    std::string jwt_secret;
    std::int64_t ttl_seconds = 86400;

    void validate() const;
    template <class Declare>
    void describe(Declare& d) {
        d(jwt_secret, nullptr, "BSOCIAL_JWT_SECRET",
          "HS256 key, at least 32 characters, the same on every instance (environment only; "
          "empty: generated once into the data directory, mode 0600)");
        d(ttl_seconds, "token-ttl", "BSOCIAL_TOKEN_TTL_SECONDS", "token lifetime in seconds");
    }
};

/// Argon2id on its own pool with a bounded queue, and the passwords refused outright.
struct password_settings {
    std::string common_passwords_path = "/usr/share/john/password.lst";
    int hash_threads = 2;  ///< hashes computed at once (own pool)
    int hash_queue = 16;   ///< hashes allowed to wait; beyond: 503 + Retry-After

    void validate() const;
    template <class Declare>
    void describe(Declare& d) {
        d(hash_threads, "hash-threads", "BSOCIAL_HASH_THREADS", "password hashes computed at once");
        d(hash_queue, "hash-queue", "BSOCIAL_HASH_QUEUE",
          "password hashes allowed to wait; beyond that 503 + Retry-After");
        d(common_passwords_path, "common-passwords", "BSOCIAL_COMMON_PASSWORDS",
          "common-password list file");
    }
};

/// Failed logins (per account and address, 4x per address, a ceiling per account that
/// slows: auth/login_guard.hpp) and registrations (per address).
struct throttle_settings {
    int login_max_failures = 5;
    std::int64_t login_window_seconds = 900;
    int login_throttle_keys = 65536;    ///< keys each limiter remembers at most (LRU)
    int login_identifier_ceiling = 100;  ///< per account, all addresses: beyond it, slowed
    int login_slow_seconds = 2;          ///< ... to one attempt per this many seconds
    int registrations_per_minute = 10;  ///< per client address (token bucket); 0 = no limit
    int registration_burst = 20;        ///< registrations one address may make at once

    void validate() const;
    template <class Declare>
    void describe(Declare& d) {
        d(login_max_failures, "login-max-failures", "BSOCIAL_LOGIN_MAX_FAILURES",
          "failed logins per account (or unknown login) and client address before 429 (4x per "
          "address; docs/security.md)");
        d(login_window_seconds, "login-window", "BSOCIAL_LOGIN_WINDOW_SECONDS",
          "failed-login window in seconds");
        d(login_throttle_keys, "login-throttle-keys", "BSOCIAL_LOGIN_THROTTLE_KEYS",
          "keys each failed-login limiter remembers (least recently used forgotten)");
        d(login_identifier_ceiling, "login-identifier-ceiling", "BSOCIAL_LOGIN_IDENTIFIER_CEILING",
          "failed logins per account (all addresses) within the window beyond which addresses "
          "it never logged in from are slowed (never locked)");
        d(login_slow_seconds, "login-slow-seconds", "BSOCIAL_LOGIN_SLOW_SECONDS",
          "beyond that ceiling: one attempt per this many seconds from such addresses");
        d(registrations_per_minute, "registrations-per-minute", "BSOCIAL_REGISTRATIONS_PER_MINUTE",
          "registrations per client address per minute (0 = no limit)");
        d(registration_burst, "registration-burst", "BSOCIAL_REGISTRATION_BURST",
          "registrations one client address may make at once");
    }
};

}  // namespace bsocial::auth
