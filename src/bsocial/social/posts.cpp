#include "bsocial/social/posts.hpp"

#include <soci/soci.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <optional>
#include <string_view>
#include <utility>

#include "bsocial/core/error.hpp"
#include "bsocial/core/parse.hpp"
#include "bsocial/outbox/outbox.hpp"
#include "bsocial/social/cursor.hpp"
#include "bsocial/social/feed_bus.hpp"
#include "bsocial/social/paging.hpp"
#include "bsocial/social/post_rows.hpp"
#include "bsocial/social/sql.hpp"
#include "bsocial/social/user_rows.hpp"
#include "bsocial/social/validation.hpp"
#include "bsocial/store/statement.hpp"

namespace bsocial::social {

namespace {
using detail::bind_post;

author author_of(const user& u) { return {u.id, u.username, u.first_name, u.last_name}; }
events::user_fields fields_of(const user& u) { return {u.id, u.username, u.email}; }

time_cursor decode_or_throw(const page_request& req, time_cursor first_page) {
    if (!req.cursor) return first_page;
    auto c = decode_time_cursor(*req.cursor);
    if (!c) throw invalid_cursor();
    return *c;
}

constexpr time_cursor oldest_first_start{-1, 0};

/// The cursor after a post or comment: its (created_at, id).
template <class Row>
std::string cursor_after(const Row& last) {
    return encode_cursor(time_cursor{last.created_at, last.id});
}

/// Runs a keyset page query: `bind_filter` binds the leading parameters, then the cursor
/// pair and the limit are bound. Fetches limit+1 rows to know whether a next page exists.
template <class Row, class BindRow, class BindFilter>
page<Row> run_page(soci::session& sql, const char* query, const page_request& req, time_cursor from,
                   BindRow bind_row, BindFilter bind_filter) {
    Row row;
    const int fetch = req.limit + 1;
    soci::statement st(sql);
    bind_row(st, row);
    bind_filter(st);
    st.exchange(soci::use(from.created_at));
    st.exchange(soci::use(from.id));
    st.exchange(soci::use(fetch));
    store::prepare_statement(st, query);
    return collect_page(st, row, req.limit, cursor_after<Row>);
}

/// Prepared once per connection (store::statement_cache): every comment list and new
/// comment checks the post first.
post require_visible_post(store::database& db, soci::session& sql, const user& me,
                          std::int64_t post_id) {
    auto found = db.statements().run<post>(sql, select_visible_post_sql, {post_id, me.id, me.id},
                                           bind_post);
    if (found.empty()) throw error(error_code::not_found, "no such post");
    return std::move(found.front());
}

void bind_id(soci::statement& st, std::int64_t& id) { st.exchange(soci::into(id)); }
void bind_id_and_queued(soci::statement& st, std::pair<std::int64_t, std::int64_t>& row) {
    st.exchange(soci::into(row.first));
    st.exchange(soci::into(row.second));
}

/// A post.created envelope written for post id 0, split around that id: the statement
/// that inserts the post writes head + its id + tail into the outbox. A JSON string value
/// cannot hold this marker unescaped, so the match is the "post_id" field itself.
std::optional<std::pair<std::string, std::string>> envelope_around_post_id(
    const std::string& envelope) {
    static constexpr std::string_view marker = R"("post_id":"0")";
    const auto at = envelope.find(marker);
    if (at == std::string::npos) return std::nullopt;
    const auto id_at = at + marker.size() - 2;
    return std::pair{envelope.substr(0, id_at), envelope.substr(id_at + 1)};
}

void bind_comment(soci::statement& st, comment& c) {
    st.exchange(soci::into(c.id));
    st.exchange(soci::into(c.post_id));
    st.exchange(soci::into(c.by.id));
    st.exchange(soci::into(c.by.username));
    st.exchange(soci::into(c.by.first_name));
    st.exchange(soci::into(c.by.last_name));
    st.exchange(soci::into(c.content));
    st.exchange(soci::into(c.created_at));
}
}  // namespace

posts::posts(store::database& db, const timelines& timelines, const clock& clock)
    : db_(db), timelines_(timelines), clock_(clock) {}

post posts::create_post(const user& me, std::string content) {
    if (auto why = check_text(content, max_post_length))
        throw error(error_code::validation_failed, "invalid post", {{"content", *why}});
    post p;
    p.by = author_of(me);
    p.content = std::move(content);
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    if (db_.kind() == store::dialect::postgresql) {
        // One round trip instead of five (BEGIN, three INSERTs, COMMIT): see
        // create_post_postgresql_sql. Same rows, same atomicity. Timelines in memory: no
        // fan-out queue (create_post_in_memory_postgresql_sql).
        p.created_at = clock_.now_ms();
        const std::uint64_t epoch = timelines_.posts_epoch();
        const auto e = events::post_created(0, fields_of(me), p.content, p.created_at);
        if (auto around = envelope_around_post_id(events::envelope_json(e))) {
            std::vector<store::parameter> values{me.id, p.content, p.created_at};
            if (!timelines_.in_memory()) values.insert(values.end(), {me.id, p.created_at});
            values.insert(values.end(), {e.id, e.topic, e.type, std::move(around->first),
                                         std::move(around->second), e.occurred_at_ms});
            const auto [id, queued] =
                db_.statements()
                    .run<std::pair<std::int64_t, std::int64_t>>(
                        sql,
                        timelines_.in_memory() ? create_post_in_memory_postgresql_sql
                                               : create_post_postgresql_sql,
                        values, bind_id_and_queued)
                    .front();
            p.id = id;
            timelines_.post_created(p, epoch);  // before any page can show it (deliver)
            timelines_.deliver(timeline_delivery{{p.created_at, p.id}, me.id, {}});
            announce("post.created", post_created_payload(p.id, me.id, p.created_at));
            // Backpressure: a queue deeper than the max backlog gets one batch fanned out
            // here before the 201 (the post itself is committed and visible already).
            if (relieve_backlog_) relieve_backlog_(sql, queued);
            return p;
        }
    }
    store::write_transaction tx(sql, db_);
    p.created_at = clock_.now_ms();  // inside the write lock: ordered like the ids on SQLite
    // Prepared once per connection (store::statement_cache), like every statement here.
    p.id = db_.statements()
               .run<std::int64_t>(sql, insert_post_sql, {me.id, p.content, p.created_at},
                                  bind_id)
               .front();
    const timeline_delivery delivery = timelines_.publish(sql, p.id, me.id, p.created_at);
    outbox::append_to_outbox(db_.statements(), sql,
                             events::post_created(p.id, fields_of(me), p.content, p.created_at));
    tx.commit([&] { timelines_.deliver(delivery); });
    announce("post.created", post_created_payload(p.id, me.id, p.created_at));  // caches, live
    return p;
}

std::vector<post> posts_by_ids(store::database& db, const std::vector<std::int64_t>& ids) {
    std::vector<post> found;
    if (ids.empty()) return found;
    store::lease sql_lease(db);
    soci::session& sql = *sql_lease;
    // One prepared statement, executed per id: at most a few hundred ids (90 days x 10).
    post p;
    std::int64_t id = 0;
    soci::statement st(sql);
    bind_post(st, p);
    st.exchange(soci::use(id));
    store::prepare_statement(st, select_post_by_id_sql);
    for (const auto wanted : ids) {
        id = wanted;
        if (st.execute(true)) found.push_back(p);
    }
    return found;
}

std::optional<post> post_by_id(soci::session& sql, std::int64_t id) {
    post p;
    soci::statement st(sql);
    bind_post(st, p);
    st.exchange(soci::use(id));
    store::prepare_statement(st, select_post_by_id_sql);
    if (!st.execute(true)) return std::nullopt;
    return p;
}

std::optional<comment> comment_by_id(soci::session& sql, std::int64_t id) {
    comment c;
    soci::statement st(sql);
    bind_comment(st, c);
    st.exchange(soci::use(id));
    store::prepare_statement(st, select_comment_by_id_sql);
    if (!st.execute(true)) return std::nullopt;
    return c;
}

std::optional<post> visible_post(soci::session& sql, std::int64_t me, std::int64_t post_id) {
    post p;
    soci::statement st(sql);
    bind_post(st, p);
    st.exchange(soci::use(post_id));
    st.exchange(soci::use(me));
    st.exchange(soci::use(me));
    store::prepare_statement(st, select_visible_post_sql);
    if (!st.execute(true)) return std::nullopt;
    return p;
}

std::vector<std::int64_t> follower_ids(soci::session& sql, std::int64_t author_id) {
    // One statement, rows fetched in batches: a celebrity's audience costs one query.
    std::vector<std::int64_t> batch(1000), out;
    soci::statement st = (sql.prepare << select_follower_ids_sql, soci::into(batch),
                          soci::use(author_id));
    st.execute();
    while (st.fetch()) {
        out.insert(out.end(), batch.begin(), batch.end());
        batch.resize(1000);
    }
    return out;
}

post posts::get_post(const user& me, std::int64_t post_id) {
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    return require_visible_post(db_, sql, me, post_id);
}

page<post> posts::feed(const user& me, const page_request& req) {
    const time_cursor from = decode_or_throw(req, newest_first_start);
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    return page_of(timelines_.read(sql, me.id, from, req.limit), req.limit, cursor_after<post>);
}

std::optional<page<post>> posts::feed_in_memory(const user& me, const page_request& req) const {
    if (!timelines_.cached()) return std::nullopt;
    const time_cursor from = decode_or_throw(req, newest_first_start);
    auto rows = timelines_.read_in_memory(me.id, from, req.limit);
    if (!rows) return std::nullopt;
    return page_of(std::move(*rows), req.limit, cursor_after<post>);
}

page<post> posts::user_posts(const user& me, const std::string& username, const page_request& req) {
    const time_cursor from = decode_or_throw(req, newest_first_start);
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    if (!looks_like_username(username)) throw error(error_code::not_found, "no such user");
    const auto author = detail::find_user_by_username(sql, to_lower(username));
    if (!author) throw error(error_code::not_found, "no such user");
    if (author->id != me.id) {
        int following = 0;
        sql << is_following_sql, soci::into(following), soci::use(me.id), soci::use(author->id);
        // Same answer as an unknown user: whom you cannot see stays unseen.
        if (following == 0) throw error(error_code::not_found, "no such user");
    }
    return run_page<post>(sql, user_posts_page_sql, req, from, bind_post,
                          [&](soci::statement& st) { st.exchange(soci::use(author->id)); });
}

comment posts::add_comment(const user& me, std::int64_t post_id, std::string content) {
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    const post target = require_visible_post(db_, sql, me, post_id);
    if (auto why = check_text(content, max_comment_length))
        throw error(error_code::validation_failed, "invalid comment", {{"content", *why}});
    comment c;
    c.post_id = post_id;
    c.by = author_of(me);
    c.content = std::move(content);
    store::write_transaction tx(sql, db_);
    c.created_at = clock_.now_ms();
    // The count first: on PostgreSQL that locks the post's row, so a deletion of the post
    // in flight is waited for, and then there is no post (no row updated).
    const auto counted =
        db_.statements().run<std::int64_t>(sql, bump_comment_count_sql, {post_id}, bind_id);
    if (counted.empty()) throw error(error_code::not_found, "no such post");
    const std::int64_t comment_count = counted.front();
    c.id = db_.statements()
               .run<std::int64_t>(sql, insert_comment_sql, {post_id, me.id, c.content, c.created_at},
                                  bind_id)
               .front();
    outbox::append_to_outbox(db_.statements(), sql, events::comment_created(c.id, post_id, target.by.id,
                                                          fields_of(me), c.content, c.created_at));
    tx.commit([&] { timelines_.comment_added(post_id, comment_count); });
    if (comments_) comments_->drop(post_id);  // read your own comment at once, here
    announce("comment.created", comment_payload(c.id, post_id, target.by.id));  // caches, live
    return c;
}

void posts::announce(std::string_view topic, const boost::json::object& payload) const {
    announce(topic, boost::json::serialize(payload));
}

void posts::announce(std::string_view topic, const std::string& payload) const {
    if (!announce_) return;
    try {
        announce_(topic, payload);
    } catch (const std::exception& e) {
        // Committed already: the deletion stands; other replicas' caches may keep the post
        // until they drop it (a bus resync, an eviction).
        spdlog::error("module=social event=announce_failed topic={} error=\"{}\"", topic, e.what());
    }
}

void posts::delete_post(const user& me, std::int64_t post_id) {
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    store::write_transaction tx(sql, db_);
    // Mine? (PostgreSQL: its row locked from here on; see sql.hpp for the lock order.)
    std::int64_t created_at = 0;
    sql << (db_.kind() == store::dialect::postgresql ? own_post_postgresql_sql
                                                     : own_post_sqlite_sql),
        soci::into(created_at), soci::use(post_id), soci::use(me.id);
    if (!sql.got_data()) throw error(error_code::not_found, "no such post");
    const timeline_key key{created_at, post_id};
    // Out of the fan-out queue before the author's lock: a worker that claimed it holds the
    // queue row and then takes that lock, so the other order could deadlock.
    sql << unqueue_post_sql, soci::use(post_id);
    timelines_.lock_author(sql, me.id);
    timelines_.remove_post(sql, key, me.id);
    sql << unpark_post_sql, soci::use(post_id);
    // Comments before their notifications: a notifier storing one for a comment of this
    // post holds that comment's row (PostgreSQL), so its row is visible after the wait.
    sql << delete_post_comments_sql, soci::use(post_id);
    sql << delete_post_notifications_sql, soci::use(me.id), soci::use(post_id);
    if (refresh_notifications_) refresh_notifications_(sql, me.id, post_id);
    sql << delete_post_sql, soci::use(post_id);
    const std::int64_t at = clock_.now_ms();
    outbox::append_to_outbox(sql, events::post_deleted(post_id, fields_of(me), at));
    tx.commit([&] { timelines_.post_deleted(key); });
    if (comments_) comments_->drop(post_id);
    announce("post.deleted", boost::json::object{{"post_id", std::to_string(post_id)},
                                                 {"author_id", std::to_string(me.id)},
                                                 {"created_at", std::to_string(created_at)}});
}

void posts::delete_comment(const user& me, std::int64_t comment_id) {
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    store::write_transaction tx(sql, db_);
    std::int64_t post_id = 0, post_author_id = 0;
    sql << own_comment_sql, soci::into(post_id), soci::into(post_author_id),
        soci::use(comment_id), soci::use(me.id);
    if (!sql.got_data()) throw error(error_code::not_found, "no such comment");
    // The post's row first (as adding a comment and deleting the post do), then the comment.
    std::int64_t comment_count = 0;
    sql << drop_comment_count_sql, soci::use(post_id), soci::into(comment_count);
    if (!sql.got_data()) throw error(error_code::not_found, "no such comment");  // post gone
    std::int64_t deleted = 0;
    sql << delete_comment_sql, soci::use(comment_id), soci::use(me.id), soci::into(deleted);
    if (!sql.got_data()) throw error(error_code::not_found, "no such comment");  // raced
    sql << delete_comment_notification_sql, soci::use(comment_id);
    if (refresh_notifications_) refresh_notifications_(sql, post_author_id, post_id);
    const std::int64_t at = clock_.now_ms();
    outbox::append_to_outbox(
        sql, events::comment_deleted(comment_id, post_id, post_author_id, fields_of(me), at));
    tx.commit([&] { timelines_.comment_deleted(post_id); });
    if (comments_) comments_->drop(post_id);
    announce("comment.deleted", boost::json::object{
                                    {"comment_id", std::to_string(comment_id)},
                                    {"post_id", std::to_string(post_id)},
                                    {"post_author_id", std::to_string(post_author_id)}});
}

page<comment> posts::comments(const user& me, std::int64_t post_id, const page_request& req,
                              bool newest_first) {
    const time_cursor from =
        decode_or_throw(req, newest_first ? newest_first_start : oldest_first_start);
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    const post target = require_visible_post(db_, sql, me, post_id);
    if (comments_) {
        // Kept, but memory could not tell whether I may read it (my session or timeline not
        // in memory): SQL said yes, the page comes from the list.
        if (auto kept = comments_->read(post_id, from, req.limit + 1, newest_first)) {
            comments_->count_hit();
            return page_of(std::move(kept->rows), req.limit, cursor_after<comment>);
        }
    }
    if (comments_ && !comments_->too_long(post_id)) {
        // The whole list (when short: max_per_post()) into the cache, the page cut from it
        // as comments_in_memory() will: one statement, prepared once per connection.
        const std::uint64_t epoch = comments_->epoch();
        const auto limit = static_cast<std::int64_t>(comments_->max_per_post()) + 1;
        auto all = db_.statements().run<comment>(
            sql, comments_page_sql,
            {post_id, oldest_first_start.created_at, oldest_first_start.id, limit}, bind_comment);
        comments_->count_miss();
        if (all.size() <= comments_->max_per_post()) {
            auto rows = comment_cache::slice_of(all, from, req.limit + 1, newest_first);
            comments_->put(post_id, target.by.id, std::move(all), epoch);
            return page_of(std::move(rows), req.limit, cursor_after<comment>);
        }
        comments_->put(post_id, target.by.id, std::move(all), epoch);  // remembered as long
    }
    // Prepared once per connection, like the feed: a hot path.
    auto rows = db_.statements().run<comment>(
        sql, newest_first ? comments_newest_page_sql : comments_page_sql,
        {post_id, from.created_at, from.id, std::int64_t{req.limit} + 1}, bind_comment);
    return page_of(std::move(rows), req.limit, cursor_after<comment>);
}

std::optional<page<comment>> posts::comments_in_memory(const user& me, std::int64_t post_id,
                                                       const page_request& req,
                                                       bool newest_first) const {
    if (!comments_) return std::nullopt;
    const time_cursor from =
        decode_or_throw(req, newest_first ? newest_first_start : oldest_first_start);
    auto found = comments_->read(post_id, from, req.limit + 1, newest_first);
    if (!found) return std::nullopt;
    // Visible: my post, or its author's among whom my cached timeline follows. Otherwise
    // (not known here, or not visible: a 404) SQL answers.
    if (found->post_author_id != me.id) {
        const auto follows = timelines_.follows_in_memory(me.id, found->post_author_id);
        if (!follows || !*follows) return std::nullopt;
    }
    comments_->count_hit();
    return page_of(std::move(found->rows), req.limit, cursor_after<comment>);
}

}  // namespace bsocial::social
