#include "bsocial/social/timeline.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <tuple>

#include "bsocial/social/post_rows.hpp"

namespace bsocial::social {

namespace detail {
/// A query assembled from SQL pieces whose parameters are written "?": each becomes a
/// uniquely named placeholder (SQLite would share one slot between equal names, and
/// SOCI binds by position), with its value kept in order beside the text.
class assembled_query {
  public:
    assembled_query& sql(std::string_view piece) {
        for (const char c : piece) {
            if (c == '?')
                text_ += ":p" + std::to_string(++placeholders_);
            else
                text_ += c;
        }
        return *this;
    }
    assembled_query& bind(std::int64_t v) {
        values_.emplace_back(v);
        return *this;
    }
    assembled_query& bind(const time_cursor& c) { return bind(c.created_at).bind(c.id); }
    const std::string& text() const noexcept { return text_; }
    const std::vector<store::parameter>& values() const noexcept { return values_; }

  private:
    std::string text_;
    int placeholders_ = 0;
    std::vector<store::parameter> values_;
};

}  // namespace detail

namespace {
using detail::assembled_query;

// One follower in `trim_every` (chosen by post id) has their timeline trimmed per post:
// timelines stay near `capacity` without counting entries on every write.
int trim_every(int capacity) { return std::clamp(capacity / 16, 1, 64); }

constexpr const char* is_celebrity_sql = "SELECT COUNT(*) FROM celebrities WHERE user_id = :id";
constexpr const char* make_celebrity_sql =
    "INSERT INTO celebrities (user_id, since) VALUES (:id, :at) ON CONFLICT (user_id) DO NOTHING";
constexpr const char* followers_up_to_sql =
    "SELECT COUNT(*) FROM (SELECT 1 FROM follows WHERE followee_id = :id LIMIT :most) c";

constexpr const char* fan_out_sql =
    "INSERT INTO home_timeline (user_id, created_at, post_id, author_id)"
    " SELECT f.follower_id, :created_at, :post_id, :author_id FROM follows f"
    " WHERE f.followee_id = :author_id2 ON CONFLICT DO NOTHING";
// The fan-out worker's queue (social/fanout.hpp).
constexpr const char* queue_fan_out_sql =
    "INSERT INTO timeline_fanout (post_id, author_id, created_at)"
    " VALUES (:post_id, :author_id, :created_at)";
// Authors see their own posts in their own timeline.
constexpr const char* own_entry_sql =
    "INSERT INTO home_timeline (user_id, created_at, post_id, author_id)"
    " VALUES (:author_id, :created_at, :post_id, :author_id2) ON CONFLICT DO NOTHING";
constexpr const char* followers_to_trim_sql =
    "SELECT f.follower_id FROM follows f"
    " WHERE f.followee_id = :author_id AND (f.follower_id + :post_id) % :every = 0";

// The followee's newest posts above the follower's horizon.
constexpr const char* backfill_sql =
    "INSERT INTO home_timeline (user_id, created_at, post_id, author_id)"
    " SELECT :follower_id, b.created_at, b.id, b.user_id FROM ("
    "  SELECT r.created_at, r.id, r.user_id FROM posts r WHERE r.user_id = :followee_id"
    "  AND (r.created_at, r.id) > (:h_at, :h_id)"
    "  ORDER BY r.created_at DESC, r.id DESC LIMIT :capacity) b"
    " WHERE true ON CONFLICT DO NOTHING";
// The followee's post just below the ones backfill copied, if any.
constexpr const char* backfill_edge_sql =
    "SELECT r.created_at, r.id FROM posts r WHERE r.user_id = :followee_id"
    " AND (r.created_at, r.id) > (:h_at, :h_id)"
    " ORDER BY r.created_at DESC, r.id DESC LIMIT 1 OFFSET :capacity";
constexpr const char* remove_author_sql =
    "DELETE FROM home_timeline WHERE user_id = :user_id AND author_id = :author_id";

constexpr const char* horizon_sql =
    "SELECT horizon_created_at, horizon_post_id FROM home_timeline_state WHERE user_id = :id";
constexpr const char* raise_horizon_sql =
    "INSERT INTO home_timeline_state (user_id, horizon_created_at, horizon_post_id)"
    " VALUES (:id, :at, :post_id) ON CONFLICT (user_id) DO UPDATE"
    " SET horizon_created_at = excluded.horizon_created_at,"
    " horizon_post_id = excluded.horizon_post_id"
    " WHERE (excluded.horizon_created_at, excluded.horizon_post_id) >"
    " (home_timeline_state.horizon_created_at, home_timeline_state.horizon_post_id)";
constexpr const char* drop_below_horizon_sql =
    "DELETE FROM home_timeline WHERE user_id = :id AND (created_at, post_id) <= (:at, :post_id)";
// The newest entry beyond the capacity: it and everything older go.
constexpr const char* entry_beyond_capacity_sql =
    "SELECT created_at, post_id FROM home_timeline WHERE user_id = :id"
    " ORDER BY created_at DESC, post_id DESC LIMIT 1 OFFSET :capacity";

constexpr const char* followees_up_to_sql =
    "SELECT COUNT(*) FROM (SELECT 1 FROM follows WHERE follower_id = :id LIMIT :most) c";
// A stretch of everyone's posts, newest first from `from` (posts_by_time), each marked
// 1 when it is mine or its author is followed by me.
constexpr const char* posts_walk_sql =
    "SELECT w.id, w.created_at, CASE WHEN w.user_id = :me OR EXISTS (SELECT 1 FROM follows f"
    " WHERE f.follower_id = :me2 AND f.followee_id = w.user_id) THEN 1 ELSE 0 END"
    " FROM (SELECT id, created_at, user_id FROM posts WHERE (created_at, id) < (:at, :id)"
    " ORDER BY created_at DESC, id DESC LIMIT :n) w";

/// "No horizon": the timeline is complete (no post has a negative time).
constexpr time_cursor no_horizon{-1, -1};

bool older(const time_cursor& a, const time_cursor& b) {
    return std::tie(a.created_at, a.id) < std::tie(b.created_at, b.id);
}

void bind_int(soci::statement& st, std::int64_t& v) { st.exchange(soci::into(v)); }

struct walked_post {
    std::int64_t id = 0;
    std::int64_t created_at = 0;
    std::int64_t visible = 0;  ///< mine, or by someone I follow
};
void bind_walked_post(soci::statement& st, walked_post& p) {
    st.exchange(soci::into(p.id));
    st.exchange(soci::into(p.created_at));
    st.exchange(soci::into(p.visible));
}

void bind_cursor(soci::statement& st, time_cursor& c) {
    st.exchange(soci::into(c.created_at));
    st.exchange(soci::into(c.id));
}

// The feed page above the horizon, in one statement: my timeline's entries, followed
// authors' posts still queued for fan-out, and the posts of the celebrities I follow (at
// most :n each, from posts_by_user_time); the :n newest of them are chosen before the
// join, so only :n rows are looked up in posts and users. The horizon is read inline
// ((-1, -1) when there is none).
constexpr const char* page_head =
    "SELECT " BSOCIAL_POST_COLUMNS " FROM (SELECT id, created_at FROM (";
#define BSOCIAL_ABOVE_HORIZON(at, id)                                                     \
    "(" at ", " id                                                                        \
    ") > (COALESCE((SELECT horizon_created_at FROM home_timeline_state"                   \
    " WHERE user_id = ?), -1), COALESCE((SELECT horizon_post_id FROM home_timeline_state" \
    " WHERE user_id = ?), -1))"
constexpr const char* page_tail =
    ") c ORDER BY created_at DESC, id DESC LIMIT ?) s"
    " JOIN posts p ON p.id = s.id JOIN users u ON u.id = p.user_id"
    " ORDER BY s.created_at DESC, s.id DESC";
// Timeline entries in (horizon, from). No need to check that I still follow each
// author: an unfollow removes the author's entries in its own transaction, and takes
// the author's lock as posts and follows do (lock_author), so no fan-out can slip an
// entry in behind it.
constexpr const char* timeline_arm =
    "SELECT id, created_at FROM (SELECT t.post_id AS id, t.created_at FROM home_timeline t"
    " WHERE t.user_id = ? AND (t.created_at, t.post_id) < (?, ?)"
    " AND " BSOCIAL_ABOVE_HORIZON(
        "t.created_at", "t.post_id") " ORDER BY t.created_at DESC, t.post_id DESC LIMIT ?) a0";
// Posts still queued for the fan-out worker, mine or by someone I follow: the worker is
// a few milliseconds behind, and everyone sees a post as soon as it exists. A queue deeper
// than its newest 1024 posts (a burst the worker has not caught up with) shows only
// those here until the rest are fanned out (docs/feed.md).
constexpr const char* queue_arm =
    "SELECT q.post_id AS id, q.created_at FROM (SELECT post_id, author_id, created_at"
    " FROM timeline_fanout ORDER BY post_id DESC LIMIT 1024) q"
    " WHERE (q.created_at, q.post_id) < (?, ?) AND " BSOCIAL_ABOVE_HORIZON("q.created_at", "q.post_id")
    " AND (q.author_id = ? OR EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = ?"
    "  AND f.followee_id = q.author_id))";
// The followed celebrities' posts in (horizon, from). SQLite has no LATERAL; a
// correlated IN subquery runs once per celebrity instead.
constexpr const char* celebrities_arm_sqlite =
    "SELECT r.id, r.created_at FROM celebrities c JOIN posts r ON r.id IN ("
    "  SELECT r2.id FROM posts r2 WHERE r2.user_id = c.user_id"
    "  AND (r2.created_at, r2.id) < (?, ?) AND " BSOCIAL_ABOVE_HORIZON("r2.created_at", "r2.id")
    "  ORDER BY r2.created_at DESC, r2.id DESC LIMIT ?)"
    " WHERE EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = ? AND f.followee_id = c.user_id)";
constexpr const char* celebrities_arm_postgresql =
    "SELECT r.id, r.created_at FROM celebrities c CROSS JOIN LATERAL ("
    "  SELECT r2.id, r2.created_at FROM posts r2 WHERE r2.user_id = c.user_id"
    "  AND (r2.created_at, r2.id) < (?, ?) AND " BSOCIAL_ABOVE_HORIZON("r2.created_at", "r2.id")
    "  ORDER BY r2.created_at DESC, r2.id DESC LIMIT ?) r"
    " WHERE EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = ? AND f.followee_id = c.user_id)";
// One author's posts before `from`, from posts_by_user_time.
constexpr const char* author_arm =
    "SELECT id, created_at FROM (SELECT r.id, r.created_at FROM posts r WHERE r.user_id = ?"
    " AND (r.created_at, r.id) < (?, ?) ORDER BY r.created_at DESC, r.id DESC LIMIT ?) a";
#undef BSOCIAL_ABOVE_HORIZON
// Every followee's newest :n posts before `from` (one index range each), then mine.
// SQLite has no LATERAL; a correlated IN subquery runs once per follows row instead.
constexpr const char* followees_arm_sqlite =
    "SELECT q.id, q.created_at FROM follows f JOIN posts q ON q.id IN ("
    "  SELECT r.id FROM posts r WHERE r.user_id = f.followee_id"
    "  AND (r.created_at, r.id) < (?, ?)"
    "  ORDER BY r.created_at DESC, r.id DESC LIMIT ?)"
    " WHERE f.follower_id = ?";
constexpr const char* followees_arm_postgresql =
    "SELECT q.id, q.created_at FROM follows f CROSS JOIN LATERAL ("
    "  SELECT r.id, r.created_at FROM posts r WHERE r.user_id = f.followee_id"
    "  AND (r.created_at, r.id) < (?, ?)"
    "  ORDER BY r.created_at DESC, r.id DESC LIMIT ?) q"
    " WHERE f.follower_id = ?";

/// Everything at or below `h` is read from the posts from now on.
void raise_horizon(soci::session& sql, std::int64_t user_id, time_cursor h) {
    sql << raise_horizon_sql, soci::use(user_id), soci::use(h.created_at), soci::use(h.id);
    sql << drop_below_horizon_sql, soci::use(user_id), soci::use(h.created_at), soci::use(h.id);
}

bool is_celebrity(soci::session& sql, std::int64_t user_id) {
    int count = 0;
    sql << is_celebrity_sql, soci::into(count), soci::use(user_id);
    return count > 0;
}
}  // namespace

timelines::timelines(store::database& db, timeline_settings settings)
    : db_(db), kind_(db.kind()), settings_(settings) {}

std::vector<post> timelines::run_posts(soci::session& sql, const assembled_query& q) const {
    return db_.statements().run<post>(sql, q.text(), q.values(), detail::bind_post);
}

time_cursor timelines::horizon_of(soci::session& sql, std::int64_t user_id) const {
    const auto rows = db_.statements().run<time_cursor>(sql, horizon_sql, {user_id}, bind_cursor);
    return rows.empty() ? no_horizon : rows.front();
}

void timelines::lock_author(soci::session& sql, std::int64_t author_id) const {
    if (kind_ != store::dialect::postgresql) return;
    const std::int64_t key = (std::int64_t{0x7153} << 48) | author_id;
    sql << "SELECT pg_advisory_xact_lock(:key)", soci::use(key);
}

void timelines::publish(soci::session& sql, std::int64_t post_id, std::int64_t author_id,
                        std::int64_t created_at) const {
    sql << queue_fan_out_sql, soci::use(post_id), soci::use(author_id), soci::use(created_at);
}

void timelines::fan_out(soci::session& sql, std::int64_t post_id, std::int64_t author_id,
                        std::int64_t created_at) const {
    const int every = trim_every(settings_.capacity);
    sql << own_entry_sql, soci::use(author_id), soci::use(created_at), soci::use(post_id),
        soci::use(author_id);
    if ((author_id + post_id) % every == 0) trim(sql, author_id);
    if (is_celebrity(sql, author_id)) return;  // merged at read time
    sql << fan_out_sql, soci::use(created_at), soci::use(post_id), soci::use(author_id),
        soci::use(author_id);
    std::vector<std::int64_t> to_trim;
    {
        std::int64_t follower = 0;
        soci::statement st = (sql.prepare << followers_to_trim_sql, soci::into(follower),
                              soci::use(author_id), soci::use(post_id), soci::use(every));
        st.execute();
        while (st.fetch()) to_trim.push_back(follower);
    }
    for (const std::int64_t follower : to_trim) trim(sql, follower);
}

void timelines::trim(soci::session& sql, std::int64_t user_id) const {
    time_cursor edge;
    sql << entry_beyond_capacity_sql, soci::into(edge.created_at), soci::into(edge.id),
        soci::use(user_id), soci::use(settings_.capacity);
    if (sql.got_data()) raise_horizon(sql, user_id, edge);
}

void timelines::on_follow(soci::session& sql, std::int64_t follower_id,
                          std::int64_t followee_id) const {
    if (is_celebrity(sql, followee_id)) return;
    int followers = 0;
    sql << followers_up_to_sql, soci::into(followers), soci::use(followee_id),
        soci::use(settings_.celebrity_followers);
    if (followers >= settings_.celebrity_followers) {
        // From now on their posts are merged at read time; entries already fanned out
        // stay where they are (the read deduplicates).
        std::int64_t at = 0;
        sql << "SELECT COALESCE(MAX(created_at), 0) FROM posts", soci::into(at);
        sql << make_celebrity_sql, soci::use(followee_id), soci::use(at);
        return;
    }
    const time_cursor h = horizon_of(sql, follower_id);
    sql << backfill_sql, soci::use(follower_id), soci::use(followee_id), soci::use(h.created_at),
        soci::use(h.id), soci::use(settings_.capacity);
    // When the followee has more posts above the horizon than were copied, the timeline
    // is complete only above the newest one left out.
    time_cursor edge;
    sql << backfill_edge_sql, soci::into(edge.created_at), soci::into(edge.id),
        soci::use(followee_id), soci::use(h.created_at), soci::use(h.id),
        soci::use(settings_.capacity);
    if (sql.got_data()) raise_horizon(sql, follower_id, edge);
    trim(sql, follower_id);
}

void timelines::on_unfollow(soci::session& sql, std::int64_t follower_id,
                            std::int64_t followee_id) const {
    sql << remove_author_sql, soci::use(follower_id), soci::use(followee_id);
}

std::vector<post> timelines::read(soci::session& sql, std::int64_t me, time_cursor from,
                                  int limit) const {
    const int fetch = limit + 1;
    std::vector<post> out = read_materialized(sql, me, from, fetch);
    if (static_cast<int>(out.size()) == fetch) return out;
    // Short: the feed ends here, or the rest lies at or below the horizon. The timeline
    // had every entry above the horizon, so the rest starts below the last one found
    // ("< (at, id + 1)" is "<= horizon"; the horizon only ever rises).
    const time_cursor horizon = horizon_of(sql, me);
    if (horizon.created_at < 0) return out;
    time_cursor below = out.empty() ? from : time_cursor{out.back().created_at, out.back().id};
    if (older(horizon, below)) below = {horizon.created_at, horizon.id + 1};
    auto rest = read_from_posts(sql, me, below, fetch - static_cast<int>(out.size()));
    out.insert(out.end(), rest.begin(), rest.end());
    return out;
}

std::vector<post> timelines::read_materialized(soci::session& sql, std::int64_t me,
                                               time_cursor from, int fetch) const {
    const auto page_text = [](const char* celebrities_arm) {
        return assembled_query()
            .sql(page_head)
            .sql(timeline_arm)
            .sql(" UNION ")
            .sql(queue_arm)
            .sql(" UNION ")
            .sql(celebrities_arm)
            .sql(page_tail)
            .text();
    };
    static const std::string text[2] = {page_text(celebrities_arm_sqlite),
                                        page_text(celebrities_arm_postgresql)};
    const std::vector<store::parameter> values = {me,
                                                  from.created_at,
                                                  from.id,
                                                  me,
                                                  me,
                                                  fetch,  // timeline arm
                                                  from.created_at,
                                                  from.id,
                                                  me,
                                                  me,
                                                  me,
                                                  me,  // queue arm
                                                  from.created_at,
                                                  from.id,
                                                  me,
                                                  me,
                                                  fetch,
                                                  me,  // celebrities arm
                                                  fetch};
    return db_.statements().run<post>(sql, text[kind_ == store::dialect::sqlite ? 0 : 1], values,
                                      detail::bind_post);
}

std::vector<post> timelines::read_from_posts(soci::session& sql, std::int64_t me, time_cursor from,
                                             int fetch) const {
    const std::int64_t followees =
        db_.statements()
            .run<std::int64_t>(sql, followees_up_to_sql,
                               {me, std::int64_t{settings_.merge_max_followees} + 1}, bind_int)
            .front();
    if (followees <= settings_.merge_max_followees) return merge_followees(sql, me, from, fetch);

    // Many followees: walk everyone's posts newest first, keeping theirs and mine, in
    // growing chunks, for at most walk_max_rows rows.
    std::vector<std::int64_t> found;
    time_cursor at = from;
    bool exhausted = false;
    for (int chunk = 4 * fetch, walked = 0;
         static_cast<int>(found.size()) < fetch && walked < settings_.walk_max_rows;
         walked += chunk, chunk = std::min(2 * chunk, 1024)) {
        const auto rows = db_.statements().run<walked_post>(
            sql, posts_walk_sql, {me, me, at.created_at, at.id, std::int64_t{chunk}},
            bind_walked_post);
        for (const auto& r : rows) {
            if (static_cast<int>(found.size()) == fetch) break;
            at = {r.created_at, r.id};
            if (r.visible) found.push_back(r.id);
        }
        if (static_cast<int>(rows.size()) < chunk) {
            exhausted = true;
            break;
        }
    }
    std::vector<post> out = posts_by_id(sql, found);
    if (static_cast<int>(out.size()) < fetch && !exhausted) {
        // Everything newer than `at` was walked: merge from there.
        auto rest = merge_followees(sql, me, at, fetch - static_cast<int>(out.size()));
        out.insert(out.end(), rest.begin(), rest.end());
    }
    return out;
}

std::vector<post> timelines::posts_by_id(soci::session& sql,
                                         const std::vector<std::int64_t>& ids) const {
    if (ids.empty()) return {};
    assembled_query q;
    q.sql("SELECT " BSOCIAL_POST_COLUMNS
          " FROM posts p JOIN users u ON u.id = p.user_id"
          " WHERE p.id IN (");
    for (std::size_t i = 0; i < ids.size(); ++i) q.sql(i ? ", ?" : "?").bind(ids[i]);
    q.sql(") ORDER BY p.created_at DESC, p.id DESC");
    return run_posts(sql, q);
}

std::vector<post> timelines::merge_followees(soci::session& sql, std::int64_t me, time_cursor from,
                                             int fetch) const {
    assembled_query q;
    q.sql(page_head);
    q.sql(kind_ == store::dialect::sqlite ? followees_arm_sqlite : followees_arm_postgresql);
    q.bind(from).bind(fetch).bind(me);
    q.sql(" UNION ALL ").sql(author_arm).sql("1");
    q.bind(me).bind(from).bind(fetch);
    q.sql(page_tail).bind(fetch);
    return run_posts(sql, q);
}

}  // namespace bsocial::social
