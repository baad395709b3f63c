#pragma once
// Checked sessions in memory, for the one serve of a SQLite file (docs/feed.md, "One
// serve per file"): a token whose session SQL found valid is then checked without SQL,
// so a warm feed page needs no SQL at all. Only that serve can revoke a session (logout
// is an API call), so revoked() here is the whole truth; several serves, or PostgreSQL,
// keep checking SQL. The token's signature and expiry are still checked on every request
// (auth::token_service::verify), before this cache is asked.
//
// A check that read SQL while a logout of the same token committed could put back what
// the logout just removed: put() drops a row when any revocation happened since its read
// began (epoch()). Least recently used sessions are dropped beyond `max_sessions`.
// Thread-safe.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "bsocial/core/lru_map.hpp"
#include "bsocial/social/models.hpp"

namespace bsocial::sessions {

class session_cache {
  public:
    explicit session_cache(std::size_t max_sessions);

    /// Changes with every revocation: take it before reading the session from SQL.
    std::uint64_t epoch() const;
    /// The user of the valid session `jti` of user `user_id`, if known.
    std::optional<social::user> find(const std::string& jti, std::int64_t user_id);
    /// Keeps the session `jti` of `who`, read from SQL as valid after epoch() returned
    /// `epoch`, unless a session was revoked since.
    void put(const std::string& jti, const social::user& who, std::uint64_t epoch);
    /// Right after the revocation of `jti` committed.
    void revoked(const std::string& jti);

    std::size_t size() const;

  private:
    mutable std::mutex mutex_;
    lru_map<std::string, social::user> sessions_;  ///< by jti
    std::uint64_t epoch_ = 0;
};

}  // namespace bsocial::sessions
