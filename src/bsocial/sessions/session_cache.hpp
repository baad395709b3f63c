#pragma once
// Checked sessions in memory: a token whose session SQL found valid is then checked without
// SQL, so a warm feed page needs no SQL at all (docs/performance.md). The token's signature
// and expiry are still checked on every request (auth::token_service::verify), before this
// cache is asked.
//
// - SQLite (one serve per file: docs/feed.md): only this process can revoke a session
//   (logout is an API call), so revoked() here is the whole truth and an entry is believed
//   for as long as it is kept (believe_forever).
// - PostgreSQL (several replicas): a revocation on any replica reaches every replica's
//   cache over the cluster bus ("session.revoked" -> revoked(); a resync -> clear()),
//   normally within milliseconds. The backstop for a message that never came (a replica
//   that died between its commit and its publish, a LISTEN connection silently gone):
//   an entry is believed for `believe_ms` after the SQL read that found it began, then
//   read again. A revocation whose message is lost is therefore refused everywhere at
//   most `believe_ms` after it committed.
//
// A check that read SQL while a revocation of the same token committed could put back
// what the revocation just removed: put() drops a row when any revocation (or clear())
// happened since its read began (epoch()). Least recently used sessions are dropped
// beyond `max_sessions`. Thread-safe (one mutex, held for microseconds: the I/O threads
// ask it).

#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <string>

#include "bsocial/core/lru_map.hpp"
#include "bsocial/social/models.hpp"

namespace bsocial::sessions {

class session_cache {
  public:
    /// An entry is good until revoked() or evicted (the one serve of a SQLite file).
    static constexpr std::int64_t believe_forever = std::numeric_limits<std::int64_t>::max();

    /// `believe_ms` (> 0): how long after its SQL read an entry answers without SQL.
    explicit session_cache(std::size_t max_sessions, std::int64_t believe_ms = believe_forever);

    /// Changes with every revocation and clear(): take it before reading the session from SQL.
    std::uint64_t epoch() const;
    /// The user of the valid session `jti` of user `user_id`, if known and read from SQL
    /// less than believe_ms before `now_ms` (an older entry is dropped: read SQL again).
    std::optional<social::user> find(const std::string& jti, std::int64_t user_id,
                                     std::int64_t now_ms);
    /// Keeps the session `jti` of `who`, read from SQL as valid by a read that began at
    /// `read_at_ms`, after epoch() returned `epoch`, unless a session was revoked since.
    /// A row already there is replaced (its time renewed).
    void put(const std::string& jti, const social::user& who, std::uint64_t epoch,
             std::int64_t read_at_ms);
    /// Right after the revocation of `jti` committed (here, or on any replica: the bus).
    void revoked(const std::string& jti);
    /// Forgets every session (the cluster bus reconnected: revocations may have been missed).
    void clear();

    std::size_t size() const;
    std::int64_t believe_ms() const noexcept { return believe_ms_; }
    /// Its /metrics lines: sessions held, checks answered from memory, entries too old to
    /// believe, revocations heard, clears (bus resyncs).
    std::string metrics() const;

  private:
    struct entry {
        social::user who;
        std::int64_t read_at_ms = 0;
    };
    const std::int64_t believe_ms_;
    mutable std::mutex mutex_;
    lru_map<std::string, entry> sessions_;  ///< by jti
    std::uint64_t epoch_ = 0;
    std::uint64_t hits_ = 0, expired_ = 0, revocations_ = 0, clears_ = 0;  ///< guarded by mutex_
};

}  // namespace bsocial::sessions
