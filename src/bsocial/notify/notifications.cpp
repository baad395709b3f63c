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
    st.exchange(soci::into(n.post_excerpt));
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

/// The code point starting at s[i] (valid UTF-8: the posts are checked); sets `len`.
char32_t decode_at(std::string_view s, std::size_t i, std::size_t& len) {
    const auto b = static_cast<unsigned char>(s[i]);
    len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    if (i + len > s.size()) {
        len = 1;
        return b;
    }
    char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    return cp;
}

/// Code points that belong to the character before them (an approximation of the
/// grapheme-extend property good enough for an excerpt's cut).
bool extends_previous(char32_t c) {
    return (c >= 0x0300 && c <= 0x036F) || (c >= 0x0483 && c <= 0x0489) ||
           (c >= 0x0591 && c <= 0x05BD) || (c >= 0x0610 && c <= 0x061A) ||
           (c >= 0x064B && c <= 0x065F) || c == 0x0670 || (c >= 0x06D6 && c <= 0x06ED) ||
           (c >= 0x0900 && c <= 0x0903) || (c >= 0x093A && c <= 0x094F) ||
           (c >= 0x0E31 && c <= 0x0E3A && c != 0x0E32 && c != 0x0E33) ||
           (c >= 0x0E47 && c <= 0x0E4E) || (c >= 0x1AB0 && c <= 0x1AFF) ||
           (c >= 0x1DC0 && c <= 0x1DFF) || c == 0x200C || c == 0x200D ||
           (c >= 0x20D0 && c <= 0x20FF) || (c >= 0x302A && c <= 0x302F) ||
           (c >= 0x3099 && c <= 0x309A) || (c >= 0xFE00 && c <= 0xFE0F) ||
           (c >= 0xFE20 && c <= 0xFE2F) || (c >= 0x1F3FB && c <= 0x1F3FF) ||
           (c >= 0xE0020 && c <= 0xE007F) || (c >= 0xE0100 && c <= 0xE01EF);
}

bool regional_indicator(char32_t c) { return c >= 0x1F1E6 && c <= 0x1F1FF; }

bool ascii_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/// recent_actors as stored: "id:username id:username", newest first.
std::vector<notification_group::actor> parse_actors(const std::string& text) {
    std::vector<notification_group::actor> out;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t end = text.find(' ', i);
        if (end == std::string::npos) end = text.size();
        const std::string_view item(text.data() + i, end - i);
        const auto colon = item.find(':');
        if (colon != std::string_view::npos) {
            std::int64_t id = 0;
            for (char c : item.substr(0, colon)) id = id * 10 + (c - '0');
            out.push_back({id, std::string(item.substr(colon + 1))});
        }
        i = end + 1;
    }
    return out;
}

std::string format_actors(const std::vector<notification_group::actor>& actors) {
    std::string out;
    for (const auto& a : actors) {
        if (!out.empty()) out += ' ';
        out += std::to_string(a.id) + ":" + a.username;
    }
    return out;
}

constexpr std::size_t recent_actors_kept = 3;

/// Keeps the group's summary row with a notification just stored, in the caller's
/// transaction: the distinct commenter, the counts, the newest time, the last names.
void add_to_group(soci::session& sql, const comment_event& e, const std::string& post_excerpt,
                  std::int64_t notification_id) {
    int new_actor = 0;
    {
        soci::statement st = (sql.prepare << insert_group_actor_sql, soci::use(e.post_author_id),
                              soci::use(e.post_id), soci::use(e.commenter_id));
        st.execute(true);
        new_actor = st.get_affected_rows() > 0 ? 1 : 0;
    }
    const std::string first_actor =
        format_actors({{e.commenter_id, e.commenter_username}});
    {
        soci::statement st(sql);
        st.exchange(soci::use(e.post_author_id));
        st.exchange(soci::use(e.post_id));
        st.exchange(soci::use(post_excerpt));
        st.exchange(soci::use(first_actor));
        st.exchange(soci::use(e.created_at));
        st.exchange(soci::use(notification_id));
        st.exchange(soci::use(new_actor));
        store::prepare_statement(st, upsert_group_sql);
        st.execute(true);
    }
    std::string stored;
    sql << group_recent_actors_sql, soci::use(e.post_author_id), soci::use(e.post_id),
        soci::into(stored);
    auto actors = parse_actors(stored);
    std::erase_if(actors, [&](const auto& a) { return a.id == e.commenter_id; });
    actors.insert(actors.begin(), {e.commenter_id, e.commenter_username});
    if (actors.size() > recent_actors_kept) actors.resize(recent_actors_kept);
    const std::string updated = format_actors(actors);
    if (updated != stored)
        sql << set_group_recent_actors_sql, soci::use(updated), soci::use(e.post_author_id),
            soci::use(e.post_id);
}
}  // namespace

std::string post_excerpt_of(std::string_view content, std::size_t max_points) {
    // One line: every run of whitespace becomes one space, none at either end.
    std::string text;
    text.reserve(content.size());
    for (char c : content) {
        if (ascii_space(c)) {
            if (!text.empty() && text.back() != ' ') text += ' ';
        } else {
            text += c;
        }
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();

    std::size_t i = 0, points = 0, len = 0;
    std::size_t last_space = std::string::npos, space_point = 0;
    char32_t previous = 0;
    int regional_run = 0;  // regional indicators just before i
    while (i < text.size()) {
        const char32_t c = decode_at(text, i, len);
        const bool extends = points > 0 && (extends_previous(c) || previous == 0x200D ||
                                            (regional_indicator(c) && regional_run % 2 == 1));
        if (points >= max_points && !extends) break;  // cut before a new character
        if (c == ' ') {
            last_space = i;
            space_point = points;
        }
        regional_run = regional_indicator(c) ? regional_run + 1 : 0;
        previous = c;
        i += len;
        ++points;
    }
    if (i >= text.size()) return text;
    // Cut at a word boundary when one is near the end (the last 20 code points).
    if (last_space != std::string::npos && space_point + 20 >= max_points) i = last_space;
    std::string out = text.substr(0, i);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "…";
}

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
    const std::string post_excerpt = post_excerpt_of(e.post_content);
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
    st.exchange(soci::use(post_excerpt));
    store::prepare_statement(st, insert_notification_sql);
    const bool added = st.execute(true);
    while (st.fetch()) {
    }
    if (added) add_to_group(sql, e, post_excerpt, id);
    if (added && sql.get_backend_name() == "postgresql") {
        const std::string channel = notification_channel;
        const std::string payload = std::to_string(e.post_author_id) + ":" + std::to_string(id);
        std::string ignored;
        sql << pg_notify_sql, soci::use(channel), soci::use(payload), soci::into(ignored);
    }
    return added;
}

void notification_store::refresh_group(soci::session& sql, std::int64_t user_id,
                                       std::int64_t post_id) {
    std::int64_t read_up_to = 0;
    sql << group_read_up_to_sql, soci::use(user_id), soci::use(post_id), soci::into(read_up_to);
    if (!sql.got_data()) return;  // no group: nothing to summarise
    std::int64_t total = 0, actors = 0, latest_at = 0, latest_id = 0, unread = 0;
    sql << group_recount_sql, soci::use(read_up_to), soci::use(user_id), soci::use(post_id),
        soci::into(total), soci::into(actors), soci::into(latest_at), soci::into(latest_id),
        soci::into(unread);
    if (total == 0) {
        sql << delete_group_sql, soci::use(user_id), soci::use(post_id);
        sql << delete_group_actors_sql, soci::use(user_id), soci::use(post_id);
        return;
    }
    std::vector<notification_group::actor> recent;
    {
        notification_group::actor a;
        soci::statement st(sql);
        st.exchange(soci::into(a.id));
        st.exchange(soci::into(a.username));
        st.exchange(soci::use(user_id));
        st.exchange(soci::use(post_id));
        store::prepare_statement(st, group_recent_actors_recount_sql);
        if (st.execute(true)) {
            do recent.push_back(a);
            while (st.fetch());
        }
    }
    sql << delete_group_actors_sql, soci::use(user_id), soci::use(post_id);
    sql << refill_group_actors_sql, soci::use(user_id), soci::use(post_id);
    const std::string recent_text = format_actors(recent);
    sql << update_group_sql, soci::use(total), soci::use(unread), soci::use(actors),
        soci::use(recent_text), soci::use(latest_at), soci::use(latest_id), soci::use(user_id),
        soci::use(post_id);
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

social::page<notification_group> notification_store::groups(std::int64_t user_id,
                                                             const social::page_request& req) {
    std::int64_t before_at = std::numeric_limits<std::int64_t>::max();
    std::int64_t before_post = std::numeric_limits<std::int64_t>::max();
    if (req.cursor) {
        const auto c = social::decode_time_cursor(*req.cursor);
        if (!c) throw social::invalid_cursor();
        before_at = c->created_at;
        before_post = c->id;
    }
    const int fetch = req.limit + 1;
    store::lease sql_lease(pool_);
    soci::session& sql = *sql_lease;
    social::page<notification_group> page;
    notification_group row;
    std::string actors;
    soci::statement st(sql);
    st.exchange(soci::into(row.post_id));
    st.exchange(soci::into(row.post_excerpt));
    st.exchange(soci::into(row.total));
    st.exchange(soci::into(row.unread));
    st.exchange(soci::into(row.actor_count));
    st.exchange(soci::into(actors));
    st.exchange(soci::into(row.latest_at));
    st.exchange(soci::into(row.latest_id));
    st.exchange(soci::use(user_id));
    st.exchange(soci::use(before_at));
    st.exchange(soci::use(before_post));
    st.exchange(soci::use(fetch));
    store::prepare_statement(st, groups_page_sql);
    if (st.execute(true)) {
        do {
            row.recent_actors = parse_actors(actors);
            page.items.push_back(row);
        } while (st.fetch());
    }
    if (static_cast<int>(page.items.size()) > req.limit) {
        page.items.pop_back();
        const auto& last = page.items.back();
        page.next_cursor = social::encode_cursor(social::time_cursor{last.latest_at, last.post_id});
    }
    return page;
}

int notification_store::mark_read(std::int64_t user_id, std::optional<std::int64_t> post_id) {
    store::lease sql_lease(pool_);
    soci::session& sql = *sql_lease;
    store::write_transaction tx(sql, db_);
    soci::statement st(sql);
    st.exchange(soci::use(user_id));
    if (post_id) st.exchange(soci::use(*post_id));
    store::prepare_statement(st, post_id ? mark_group_read_sql : mark_all_read_sql);
    st.execute(true);
    const auto changed = static_cast<int>(st.get_affected_rows());
    tx.commit();
    return changed;
}

unread_counts notification_store::unread(std::int64_t user_id) {
    store::lease sql_lease(pool_);
    soci::session& sql = *sql_lease;
    unread_counts c;
    sql << unread_counts_sql, soci::use(user_id), soci::into(c.groups), soci::into(c.notifications);
    return c;
}

std::int64_t notification_store::max_id() {
    store::lease sql_lease(pool_);
    soci::session& sql = *sql_lease;
    std::int64_t id = 0;
    sql << max_id_sql, soci::into(id);
    return id;
}

}  // namespace bsocial::notify
