#include "bsocial/sessions/session_service.hpp"

#include <soci/soci.h>

#include "bsocial/events/event.hpp"
#include "bsocial/outbox/outbox.hpp"
#include "bsocial/sessions/sql.hpp"
#include "bsocial/social/user_rows.hpp"
#include "bsocial/store/statement.hpp"

namespace bsocial::sessions {

namespace {
events::user_fields fields_of(const social::user& u) { return {u.id, u.username, u.email}; }
}  // namespace

session_service::session_service(store::database& db, const auth::token_service& tokens,
                                 const clock& clock, session_cache* cache)
    : db_(db), tokens_(tokens), clock_(clock), cache_(cache) {}

auth::issued_token session_service::open(const social::user& who) {
    auto token = tokens_.issue(who.id);
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    store::write_transaction tx(sql, db_);
    outbox::append_to_outbox(sql, events::user_logged_in(fields_of(who), clock_.now_ms()));
    tx.commit();
    return token;
}

std::optional<identity> session_service::authenticate(std::string_view token) const {
    auto claims = tokens_.verify(token);
    if (!claims) return std::nullopt;
    if (cache_) {
        if (auto who = cache_->find(claims->jti, claims->user_id))
            return identity{std::move(*who), std::move(*claims)};
    }
    const std::uint64_t epoch = cache_ ? cache_->epoch() : 0;
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    auto found = db_.statements().run<social::user>(sql, queries::find_unrevoked_user,
                                                    {claims->user_id, claims->jti},
                                                    social::detail::bind_user);
    if (found.empty()) return std::nullopt;
    if (cache_) cache_->put(claims->jti, found.front(), epoch);
    return identity{std::move(found.front()), std::move(*claims)};
}

session_service::memory_check session_service::authenticate_in_memory(
    std::string_view token, std::optional<identity>& out) const {
    auto claims = tokens_.verify(token);
    if (!claims) return memory_check::invalid;
    if (!cache_) return memory_check::needs_sql;
    auto who = cache_->find(claims->jti, claims->user_id);
    if (!who) return memory_check::needs_sql;
    out.emplace(identity{std::move(*who), std::move(*claims)});
    return memory_check::found;
}

void session_service::revoke(const identity& caller) {
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    store::write_transaction tx(sql, db_);
    const std::int64_t now_ms = clock_.now_ms();
    const std::int64_t now_s = now_ms / 1000;
    sql << queries::revoke_token, soci::use(caller.claims.jti), soci::use(caller.claims.expires_at);
    // Forgotten only a day after the token expired by this instance's clock: the instances
    // that check tokens have clocks of their own, and one whose clock is behind (or this
    // one's ahead: a VM resumed, a time zone taken for UTC) would otherwise accept a token
    // whose revocation was already pruned (issue 24, item 6).
    const std::int64_t forget_before = now_s - revocation_prune_margin_seconds;
    sql << queries::prune_revoked_tokens, soci::use(forget_before);
    outbox::append_to_outbox(sql, events::user_logged_out(fields_of(caller.who), now_ms));
    tx.commit();
    if (cache_) cache_->revoked(caller.claims.jti);
}

std::vector<std::string> session_service::revoked_unexpired() const {
    return revoked_unexpired(db_.requests());
}

std::vector<std::string> session_service::revoked_unexpired(store::session_pool& pool) const {
    std::vector<std::string> revoked;
    store::lease sql_lease(pool);
    soci::session& sql = *sql_lease;
    const std::int64_t now_s = clock_.now_ms() / 1000;
    std::string jti;
    soci::statement st =
        (sql.prepare << queries::revoked_unexpired, soci::use(now_s), soci::into(jti));
    st.execute();
    while (st.fetch()) revoked.push_back(jti);
    return revoked;
}

}  // namespace bsocial::sessions
