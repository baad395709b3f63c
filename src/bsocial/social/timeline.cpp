#include "bsocial/social/timeline.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "bsocial/social/post_rows.hpp"
#include "bsocial/social/sql.hpp"

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
// timelines stay near `capacity` without counting entries on every write. A trim reads the
// whole capacity to find its edge (an OFFSET), so rarer trims cost less per entry: at a
// quarter of the capacity a timeline holds up to ~1.25x the capacity, and the trims cost a
// quarter of what one in capacity/16 cost (on PostgreSQL they were ~35% of the fan-out's
// time, pg_stat_statements; docs/feed.md).
int trim_every(int capacity) { return std::clamp(capacity / 4, 1, 256); }

/// How long a read waits for a build of the same timeline under way (single flight); a
/// build takes milliseconds, so only a stuck one is read around.
constexpr std::chrono::milliseconds build_wait{250};

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

struct horizon_and_followees {
    time_cursor horizon;
    std::int64_t followees = 0;  ///< up to merge_max_followees + 1
};
void bind_horizon_and_followees(soci::statement& st, horizon_and_followees& h) {
    bind_cursor(st, h.horizon);
    st.exchange(soci::into(h.followees));
}

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

timelines::timelines(store::database& db, timeline_settings settings, timeline_cache* cache,
                     post_cache* posts)
    : db_(db),
      kind_(db.kind()),
      settings_(std::move(settings)),
      cache_(cache),
      posts_(posts),
      in_memory_(cache != nullptr && (kind_ == store::dialect::sqlite ||
                                       settings_.postgresql_in_memory())) {}

std::vector<post> timelines::run_posts(soci::session& sql, const assembled_query& q) const {
    return db_.statements().run<post>(sql, q.text(), q.values(), detail::bind_post);
}

time_cursor timelines::horizon_of(soci::session& sql, std::int64_t user_id) const {
    const auto rows = db_.statements().run<time_cursor>(sql, horizon_sql, {user_id}, bind_cursor);
    return rows.empty() ? no_horizon : rows.front();
}

void timelines::lock_author(soci::session& sql, std::int64_t author_id) const {
    if (kind_ != store::dialect::postgresql) return;
    const std::int64_t key = author_lock_key(author_id);
    sql << lock_author_sql, soci::use(key);
}

timeline_delivery timelines::publish(soci::session& sql, std::int64_t post_id,
                                     std::int64_t author_id, std::int64_t created_at) const {
    timeline_delivery d{{created_at, post_id}, author_id, {}};
    if (!in_memory()) {
        db_.statements().execute(sql, queue_fan_out_sql, {post_id, author_id, created_at});
        return d;
    }
    if (by_bus()) return d;  // delivered by author (deliver(), post_announced())
    d.users = db_.statements().run<std::int64_t>(sql, followers_of_sql, {author_id}, bind_int);
    d.users.push_back(author_id);
    return d;
}

void timelines::deliver(const timeline_delivery& delivery) const {
    if (!cache_) return;
    if (by_bus())
        cache_->add_by_author(delivery.author_id, delivery.post);
    else
        cache_->add(delivery.users, delivery.post);
}

std::uint64_t timelines::posts_epoch() const { return posts_ ? posts_->epoch() : 0; }

void timelines::post_created(const post& row, std::uint64_t epoch) const {
    if (posts_) posts_->put({row}, epoch);
}

void timelines::post_announced(std::int64_t author_id, std::optional<timeline_key> post) const {
    if (!cache_) return;
    if (post)
        cache_->add_by_author(author_id, *post);
    else
        cache_->forget_readers_of(author_id);
}

void timelines::comment_count_changed(std::int64_t post_id) const {
    if (posts_) posts_->drop(post_id);
}

void timelines::post_removed(std::int64_t post_id, std::int64_t author_id) const {
    if (posts_) posts_->drop(post_id);
    if (cache_) cache_->forget_readers_of(author_id);
}

std::optional<bool> timelines::follows_in_memory(std::int64_t me, std::int64_t author) const {
    if (!cache_) return std::nullopt;
    return cache_->follows(me, author);
}

void timelines::forget_everything() const {
    if (cache_) cache_->clear();
    if (posts_) posts_->clear();
}

void timelines::follows_changed(std::int64_t follower_id) const {
    if (cache_) cache_->forget(follower_id);
}

void timelines::comment_added(std::int64_t post_id, std::int64_t comment_count) const {
    if (posts_) posts_->comment_added(post_id, comment_count);
}

void timelines::remove_post(soci::session& sql, timeline_key post,
                            std::int64_t author_id) const {
    if (in_memory()) return;  // no tables: post_deleted() after the commit
    sql << remove_post_entries_sql, soci::use(post.created_at), soci::use(post.id),
        soci::use(author_id), soci::use(author_id);
}

void timelines::post_deleted(timeline_key post) const {
    if (cache_) cache_->remove(post);
    if (posts_) posts_->drop(post.id);
}

void timelines::comment_deleted(std::int64_t post_id) const {
    if (posts_) posts_->drop(post_id);
}

int timelines::trim_every() const noexcept { return social::trim_every(settings_.capacity); }

void timelines::fan_out(soci::session& sql, std::int64_t post_id, std::int64_t author_id,
                        std::int64_t created_at) const {
    const int every = trim_every();
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
    if (in_memory()) return;  // follows_changed() after the commit
    if (is_celebrity(sql, followee_id)) return;
    int followers = 0;
    sql << followers_up_to_sql, soci::into(followers), soci::use(followee_id),
        soci::use(settings_.celebrity_followers);
    if (followers >= settings_.celebrity_followers) {
        // From now on their posts are merged at read time; entries already fanned out
        // stay where they are (the read deduplicates).
        std::int64_t at = 0;
        sql << newest_post_time_sql, soci::into(at);
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
    if (in_memory()) return;  // follows_changed() after the commit
    sql << remove_author_sql, soci::use(follower_id), soci::use(followee_id);
}

std::vector<post> timelines::read(soci::session& sql, std::int64_t me, time_cursor from,
                                  int limit) const {
    const int fetch = limit + 1;
    if (cache_) return read_cached(sql, me, from, fetch);
    return read_tables(sql, me, from, fetch);
}

std::vector<post> timelines::read_store(soci::session& sql, std::int64_t me, time_cursor from,
                                        int fetch) const {
    return in_memory() ? read_from_posts(sql, me, from, fetch) : read_tables(sql, me, from, fetch);
}

std::vector<post> timelines::read_tables(soci::session& sql, std::int64_t me, time_cursor from,
                                         int fetch) const {
    std::vector<post> out = read_materialized(sql, me, from, fetch);
    if (static_cast<int>(out.size()) == fetch) return out;
    // Short: the feed ends here, or the rest lies at or below the horizon. The timeline
    // had every entry above the horizon, so the rest starts below the last one found
    // ("< (at, id + 1)" is "<= horizon"; the horizon only ever rises). The planner's
    // followee count comes with the horizon: one round trip fewer on PostgreSQL.
    const auto state = db_.statements().run<horizon_and_followees>(
        sql, horizon_and_followees_sql,
        {me, std::int64_t{settings_.merge_max_followees} + 1, me}, bind_horizon_and_followees);
    if (state.empty()) return out;  // no horizon: the timeline is complete
    const time_cursor horizon = state.front().horizon;
    time_cursor below = out.empty() ? from : time_cursor{out.back().created_at, out.back().id};
    if (older(horizon, below)) below = {horizon.created_at, horizon.id + 1};
    auto rest = read_from_posts(sql, me, below, fetch - static_cast<int>(out.size()),
                                state.front().followees);
    out.insert(out.end(), rest.begin(), rest.end());
    return out;
}

namespace {
std::vector<timeline_key> keys_of(const std::vector<post>& posts) {
    std::vector<timeline_key> keys;
    keys.reserve(posts.size());
    for (const post& p : posts) keys.push_back({p.created_at, p.id});
    return keys;
}
}  // namespace

std::vector<post> timelines::read_cached(soci::session& sql, std::int64_t me, time_cursor from,
                                         int fetch) const {
    auto page = cache_->read(me, from, fetch);
    if (!page) {
        // Not cached: build the newest page of the timeline from the posts, then read it.
        const std::uint64_t generation = cache_->begin_build(me);
        if (generation == 0) {
            // Single flight: being built elsewhere (a login's warming, another read). Wait
            // for that build, then read it; the posts only when it did not end in time.
            if (!cache_->wait_built(me, build_wait) || !(page = cache_->read(me, from, fetch)))
                return read_store(sql, me, from, fetch);
        } else {
            const int depth = std::max(fetch, 21);
            std::vector<post> newest;
            // The build's rows go into the post cache: the page below then reads no posts.
            const std::uint64_t epoch = posts_epoch();
            try {
                // Whom I follow first, then the page: on PostgreSQL posts are announced
                // by author (one announced in between is in the page or kept aside); on
                // both, a comment list read from memory asks whom I follow.
                if (!cache_->index_followees(
                        me, generation,
                        db_.statements().run<std::int64_t>(sql, followees_of_sql, {me},
                                                           bind_int)))
                    return read_store(sql, me, from, fetch);  // forgotten meanwhile
                newest = read_store(sql, me, newest_first_start, depth);
            } catch (...) {
                cache_->forget(me);
                throw;
            }
            cache_->finish_build(me, generation, keys_of(newest),
                                 static_cast<int>(newest.size()) < depth);
            if (posts_) posts_->put(newest, epoch);
            page = cache_->read(me, from, fetch);
            if (!page) return read_store(sql, me, from, fetch);  // forgotten meanwhile
        }
    }
    std::vector<std::int64_t> ids;
    ids.reserve(page->entries.size());
    for (const timeline_key& k : page->entries) ids.push_back(k.id);
    std::vector<post> out = cached_posts(sql, ids, fetch);
    if (static_cast<int>(page->entries.size()) < fetch && page->continue_from) {
        // Below the cached part: read on from the posts, and keep what was found.
        const int wanted = fetch - static_cast<int>(page->entries.size());
        auto rest = read_store(sql, me, *page->continue_from, wanted);
        cache_->extend(me, *page, keys_of(rest), static_cast<int>(rest.size()) < wanted);
        out.insert(out.end(), rest.begin(), rest.end());
    }
    return out;
}

namespace {
struct follow_row {
    std::int64_t follower = 0;
    std::int64_t followee = 0;
};
void bind_follow_row(soci::statement& st, follow_row& r) {
    st.exchange(soci::into(r.follower));
    st.exchange(soci::into(r.followee));
}
}  // namespace

std::size_t timelines::warm(soci::session& sql, const std::vector<std::int64_t>& users,
                            int depth) const {
    if (!cache_ || users.empty()) return 0;
    depth = std::max(depth, 21);
    struct build {
        std::int64_t user = 0;
        std::uint64_t generation = 0;  ///< 0: dropped (forgotten meanwhile)
        bool finished = false;
    };
    std::vector<build> builds;
    for (std::size_t i = 0; i < users.size() && i < warm_batch; ++i)
        if (const auto g = cache_->begin_build(users[i])) builds.push_back({users[i], g});
    if (builds.empty()) return 0;
    std::size_t built = 0;
    try {
        {
            // Whom each follows, as read_cached() records it. Padded with 0 (never a user)
            // to warm_batch: one statement text, prepared once.
            assembled_query q;
            q.sql(followees_of_users_head_sql);
            for (std::size_t i = 0; i < warm_batch; ++i)
                q.sql(i ? ", ?" : "?").bind(i < builds.size() ? builds[i].user : 0);
            q.sql(")");
            const auto rows =
                db_.statements().run<follow_row>(sql, q.text(), q.values(), bind_follow_row);
            std::unordered_map<std::int64_t, std::vector<std::int64_t>> followees;
            for (const auto& r : rows) followees[r.follower].push_back(r.followee);
            for (auto& b : builds)
                if (!cache_->index_followees(b.user, b.generation, std::move(followees[b.user])))
                    b.generation = 0;
        }
        for (auto& b : builds) {
            if (b.generation == 0) continue;
            const std::uint64_t epoch = posts_epoch();
            const std::vector<post> newest = read_store(sql, b.user, newest_first_start, depth);
            cache_->finish_build(b.user, b.generation, keys_of(newest),
                                 static_cast<int>(newest.size()) < depth);
            b.finished = true;
            if (posts_) posts_->put(newest, epoch);
            ++built;
        }
    } catch (...) {
        for (const auto& b : builds)
            if (!b.finished) cache_->forget(b.user);
        throw;
    }
    return built;
}

std::optional<std::vector<post>> timelines::read_in_memory(std::int64_t me, time_cursor from,
                                                          int limit) const {
    if (!cache_ || !posts_) return std::nullopt;
    const int fetch = limit + 1;
    auto page = cache_->read(me, from, fetch);
    if (!page) return std::nullopt;
    if (static_cast<int>(page->entries.size()) < fetch && page->continue_from)
        return std::nullopt;  // below the floor: the posts in SQL
    std::vector<std::int64_t> ids;
    ids.reserve(page->entries.size());
    for (const timeline_key& k : page->entries) ids.push_back(k.id);
    std::vector<std::int64_t> missing;
    std::vector<post> found = posts_->get(ids, missing);
    if (!missing.empty()) return std::nullopt;
    return found;
}

std::vector<post> timelines::cached_posts(soci::session& sql, const std::vector<std::int64_t>& ids,
                                          int pad_to) const {
    if (!posts_) return posts_by_id(sql, ids, pad_to);
    std::vector<std::int64_t> missing;
    std::vector<post> found = posts_->get(ids, missing);
    if (missing.empty()) return found;
    const std::uint64_t epoch = posts_->epoch();
    std::vector<post> read = posts_by_id(sql, missing, pad_to);
    posts_->put(read, epoch);
    // Back into the order of `ids` (newest first), as posts_by_id would return them.
    found.insert(found.end(), std::make_move_iterator(read.begin()),
                 std::make_move_iterator(read.end()));
    std::sort(found.begin(), found.end(), [](const post& a, const post& b) {
        return std::tie(a.created_at, a.id) > std::tie(b.created_at, b.id);
    });
    return found;
}

std::vector<post> timelines::read_materialized(soci::session& sql, std::int64_t me,
                                               time_cursor from, int fetch) const {
    const auto page_text = [](const char* celebrities) {
        return assembled_query()
            .sql(feed_page_head)
            .sql(feed_timeline_arm)
            .sql(" UNION ")
            .sql(feed_queue_arm)
            .sql(" UNION ")
            .sql(celebrities)
            .sql(feed_page_tail)
            .text();
    };
    static const std::string text[2] = {page_text(feed_celebrities_arm_sqlite),
                                        page_text(feed_celebrities_arm_postgresql)};
    const bool sqlite = kind_ == store::dialect::sqlite;
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
                                                  me,
                                                  fetch,  // queue arm
                                                  from.created_at,
                                                  from.id,
                                                  me,
                                                  me,
                                                  sqlite ? fetch : me,
                                                  sqlite ? me : fetch,  // celebrities arm
                                                  fetch};
    return db_.statements().run<post>(sql, text[sqlite ? 0 : 1], values, detail::bind_post);
}

std::vector<post> timelines::read_from_posts(soci::session& sql, std::int64_t me, time_cursor from,
                                             int fetch) const {
    const std::int64_t followees =
        db_.statements()
            .run<std::int64_t>(sql, followees_up_to_sql,
                               {me, std::int64_t{settings_.merge_max_followees} + 1}, bind_int)
            .front();
    return read_from_posts(sql, me, from, fetch, followees);
}

std::vector<post> timelines::read_from_posts(soci::session& sql, std::int64_t me, time_cursor from,
                                             int fetch, std::int64_t followees) const {
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

std::vector<post> timelines::posts_by_id(soci::session& sql, const std::vector<std::int64_t>& ids,
                                         int pad_to) const {
    if (ids.empty()) return {};
    // Padded with id 0 (never a post) to a fixed length, so the statement text, and
    // the prepared statement kept for it, is the same for every page of that size.
    const std::size_t n = std::max(ids.size(), static_cast<std::size_t>(std::max(pad_to, 0)));
    assembled_query q;
    q.sql(posts_by_id_head_sql);
    for (std::size_t i = 0; i < n; ++i) q.sql(i ? ", ?" : "?").bind(i < ids.size() ? ids[i] : 0);
    q.sql(") ORDER BY p.created_at DESC, p.id DESC");
    return run_posts(sql, q);
}

std::vector<post> timelines::merge_followees(soci::session& sql, std::int64_t me, time_cursor from,
                                             int fetch) const {
    assembled_query q;
    q.sql(feed_page_head);
    q.sql(kind_ == store::dialect::sqlite ? feed_followees_arm_sqlite
                                          : feed_followees_arm_postgresql);
    q.bind(from).bind(fetch).bind(me);
    q.sql(" UNION ALL ").sql(feed_author_arm).sql("1");
    q.bind(me).bind(from).bind(fetch);
    q.sql(feed_page_tail).bind(fetch);
    return run_posts(sql, q);
}

}  // namespace bsocial::social
