#pragma once
// Sessions: a signed token (auth::token_service) per login, checked on every request,
// revoked at logout. Credentials (register, password check) are social::accounts; this
// service starts once they passed. Blocking (SQL): call from the blocking-work pool.
// Thread-safe; lives as long as the process.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bsocial/auth/jwt.hpp"
#include "bsocial/core/clock.hpp"
#include "bsocial/sessions/session_cache.hpp"
#include "bsocial/social/models.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::sessions {

/// The caller of a request, once its token was checked.
struct identity {
    social::user who;
    auth::token_claims claims;
};

class session_service {
  public:
    /// A revocation is kept this long after its token expired (clock skew between instances).
    static constexpr std::int64_t revocation_prune_margin_seconds = 86400;

    /// `cache`: the checked sessions in memory, only when this process is the one serve
    /// of its database (session_cache.hpp); nullptr: every check reads SQL.
    session_service(store::database& db, const auth::token_service& tokens, const clock& clock,
                    session_cache* cache = nullptr);

    /// Issues a token for `who` (whose credentials were checked) and records user.logged_in.
    auth::issued_token open(const social::user& who);

    /// nullopt when the token is malformed, forged, expired or revoked, or its user is gone.
    std::optional<identity> authenticate(std::string_view token) const;

    /// authenticate() without SQL, for a request answered on an I/O thread: `invalid` when
    /// the token is malformed, forged or expired (no SQL needed to know), the identity
    /// when the checked sessions in memory know it valid, else `needs_sql` (not cached,
    /// or no cache: PostgreSQL). Never blocks.
    enum class memory_check { found, invalid, needs_sql };
    memory_check authenticate_in_memory(std::string_view token,
                                        std::optional<identity>& out) const;

    /// Revokes the caller's token everywhere at once and records user.logged_out. Also
    /// forgets revocations whose token expired more than a day ago
    /// (revocation_prune_margin_seconds: clocks of instances differ). Twice is harmless.
    void revoke(const identity& caller);

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
};

}  // namespace bsocial::sessions
