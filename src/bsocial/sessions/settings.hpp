#pragma once
// The settings of sessions (core/settings.hpp): the session cookie, the origins allowed
// to write with it, and who the administrators are.

#include <stdexcept>
#include <string>
#include <vector>

namespace bsocial::sessions {

struct cookie_settings {
    bool secure = false;                       ///< behind TLS: __Host-bsocial_session with Secure
    std::vector<std::string> allowed_origins;  ///< extra origins for cookie-authenticated writes

    void validate() const {}
    template <class Declare>
    void describe(Declare& d) {
        d(secure, "cookie-secure", "BSOCIAL_COOKIE_SECURE", "mark the session cookie Secure (TLS)");
        d(allowed_origins, "allowed-origins", "BSOCIAL_ALLOWED_ORIGINS",
          "extra origins allowed for cookie-authenticated writes");
    }
};

/// Checked sessions in memory on PostgreSQL (session_cache.hpp): revocations reach every
/// replica over the cluster bus; an entry is believed this long after its SQL read, the
/// backstop bound for a revocation whose message was lost. SQLite's one serve believes its
/// entries until revoked (it alone revokes them).
struct session_cache_settings {
    int believe_ms = 2000;

    void validate() const {
        if (believe_ms < 0 || believe_ms > 3'600'000)
            throw std::invalid_argument(
                "session cache believe ms must be 0..3600000 (BSOCIAL_SESSION_CACHE_BELIEVE_MS)");
    }
    template <class Declare>
    void describe(Declare& d) {
        d(believe_ms, "session-cache-believe-ms", "BSOCIAL_SESSION_CACHE_BELIEVE_MS",
          "PostgreSQL: a checked session is believed this long without SQL, the bound for a "
          "logout whose cluster-bus message was lost (0: every request reads SQL)");
    }
};

/// Startup warming (feed_warmer.hpp): the users of the sessions used most recently get
/// their session and their feed's first page into this process's caches, in the
/// background, right after serve starts listening.
/// Login warming too: a login's (or a session read from SQL's) user gets their feed's
/// first page built in the background, at most `login_queue` users waiting.
struct warm_settings {
    int users = 1000;
    int login_queue = 256;

    void validate() const {
        if (users < 0 || users > 1'000'000)
            throw std::invalid_argument("feed warm users must be 0..1000000 (BSOCIAL_FEED_WARM_USERS)");
        if (login_queue < 0 || login_queue > 100'000)
            throw std::invalid_argument(
                "feed login warm queue must be 0..100000 (BSOCIAL_FEED_LOGIN_WARM_QUEUE)");
    }
    template <class Declare>
    void describe(Declare& d) {
        d(users, "feed-warm-users", "BSOCIAL_FEED_WARM_USERS",
          "at start, load the sessions used most recently (this many at most, no more than "
          "BSOCIAL_FEED_CACHE_USERS users) and their feed's first page into memory, in the "
          "background (0: none)");
        d(login_queue, "feed-login-warm-queue", "BSOCIAL_FEED_LOGIN_WARM_QUEUE",
          "after a login (or a session's first request read from SQL), build that user's feed's "
          "first page in the background, one at a time, this many users waiting at most (more "
          "are dropped and counted in /metrics; 0: off)");
    }
};

/// BSOCIAL_ADMINS: a bootstrap of the administrators (roles.hpp: accounts holding the role,
/// managed with `bsocial admin`): they see /api/v1/analytics.
struct admin_settings {
    std::vector<std::string> admins;

    void validate() const {}
    template <class Declare>
    void describe(Declare& d) {
        d(admins, "admins", "BSOCIAL_ADMINS",
          "usernames made administrators (they see /api/v1/analytics) if their accounts exist "
          "at the first start that lists them (else warned about, never granted); "
          "comma-separated; then: bsocial admin grant|revoke|list");
    }
};

}  // namespace bsocial::sessions
