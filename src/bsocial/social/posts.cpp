#include "bsocial/social/posts.hpp"

#include <soci/soci.h>

#include <limits>

#include "bsocial/core/error.hpp"
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

constexpr time_cursor newest_first_start{std::numeric_limits<std::int64_t>::max(),
                                         std::numeric_limits<std::int64_t>::max()};
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

posts::posts(store::database& db, const timelines& timelines, const clock& clock,
             store::cluster_bus* bus)
    : db_(db), timelines_(timelines), clock_(clock), bus_(bus) {}

post posts::create_post(const user& me, std::string content) {
    if (auto why = check_text(content, max_post_length))
        throw error(error_code::validation_failed, "invalid post", {{"content", *why}});
    post p;
    p.by = author_of(me);
    p.content = std::move(content);
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
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

    if (bus_) bus_->publish("post.created", post_created_payload(p.id, me.id, p.created_at));
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
    c.id = db_.statements()
               .run<std::int64_t>(sql, insert_comment_sql, {post_id, me.id, c.content, c.created_at},
                                  bind_id)
               .front();
    const auto counted =
        db_.statements().run<std::int64_t>(sql, bump_comment_count_sql, {post_id}, bind_id);
    if (counted.empty()) throw error(error_code::not_found, "no such post");  // gone meanwhile
    const std::int64_t comment_count = counted.front();
    outbox::append_to_outbox(db_.statements(), sql, events::comment_created(c.id, post_id, target.by.id,
                                                          fields_of(me), c.content, c.created_at));
    tx.commit([&] { timelines_.comment_added(post_id, comment_count); });

    if (bus_) bus_->publish("comment.created", comment_payload(c.id, post_id, target.by.id));
    return c;
}

page<comment> posts::comments(const user& me, std::int64_t post_id, const page_request& req) {
    const time_cursor from = decode_or_throw(req, oldest_first_start);
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    (void)require_visible_post(db_, sql, me, post_id);
    // Prepared once per connection, like the feed: a hot path.
    auto rows = db_.statements().run<comment>(
        sql, comments_page_sql, {post_id, from.created_at, from.id, std::int64_t{req.limit} + 1},
        bind_comment);
    return page_of(std::move(rows), req.limit, cursor_after<comment>);
}

}  // namespace bsocial::social
