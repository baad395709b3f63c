#include "bsocial/notify/notifications.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <string>

#include "bsocial/core/error.hpp"
#include "bsocial/notify/sql.hpp"
#include "bsocial/social/cursor.hpp"
#include "bsocial/social/validation.hpp"
#include "bsocial/store/statement.hpp"

namespace bsocial::notify {

namespace {
/// Binds the notification columns; `delivered` receives delivered_at's null indicator.
void bind_notification(soci::statement& st, notification& n, std::int64_t& delivered,
                       soci::indicator& delivered_ind) {
    st.exchange(soci::into(n.id));
    st.exchange(soci::into(n.user_id));
    st.exchange(soci::into(n.comment_id));
    st.exchange(soci::into(n.post_id));
    st.exchange(soci::into(n.actor_id));
    st.exchange(soci::into(n.actor_username));
    st.exchange(soci::into(n.excerpt));
    st.exchange(soci::into(n.created_at));
    st.exchange(soci::into(delivered, delivered_ind));
}

/// Runs a prepared notification query and collects every row.
template <class BindParams>
std::vector<notification> fetch_all(soci::session& sql, const char* query, BindParams bind_params) {
    std::vector<notification> out;
    notification row;
    std::int64_t delivered = 0;
    soci::indicator delivered_ind = soci::i_null;
    soci::statement st(sql);
    bind_notification(st, row, delivered, delivered_ind);
    bind_params(st);
    store::prepare_statement(st, query);
    if (st.execute(true)) {
        do {
            row.delivered_at =
                delivered_ind == soci::i_ok ? std::optional(delivered) : std::nullopt;
            out.push_back(row);
        } while (st.fetch());
    }
    return out;
}

/// The process's wake-up listeners (announce_committed()).
struct committed_listeners {
    std::mutex mutex;
    std::map<int, std::function<void()>> listeners;
    int next = 1;
};

committed_listeners& listeners() {
    static committed_listeners l;
    return l;
}
}  // namespace

std::string excerpt_of(const std::string& content) {
    constexpr std::size_t max_points = 100;
    if (social::utf8_length(content) <= max_points) return content;
    std::size_t points = 0, i = 0;
    for (; i < content.size(); ++i) {
        if ((static_cast<unsigned char>(content[i]) & 0xC0) != 0x80 && points++ == max_points)
            break;
    }
    return content.substr(0, i) + "…";
}

notification_store::notification_store(store::database& db) : db_(db), pool_(db.requests()) {}

notification_store::notification_store(store::database& db, store::session_pool& pool)
    : db_(db), pool_(pool) {}

bool notification_store::add(soci::session& sql, const comment_event& e) {
    if (e.commenter_id == e.post_author_id) return false;  // no notice of your own comment
    const std::string excerpt = excerpt_of(e.content);
    std::int64_t id = 0;
    soci::statement st(sql);
    st.exchange(soci::into(id));
    st.exchange(soci::use(e.post_author_id));
    st.exchange(soci::use(e.comment_id));
    st.exchange(soci::use(e.post_id));
    st.exchange(soci::use(e.commenter_id));
    st.exchange(soci::use(e.commenter_username));
    st.exchange(soci::use(excerpt));
    st.exchange(soci::use(e.created_at));
    store::prepare_statement(st, insert_notification_sql);
    const bool added = st.execute(true);
    while (st.fetch()) {
    }
    if (added && sql.get_backend_name() == "postgresql") {
        const std::string channel = notification_channel;
        const std::string payload = std::to_string(e.post_author_id) + ":" + std::to_string(id);
        std::string ignored;
        sql << pg_notify_sql, soci::use(channel), soci::use(payload), soci::into(ignored);
    }
    return added;
}

void notification_store::announce_committed() noexcept {
    auto& l = listeners();
    std::lock_guard lock(l.mutex);
    for (const auto& [handle, listener] : l.listeners) {
        try {
            listener();
        } catch (...) {  // a wake-up is only a hint: the safety poll catches up
        }
    }
}

int notification_store::listen_committed(std::function<void()> listener) {
    auto& l = listeners();
    std::lock_guard lock(l.mutex);
    const int handle = l.next++;
    l.listeners.emplace(handle, std::move(listener));
    return handle;
}

void notification_store::unlisten_committed(int handle) {
    auto& l = listeners();
    std::lock_guard lock(l.mutex);
    l.listeners.erase(handle);
}

std::vector<notification> notification_store::claim(std::int64_t user_id, std::int64_t now_ms) {
    store::lease sql_lease(pool_);
    soci::session& sql = *sql_lease;
    store::write_transaction tx(sql, db_);
    auto claimed = fetch_all(sql, claim_sql, [&](soci::statement& st) {
        st.exchange(soci::use(now_ms));
        st.exchange(soci::use(user_id));
    });
    tx.commit();
    // RETURNING has no ORDER BY: oldest first is our promise, so sort here.
    std::sort(claimed.begin(), claimed.end(),
              [](const notification& a, const notification& b) { return a.id < b.id; });
    return claimed;
}

std::vector<notification> notification_store::undelivered(std::int64_t user_id) {
    store::lease sql_lease(pool_);
    soci::session& sql = *sql_lease;
    return fetch_all(sql, undelivered_sql,
                     [&](soci::statement& st) { st.exchange(soci::use(user_id)); });
}

int notification_store::acknowledge_many(std::int64_t user_id,
                                         const std::vector<std::int64_t>& ids,
                                         std::int64_t now_ms) {
    if (ids.empty()) return 0;
    // Integers only, formatted here: nothing from outside reaches the SQL text.
    std::string query = acknowledge_many_sql_head;
    for (std::size_t i = 0; i < ids.size(); ++i) query += (i ? "," : "") + std::to_string(ids[i]);
    query += ")";
    store::lease sql_lease(pool_);
    soci::session& sql = *sql_lease;
    store::write_transaction tx(sql, db_);
    soci::statement st = (sql.prepare << query, soci::use(now_ms), soci::use(user_id));
    st.execute(true);
    const auto changed = static_cast<int>(st.get_affected_rows());
    tx.commit();
    return changed;
}

social::page<notification> notification_store::history(std::int64_t user_id,
                                                       const social::page_request& req) {
    std::int64_t before = std::numeric_limits<std::int64_t>::max();
    if (req.cursor) {
        const auto c = social::decode_time_cursor(*req.cursor);
        if (!c) throw social::invalid_cursor();
        before = c->id;
    }
    const int fetch = req.limit + 1;
    store::lease sql_lease(pool_);
    soci::session& sql = *sql_lease;
    social::page<notification> page;
    page.items = fetch_all(sql, history_page_sql, [&](soci::statement& st) {
        st.exchange(soci::use(user_id));
        st.exchange(soci::use(before));
        st.exchange(soci::use(fetch));
    });
    if (static_cast<int>(page.items.size()) > req.limit) {
        page.items.pop_back();
        const auto& last = page.items.back();
        page.next_cursor = social::encode_cursor(social::time_cursor{last.created_at, last.id});
    }
    return page;
}

std::vector<notification> notification_store::undelivered_after(std::int64_t after_id, int limit) {
    store::lease sql_lease(pool_);
    soci::session& sql = *sql_lease;
    return fetch_all(sql, undelivered_after_sql, [&](soci::statement& st) {
        st.exchange(soci::use(after_id));
        st.exchange(soci::use(limit));
    });
}

std::vector<notification> notification_store::undelivered_among(
    const std::vector<std::int64_t>& ids) {
    if (ids.empty()) return {};
    // Integers only, formatted here: nothing from outside reaches the SQL text.
    std::string query = undelivered_among_sql_head;
    for (std::size_t i = 0; i < ids.size(); ++i) query += (i ? "," : "") + std::to_string(ids[i]);
    query += ") ORDER BY id";
    store::lease sql_lease(pool_);
    soci::session& sql = *sql_lease;
    return fetch_all(sql, query.c_str(), [](soci::statement&) {});
}

std::int64_t notification_store::max_id() {
    store::lease sql_lease(pool_);
    soci::session& sql = *sql_lease;
    std::int64_t id = 0;
    sql << max_id_sql, soci::into(id);
    return id;
}

}  // namespace bsocial::notify
