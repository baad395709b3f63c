#pragma once
// Who is an administrator: accounts, by id, with the role in the `account_roles` table
// (issue 24, item 1). Administrators see the analytics (src/bsocial/analytics); GET
// /api/v1/users/me tells the web app with `is_admin`.
//
// `roles` answers from the database, so every replica sees a grant or a revocation: the
// administrators' ids are read in one query and believed for `ttl` (2 s), then read again
// on the next question. Thread-safe; blocking (SQL): call from the blocking-work pool.
//
// Managing them (`bsocial admin grant|revoke|list`, and BSOCIAL_ADMINS at start) is the
// free functions below, each one write transaction.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bsocial/social/models.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::sessions {

class roles {
  public:
    static constexpr std::chrono::milliseconds default_ttl{2000};

    explicit roles(store::database& db, std::chrono::milliseconds ttl = default_ttl);

    /// True when `who`'s account holds the administrator role (as read at most `ttl` ago).
    bool is_admin(const social::user& who) const;
    /// How many accounts hold it (read now).
    std::size_t admin_count() const;

  private:
    std::set<std::int64_t> admins_now() const;  ///< caller holds mutex_

    store::database& db_;
    std::chrono::milliseconds ttl_;
    mutable std::mutex mutex_;
    mutable std::set<std::int64_t> admin_ids_;                ///< guarded by mutex_
    mutable std::chrono::steady_clock::time_point read_at_{};  ///< guarded by mutex_
    mutable bool read_ = false;                                ///< guarded by mutex_
};

/// An administrator as `bsocial admin list` prints it.
struct admin_account {
    std::int64_t id = 0;
    std::string username;
    std::int64_t granted_at = 0;  ///< ms
};

enum class role_change {
    done,          ///< granted (or revoked)
    unchanged,     ///< already held (or not held)
    no_such_user,  ///< nobody holds that username
};

/// Grants the administrator role to the account named `username` (case-insensitive).
/// `id` receives the account's id when there is one.
role_change grant_admin(store::database& db, const std::string& username, std::int64_t now_ms,
                        std::int64_t* id = nullptr);
/// Takes it back.
role_change revoke_admin(store::database& db, const std::string& username,
                         std::int64_t* id = nullptr);
/// Every administrator, by username.
std::vector<admin_account> list_admins(store::database& db);

/// What BSOCIAL_ADMINS did for one name at this start.
struct bootstrap_outcome {
    std::string username;
    enum class kind {
        granted,          ///< the account existed: now an administrator
        already_decided,  ///< an earlier start decided this name (granted then, or not): nothing
        nobody_holds_it,  ///< no such account: nothing granted, ever, by this list
    } what;
    std::optional<std::int64_t> account_id;
};

/// BSOCIAL_ADMINS as a bootstrap: each name is decided once, at the first start that lists
/// it. An account that holds the name then becomes an administrator; a name nobody holds
/// then is recorded as such, and registering it later grants nothing (not even at a later
/// start): only `bsocial admin grant` does. Several instances starting together agree (the
/// first decision stands). A later revocation sticks though the name stays listed.
std::vector<bootstrap_outcome> bootstrap_admins(store::database& db,
                                                const std::vector<std::string>& names,
                                                std::int64_t now_ms);

}  // namespace bsocial::sessions
