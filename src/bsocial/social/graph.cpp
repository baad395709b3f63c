#include "bsocial/social/graph.hpp"

#include <soci/soci.h>

#include <algorithm>

#include "bsocial/core/error.hpp"
#include "bsocial/outbox/outbox.hpp"
#include "bsocial/social/cursor.hpp"
#include "bsocial/social/feed_bus.hpp"
#include "bsocial/social/paging.hpp"
#include "bsocial/social/sql.hpp"
#include "bsocial/social/user_rows.hpp"
#include "bsocial/social/validation.hpp"
#include "bsocial/store/statement.hpp"

namespace bsocial::social {

namespace {
user require_user(soci::session& sql, const std::string& username) {
    if (!looks_like_username(username)) throw error(error_code::not_found, "no such user");
    auto found = detail::find_user_by_username(sql, to_lower(username));
    if (!found) throw error(error_code::not_found, "no such user");
    return *found;
}

events::user_fields fields_of(const user& u) { return {u.id, u.username, u.email}; }

/// Runs a "... RETURNING follower_id" statement; true when it returned a row. The
/// statement is finished before returning: SQLite cannot COMMIT while one is in progress.
bool changed_a_row(soci::session& sql, const char* query, std::int64_t follower,
                   std::int64_t followee, std::optional<std::int64_t> at = std::nullopt) {
    std::int64_t returned = 0;
    soci::statement st(sql);
    st.exchange(soci::into(returned));
    st.exchange(soci::use(follower));
    st.exchange(soci::use(followee));
    if (at) st.exchange(soci::use(*at));
    store::prepare_statement(st, query);
    const bool changed = st.execute(true);
    while (st.fetch()) {
    }
    return changed;
}

std::string decode_after(const page_request& req) {
    if (!req.cursor) return "";
    auto name = decode_name_cursor(*req.cursor);
    if (!name) throw invalid_cursor();
    return *name;
}
}  // namespace

graph::graph(store::database& db, const timelines& timelines, const clock& clock,
             store::cluster_bus* bus)
    : db_(db), timelines_(timelines), clock_(clock), bus_(bus) {}

void graph::follow(const user& me, const std::string& username) {
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    const user target = require_user(sql, username);
    if (target.id == me.id)
        throw error(error_code::validation_failed, "you cannot follow yourself",
                    {{"username", "is yourself"}});
    store::write_transaction tx(sql, db_);
    timelines_.lock_author(sql, target.id);
    const std::int64_t at = clock_.now_ms();
    if (!changed_a_row(sql, insert_follow_sql, me.id, target.id, at))
        return;  // already following: nothing changed, no event
    timelines_.on_follow(sql, me.id, target.id);
    outbox::append_to_outbox(sql,
                             events::follow_changed(true, fields_of(me), fields_of(target), at));
    tx.commit([&] { timelines_.follows_changed(me.id); });

    if (bus_) bus_->publish("follow.changed", follow_changed_payload(me.id, target.id));
}

void graph::unfollow(const user& me, const std::string& username) {
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    const user target = require_user(sql, username);
    store::write_transaction tx(sql, db_);
    timelines_.lock_author(sql, target.id);
    const std::int64_t at = clock_.now_ms();
    if (!changed_a_row(sql, delete_follow_sql, me.id, target.id)) return;  // was not following
    timelines_.on_unfollow(sql, me.id, target.id);
    outbox::append_to_outbox(sql,
                             events::follow_changed(false, fields_of(me), fields_of(target), at));
    tx.commit([&] { timelines_.follows_changed(me.id); });

    if (bus_) bus_->publish("follow.changed", follow_changed_payload(me.id, target.id));
}

profile graph::get_profile(const user& me, const std::string& username) {
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    profile p;
    p.who = require_user(sql, username);
    std::int64_t followed = 0;
    sql << profile_counts_sql, soci::into(p.followers_count), soci::into(p.following_count),
        soci::into(followed), soci::use(p.who.id), soci::use(p.who.id), soci::use(me.id),
        soci::use(p.who.id);
    p.followed_by_me = followed > 0;
    return p;
}

page<user> graph::list(const char* query, const std::function<void(soci::statement&)>& bind_filter,
                       const page_request& req) {
    const std::string after = decode_after(req);
    return fetch_page(
        query,
        [&](soci::statement& st) {
            bind_filter(st);
            st.exchange(soci::use(after));
        },
        req.limit);
}

page<user> graph::fetch_page(const char* query,
                             const std::function<void(soci::statement&)>& bind_filter, int limit) {
    const int fetch = limit + 1;  // one more tells whether a next page exists
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    user row;
    soci::statement st(sql);
    detail::bind_user(st, row);
    bind_filter(st);
    st.exchange(soci::use(fetch));
    store::prepare_statement(st, query);
    return collect_page(st, row, limit,
                        [](const user& last) { return encode_cursor(last.username); });
}

page<user> graph::relation(const char* query, const std::string& username,
                           const page_request& req) {
    user target;
    {
        store::lease sql_lease(db_);
        soci::session& sql = *sql_lease;
        target = require_user(sql, username);
    }
    return list(
        query, [&](soci::statement& st) { st.exchange(soci::use(target.id)); }, req);
}

page<user> graph::followers(const std::string& username, const page_request& req) {
    return relation(followers_page_sql, username, req);
}

page<user> graph::following(const std::string& username, const page_request& req) {
    return relation(following_page_sql, username, req);
}

std::optional<username_range> prefix_range(const std::string& prefix) {
    const std::string lowered = to_lower(prefix);
    // Only these characters occur in a username (validation.cpp): any other matches nobody.
    const bool plain = std::all_of(lowered.begin(), lowered.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
    if (!plain) return std::nullopt;
    username_range r{lowered, lowered};
    if (r.to.empty())
        r.to.push_back('\x7f');  // above every username character
    else
        ++r.to.back();  // 'z' -> '{', '9' -> ':', '_' -> '`': still ASCII, still valid UTF-8
    return r;
}

page<user> graph::search(const std::string& prefix, const page_request& req) {
    const std::string after = decode_after(req);
    auto range = prefix_range(prefix);
    if (!range) return {};
    // Strictly after the cursor's username: the least string above it is itself + "\x01"
    // (no username holds a control character).
    if (!after.empty()) range->from = std::max(range->from, after + '\x01');
    return fetch_page(
        search_page_sql,
        [&](soci::statement& st) {
            st.exchange(soci::use(range->from));
            st.exchange(soci::use(range->to));
        },
        req.limit);
}

}  // namespace bsocial::social
