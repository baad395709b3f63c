#pragma once
// The settings of sessions (core/settings.hpp): the session cookie, the origins allowed
// to write with it, and who the administrators are.

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
