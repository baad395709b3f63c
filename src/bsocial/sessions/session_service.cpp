#include "bsocial/sessions/session_service.hpp"

#include <soci/soci.h>

#include <unordered_set>

#include "bsocial/core/utf8.hpp"
#include "bsocial/events/event.hpp"
#include "bsocial/outbox/outbox.hpp"
#include "bsocial/sessions/sql.hpp"
#include "bsocial/sessions/user_agent.hpp"
#include "bsocial/social/user_rows.hpp"
#include "bsocial/store/statement.hpp"

namespace bsocial::sessions {

namespace {
events::user_fields fields_of(const social::user& u) { return {u.id, u.username, u.email}; }
}  // namespace

session_service::session_service(store::database& db, const auth::token_service& tokens,
                                 const clock& clock, session_cache* cache)
    : db_(db), tokens_(tokens), clock_(clock), cache_(cache) {}

auth::issued_token session_service::open(const social::user& who, std::string_view user_agent,
                                         std::string_view ip) {
    // The user loads their feed next: its first page is built meanwhile (never blocks).
    if (on_active_) on_active_(who.id);
    auto token = tokens_.issue(who.id);
    // The new session is valid as `who` (read with the credentials, the same columns as
    // authenticate()'s read): into the cache once committed, so the first request after a
    // login needs no session read (a revocation of it before the put would drop it).
    const std::uint64_t epoch = cache_ ? cache_->epoch() : 0;
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    store::write_transaction tx(sql, db_);
    const std::int64_t now_ms = clock_.now_ms();
    std::string agent(user_agent.substr(0, max_user_agent_bytes));
    if (!is_valid_utf8(agent)) agent.clear();  // PostgreSQL refuses invalid UTF-8
    std::string address(ip.substr(0, 64));
    std::int64_t user_id = who.id, last_used = now_ms, expires = token.claims.expires_at;
    sql << queries::insert_session, soci::use(token.claims.jti), soci::use(user_id),
        soci::use(now_ms), soci::use(last_used), soci::use(expires), soci::use(agent),
        soci::use(address);
    outbox::append_to_outbox(sql, events::user_logged_in(fields_of(who), now_ms));
    tx.commit();
    if (cache_) cache_->put(token.claims.jti, who, epoch, now_ms);
    {
        std::lock_guard lock(touched_mutex_);
        if (touched_.size() > 100000) touched_.clear();  // bounded; costs one early write each
        touched_[token.claims.jti] = now_ms;
    }
    return token;
}

bool session_service::touch_due(const std::string& jti, std::int64_t now_ms) const {
    std::lock_guard lock(touched_mutex_);
    const auto it = touched_.find(jti);
    return it == touched_.end() || now_ms - it->second >= last_use_interval_ms;
}

void session_service::touch(const std::string& jti, soci::session* held) const {
    const std::int64_t now_ms = clock_.now_ms();
    {
        std::lock_guard lock(touched_mutex_);
        auto it = touched_.find(jti);
        if (it != touched_.end() && now_ms - it->second < last_use_interval_ms) return;
        if (touched_.size() > 100000) touched_.clear();
        touched_[jti] = now_ms;
    }
    // The caller's connection when it holds one: a second lease could wait forever for a
    // pool whose every connection is held by such a caller.
    std::optional<store::lease> own;
    if (!held) own.emplace(db_);
    soci::session& sql = held ? *held : **own;
    std::int64_t now = now_ms;
    std::string id = jti;
    sql << queries::touch_session, soci::use(now), soci::use(id);
}

std::vector<session_info> session_service::list(std::int64_t user_id) const {
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    std::vector<session_info> out;
    session_info row;
    std::int64_t now_s = clock_.now_ms() / 1000;
    soci::statement st = (sql.prepare << queries::list_sessions, soci::use(user_id),
                          soci::use(now_s), soci::into(row.id), soci::into(row.created_at),
                          soci::into(row.last_used_at), soci::into(row.expires_at),
                          soci::into(row.user_agent), soci::into(row.ip));
    st.execute();
    while (st.fetch()) out.push_back(row);
    return out;
}

void session_service::revoke_in(soci::session& sql, const social::user& who,
                                const std::string& jti, std::int64_t expires_at,
                                std::int64_t now_ms) const {
    std::string id = jti;
    std::int64_t exp = expires_at;
    sql << queries::revoke_token, soci::use(id), soci::use(exp);
    sql << queries::delete_session, soci::use(id);
    outbox::append_to_outbox(sql, events::user_logged_out(fields_of(who), now_ms));
}

void session_service::revoked_committed(std::int64_t user_id, const std::string& jti) const {
    if (cache_) cache_->revoked(jti);
    if (on_revoked_) on_revoked_(user_id, jti);
}

bool session_service::revoke_session(const identity& caller, const std::string& id) {
    if (id.empty() || id.size() > 64) return false;
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    store::write_transaction tx(sql, db_);
    std::int64_t expires_at = 0;
    std::int64_t user_id = caller.who.id;
    std::string jti = id;
    soci::indicator ind = soci::i_null;
    sql << queries::own_session_expiry, soci::use(jti), soci::use(user_id),
        soci::into(expires_at, ind);
    if (!sql.got_data() || ind != soci::i_ok) return false;
    const std::int64_t now_ms = clock_.now_ms();
    if (expires_at <= now_ms / 1000) return false;  // expired: not an open session
    revoke_in(sql, caller.who, jti, expires_at, now_ms);
    tx.commit();
    revoked_committed(caller.who.id, jti);
    return true;
}

int session_service::revoke_other_sessions(const identity& caller) {
    const auto open = list(caller.who.id);
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    store::write_transaction tx(sql, db_);
    const std::int64_t now_ms = clock_.now_ms();
    std::vector<std::string> ended;
    for (const auto& s : open) {
        if (s.id == caller.claims.jti) continue;
        revoke_in(sql, caller.who, s.id, s.expires_at, now_ms);
        ended.push_back(s.id);
    }
    tx.commit();
    for (const auto& jti : ended) revoked_committed(caller.who.id, jti);
    return static_cast<int>(ended.size());
}

std::optional<identity> session_service::authenticate(std::string_view token) const {
    auto claims = tokens_.verify(token);
    if (!claims) return std::nullopt;
    const std::int64_t now_ms = clock_.now_ms();
    if (cache_) {
        if (auto who = cache_->find(claims->jti, claims->user_id, now_ms)) {
            touch(claims->jti);
            return identity{std::move(*who), std::move(*claims)};
        }
    }
    // Epoch and time before the read: a revocation committed after the read began either
    // bumps the epoch (its message came: the row is not kept) or is found by the read.
    const std::uint64_t epoch = cache_ ? cache_->epoch() : 0;
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    auto found = db_.statements().run<social::user>(sql, queries::find_unrevoked_user,
                                                    {claims->user_id, claims->jti},
                                                    social::detail::bind_user);
    if (found.empty()) return std::nullopt;
    if (cache_) cache_->put(claims->jti, found.front(), epoch, now_ms);
    if (on_active_) on_active_(found.front().id);
    touch(claims->jti, &sql);
    return identity{std::move(found.front()), std::move(*claims)};
}

session_service::memory_check session_service::authenticate_in_memory(
    std::string_view token, std::optional<identity>& out) const {
    auto claims = tokens_.verify(token);
    if (!claims) return memory_check::invalid;
    if (!cache_) return memory_check::needs_sql;
    const std::int64_t now_ms = clock_.now_ms();
    auto who = cache_->find(claims->jti, claims->user_id, now_ms);
    if (!who) return memory_check::needs_sql;
    // The session's last use is due (GET /api/v1/sessions): this request goes to the pool,
    // whose authenticate() writes it (once a minute per session and process).
    if (touch_due(claims->jti, now_ms)) return memory_check::needs_sql;
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
    sql << queries::prune_sessions, soci::use(now_s);
    std::string jti = caller.claims.jti;
    sql << queries::delete_session, soci::use(jti);
    outbox::append_to_outbox(sql, events::user_logged_out(fields_of(caller.who), now_ms));
    tx.commit();
    revoked_committed(caller.who.id, caller.claims.jti);
}

namespace {
struct recent_session {
    std::string jti;
    std::int64_t last_used_at = 0;
    social::user who;
};
void bind_recent_session(soci::statement& st, recent_session& r) {
    st.exchange(soci::into(r.jti));
    st.exchange(soci::into(r.last_used_at));
    social::detail::bind_user(st, r.who);
}
}  // namespace

std::vector<std::int64_t> session_service::warm(soci::session& sql, int limit) const {
    if (limit <= 0) return {};
    const std::int64_t now_ms = clock_.now_ms();
    // As authenticate(): the epoch and the time before the read.
    const std::uint64_t epoch = cache_ ? cache_->epoch() : 0;
    const auto rows = db_.statements().run<recent_session>(
        sql, queries::recent_sessions, {now_ms / 1000, std::int64_t{limit}}, bind_recent_session);
    std::vector<std::int64_t> users;
    std::unordered_set<std::int64_t> seen;
    {
        std::lock_guard lock(touched_mutex_);
        for (const auto& r : rows) {
            if (touched_.size() > 100000) break;
            touched_.try_emplace(r.jti, r.last_used_at);
        }
    }
    for (const auto& r : rows) {
        if (cache_) cache_->put(r.jti, r.who, epoch, now_ms);
        if (seen.insert(r.who.id).second) users.push_back(r.who.id);
    }
    return users;
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
