#pragma once
// Accounts: registration and the password check of a login (credentials). The session a
// login opens, and turning a token back into its user, are sessions::session_service.
// Blocking (SQL, Argon2): call from the blocking-work pool. Thread-safe; lives as long as
// the serve process.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "bsocial/auth/login_guard.hpp"
#include "bsocial/auth/password.hpp"
#include "bsocial/auth/rate_limiter.hpp"
#include "bsocial/core/clock.hpp"
#include "bsocial/social/models.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::social {

struct registration {
    std::string first_name;
    std::string last_name;
    std::string username;
    std::string email;
    std::string password;
    std::string password_confirmation;
};

class accounts {
  public:
    accounts(store::database& db, auth::password_hasher& hasher, auth::login_guard& logins,
             auth::rate_limiter& registrations, const auth::common_passwords& common,
             const clock& clock);

    /// Throws error{validation_failed | already_exists | rate_limited (per client address)
    /// | unavailable (hashing pool full, or the database failed)}.
    user register_user(registration input, const std::string& client_address = {});

    /// `login` is a username or an e-mail. Failures count (auth::login_guard) per client
    /// address, per (account, address) and per account, the account once the login names
    /// one (its username and e-mail share one budget), else the identifier; an attempt
    /// counts before the hash, so parallel guesses cannot pass a limit. Another address's
    /// failures never refuse the owner at theirs.
    /// Returns the account whose password matched; the caller then opens its session
    /// (sessions::session_service::open). Throws error{invalid_credentials | rate_limited |
    /// unavailable}.
    user check_credentials(std::string login, const std::string& password,
                           const std::string& client_address);

    /// Called with the account's id once a login names an existing account and passed the
    /// failed-login budgets, before its password hash is checked (~50 ms of Argon2id): serve
    /// hands it to the login warming (sessions/feed_warmer.hpp), which builds the feed's
    /// first page meanwhile, in the background, bounded. Only a cache is filled: a wrong
    /// password gets nothing from it. Must not block. Set before serving.
    void on_login_found(std::function<void(std::int64_t)> f) { on_login_found_ = std::move(f); }

  private:
    std::function<void(std::int64_t)> on_login_found_;
    store::database& db_;
    auth::password_hasher& hasher_;
    auth::login_guard& logins_;          ///< failed-login budgets
    auth::rate_limiter& registrations_;  ///< registrations per client address
    const auth::common_passwords& common_;
    const clock& clock_;
};

}  // namespace bsocial::social
