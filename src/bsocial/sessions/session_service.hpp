#pragma once
// Sessions: a signed token (auth::token_service) per login, checked on every request,
// revoked at logout. Credentials (register, password check) are social::accounts; this
// service starts once they passed. Blocking (SQL): call from the blocking-work pool.
// Thread-safe; lives as long as the process.

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <string_view>
#include <vector>

#include "bsocial/auth/jwt.hpp"
#include "bsocial/core/clock.hpp"
#include "bsocial/sessions/session_cache.hpp"
#include "bsocial/social/models.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::sessions {

/// One open session (a login's token), as GET /api/v1/sessions lists it (issue 28).
struct session_info {
    std::string id;                ///< the token's jti
    std::int64_t created_at = 0;   ///< ms
    std::int64_t last_used_at = 0; ///< ms, written at most once a minute (last_use_interval_ms)
    std::int64_t expires_at = 0;   ///< s
    std::string user_agent;        ///< of the login, at most max_user_agent_bytes
    std::string ip;                ///< the client address of the login
};

/// The caller of a request, once its token was checked.
struct identity {
    social::user who;
    auth::token_claims claims;
};

class session_service {
  public:
    /// A revocation is kept this long after its token expired (clock skew between instances).
    static constexpr std::int64_t revocation_prune_margin_seconds = 86400;

    /// `cache`: the checked sessions in memory (session_cache.hpp: on SQLite for the one
    /// serve of the file; on PostgreSQL kept right by the cluster bus, each entry believed
    /// for a bounded time); nullptr: every check reads SQL.
    session_service(store::database& db, const auth::token_service& tokens, const clock& clock,
                    session_cache* cache = nullptr);

    /// A session's last use is written when a request comes at least this long after the
    /// last write by this instance (at most one write a minute per session and instance).
    static constexpr std::int64_t last_use_interval_ms = 60000;

    /// Issues a token for `who` (whose credentials were checked), records the session
    /// (user_sessions: the login's User-Agent and client address) and user.logged_in.
    auth::issued_token open(const social::user& who, std::string_view user_agent = {},
                            std::string_view ip = {});

    /// The open sessions of `user_id` (not revoked, not expired), newest first.
    std::vector<session_info> list(std::int64_t user_id) const;
    /// Ends the session `id` of the caller (any of their own, the current one included):
    /// false when the caller has no such open session (someone else's is "no such").
    bool revoke_session(const identity& caller, const std::string& id);
    /// Ends every open session of the caller but the current one; how many it ended.
    int revoke_other_sessions(const identity& caller);

    /// Called after each revocation committed (logout, revoke_session, revoke_other_sessions)
    /// with (user id, jti): serve publishes "session.revoked" on the cluster bus, so every
    /// replica drops the session from its cache and closes its sockets at once. Set before
    /// serving.
    void on_revoked(std::function<void(std::int64_t, const std::string&)> f) {
        on_revoked_ = std::move(f);
    }

    /// Called with the user's id when a login's credentials passed (at the start of open(),
    /// before its session is written) and when a valid session was read from SQL (its
    /// first request here, or its belief ran out): serve hands it to the login warming
    /// (feed_warmer::enqueue), which must not block. Set before serving.
    void on_active(std::function<void(std::int64_t)> f) { on_active_ = std::move(f); }

    /// nullopt when the token is malformed, forged, expired or revoked, or its user is gone.
    std::optional<identity> authenticate(std::string_view token) const;

    /// authenticate() without SQL, for a request answered on an I/O thread: `invalid` when
    /// the token is malformed, forged or expired (no SQL needed to know), the identity
    /// when the checked sessions in memory know it valid, else `needs_sql` (not cached,
    /// believed too long, no cache, or the session's last use is due to be written).
    /// Never blocks (two mutexes held for microseconds).
    enum class memory_check { found, invalid, needs_sql };
    memory_check authenticate_in_memory(std::string_view token,
                                        std::optional<identity>& out) const;

    /// Revokes the caller's token everywhere at once and records user.logged_out. Also
    /// forgets revocations whose token expired more than a day ago
    /// (revocation_prune_margin_seconds: clocks of instances differ). Twice is harmless.
    void revoke(const identity& caller);

    /// Startup warming (feed_warmer.hpp): the `limit` open sessions used most recently,
    /// read in one statement on `sql` and put into the cache as authenticate() would (the
    /// epoch taken before the read: a revocation heard meanwhile drops them), their last
    /// use as written (so the next write is due a minute after it, not at once). Returns
    /// their users' ids, most recently used first, each once.
    std::vector<std::int64_t> warm(soci::session& sql, int limit) const;

    /// The ids (jti) of revoked tokens that have not expired yet: one query, run by the
    /// notification hub once per revocation check to close the sockets of ended sessions.
    std::vector<std::string> revoked_unexpired() const;
    /// The same over `pool` (a background worker's own connection).
    std::vector<std::string> revoked_unexpired(store::session_pool& pool) const;

  private:
    store::database& db_;
    const auth::token_service& tokens_;
    const clock& clock_;
    session_cache* cache_;
    std::function<void(std::int64_t, const std::string&)> on_revoked_;
    std::function<void(std::int64_t)> on_active_;
    /// Revokes `jti` (expiring at `expires_at`) in the caller's transaction: the revocation,
    /// the session row gone, user.logged_out.
    void revoke_in(soci::session& sql, const social::user& who, const std::string& jti,
                   std::int64_t expires_at, std::int64_t now_ms) const;
    void revoked_committed(std::int64_t user_id, const std::string& jti) const;
    /// Writes the last use of `jti` when this instance has not in last_use_interval_ms.
    /// `held`: the connection the caller already holds, if any (never a second lease).
    void touch(const std::string& jti, soci::session* held = nullptr) const;
    /// Whether touch() would write the last use of `jti` now.
    bool touch_due(const std::string& jti, std::int64_t now_ms) const;
    mutable std::mutex touched_mutex_;
    mutable std::unordered_map<std::string, std::int64_t> touched_;  ///< jti -> ms written
};

}  // namespace bsocial::sessions
