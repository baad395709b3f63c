#include "bsocial/sessions/roles.hpp"

#include <soci/soci.h>

#include "bsocial/core/text.hpp"
#include "bsocial/sessions/sql.hpp"
#include "bsocial/social/validation.hpp"

namespace bsocial::sessions {

namespace {
std::string username_of(const std::string& name) { return ascii_lower(social::trim(name)); }

std::optional<std::int64_t> account_id_of(soci::session& sql, const std::string& username) {
    std::int64_t id = 0;
    sql << queries::account_id_by_username, soci::into(id), soci::use(username);
    if (!sql.got_data()) return std::nullopt;
    return id;
}
}  // namespace

roles::roles(store::database& db, std::chrono::milliseconds ttl) : db_(db), ttl_(ttl) {}

std::set<std::int64_t> roles::admins_now() const {
    std::set<std::int64_t> ids;
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    std::int64_t id = 0;
    const std::string role = queries::admin_role;
    soci::statement st = (sql.prepare << queries::accounts_with_role, soci::use(role), soci::into(id));
    st.execute();
    while (st.fetch()) ids.insert(id);
    return ids;
}

bool roles::is_admin(const social::user& who) const {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (!read_ || now - read_at_ >= ttl_) {
        admin_ids_ = admins_now();  // throws when the database is away: nothing is believed
        read_at_ = now;
        read_ = true;
    }
    return admin_ids_.contains(who.id);
}

std::size_t roles::admin_count() const {
    std::lock_guard lock(mutex_);
    return admins_now().size();
}

namespace {
/// Grants (`grant`) or revokes the administrator role of `name` in one transaction.
role_change change_admin(store::database& db, const std::string& name, bool grant,
                         std::int64_t now_ms, std::int64_t* id_out) {
    const std::string username = username_of(name);
    store::lease sql_lease(db);
    soci::session& sql = *sql_lease;
    store::write_transaction tx(sql, db);
    const auto id = account_id_of(sql, username);
    if (!id) return role_change::no_such_user;
    if (id_out) *id_out = *id;
    const std::string role = queries::admin_role;
    int held = 0;
    sql << queries::count_role, soci::into(held), soci::use(*id), soci::use(role);
    if ((held > 0) == grant) return role_change::unchanged;
    if (grant)
        sql << queries::grant_role, soci::use(*id), soci::use(role), soci::use(now_ms);
    else
        sql << queries::revoke_role, soci::use(*id), soci::use(role);
    tx.commit();
    return role_change::done;
}
}  // namespace

role_change grant_admin(store::database& db, const std::string& name, std::int64_t now_ms,
                        std::int64_t* id_out) {
    return change_admin(db, name, true, now_ms, id_out);
}

role_change revoke_admin(store::database& db, const std::string& name, std::int64_t* id_out) {
    return change_admin(db, name, false, 0, id_out);
}

std::vector<admin_account> list_admins(store::database& db) {
    std::vector<admin_account> out;
    store::lease sql_lease(db);
    soci::session& sql = *sql_lease;
    admin_account row;
    const std::string role = queries::admin_role;
    soci::statement st = (sql.prepare << queries::list_role, soci::use(role), soci::into(row.id),
                          soci::into(row.username), soci::into(row.granted_at));
    st.execute();
    while (st.fetch()) out.push_back(row);
    return out;
}

std::vector<bootstrap_outcome> bootstrap_admins(store::database& db,
                                                const std::vector<std::string>& names,
                                                std::int64_t now_ms) {
    std::vector<bootstrap_outcome> out;
    for (const auto& name : names) {
        const std::string username = username_of(name);
        if (username.empty()) continue;
        store::lease sql_lease(db);
        soci::session& sql = *sql_lease;
        store::write_transaction tx(sql, db);
        int decided = 0;
        sql << queries::bootstrap_decided, soci::into(decided), soci::use(username);
        if (decided > 0) {
            out.push_back({username, bootstrap_outcome::kind::already_decided, std::nullopt});
            continue;  // rolls back: nothing changed
        }
        const auto id = account_id_of(sql, username);
        // NULL user_id: nobody held the name when it was first listed.
        soci::indicator held = id ? soci::i_ok : soci::i_null;
        std::int64_t id_value = id.value_or(0);
        std::string recorded;
        sql << queries::record_bootstrap, soci::use(username), soci::use(id_value, held),
            soci::use(now_ms), soci::into(recorded);
        if (!sql.got_data()) {  // another instance decided it just now
            out.push_back({username, bootstrap_outcome::kind::already_decided, std::nullopt});
            continue;
        }
        if (id) {
            const std::string role = queries::admin_role;
            int has = 0;
            sql << queries::count_role, soci::into(has), soci::use(*id), soci::use(role);
            if (has == 0) sql << queries::grant_role, soci::use(*id), soci::use(role), soci::use(now_ms);
        }
        tx.commit();
        out.push_back({username,
                       id ? bootstrap_outcome::kind::granted : bootstrap_outcome::kind::nobody_holds_it,
                       id});
    }
    return out;
}

}  // namespace bsocial::sessions
