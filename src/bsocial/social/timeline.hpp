#pragma once
// Home timelines: the feed's storage (docs/feed.md).
//
// Each user's home timeline holds their own newest posts and those of the people they
// follow, written when a post is created (fan-out on write, by the fan-out worker right
// after the post's transaction, in batches; until then the feed reads the queue) and
// capped at `capacity` entries. Below a user's horizon the timeline was trimmed (or
// never built): those pages are read from the posts themselves (fan-out on read: one
// bounded index range per followee, or a bounded walk through everyone's posts). The
// posts of "celebrities" (authors with at least `celebrity_followers` followers, whose
// posts are not fanned out) are merged at read time from posts_by_user_time. A page
// therefore reads about `limit` timeline rows plus `limit` rows per followed celebrity,
// whatever the graph or the number of posts.
//
// Every function runs on a caller's session; the write ones inside the caller's write
// transaction. Blocking: blocking-work pool only. Thread-safe (no mutable state).

#include <optional>
#include <soci/soci.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "bsocial/social/cursor.hpp"
#include "bsocial/social/models.hpp"
#include "bsocial/social/post_cache.hpp"
#include "bsocial/social/settings.hpp"
#include "bsocial/social/timeline_cache.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::social {

namespace detail {
class assembled_query;
}

/// A new post's way into in-memory timelines, handed from publish() to deliver().
struct timeline_delivery {
    timeline_key post;
    std::int64_t author_id = 0;
    std::vector<std::int64_t> users;  ///< in memory: its author and followers
};

class timelines {
  public:
    /// With `cache` on SQLite (one process per database: docs/feed.md), the timelines live
    /// in memory and the home_timeline tables are not used; without it, in the database.
    /// With `cache` on PostgreSQL, every replica keeps the timelines it reads in memory,
    /// kept right by the cluster bus's messages (social/feed_bus.hpp): built from the posts
    /// (settings.postgresql "memory", the default), or over the tables every replica
    /// shares ("tables"). With `posts` too, the posts of a page read from memory come from
    /// memory.
    timelines(store::database& db, timeline_settings settings, timeline_cache* cache = nullptr,
              post_cache* posts = nullptr);

    /// In the post's write transaction. In the database: queues the post for the fan-out
    /// worker (social/fanout.hpp); its author and followers see it at once all the same
    /// (the feed reads the queue too). In memory: reads whom it goes to, for deliver().
    timeline_delivery publish(soci::session& sql, std::int64_t post_id, std::int64_t author_id,
                              std::int64_t created_at) const;
    /// Right after the post's transaction commits (SQLite: still holding the writer lock):
    /// adds the post to the cached timelines of its author and followers (PostgreSQL: of
    /// this replica; the others hear of it from the cluster bus: post_announced()).
    void deliver(const timeline_delivery& delivery) const;
    /// The posts kept in memory's epoch (0 without them): taken before a post's statement,
    /// for post_created().
    std::uint64_t posts_epoch() const;
    /// Right after a post's commit on this replica: its row, as the 201 answers it, into
    /// the posts kept in memory (kept only if no comment, deletion or resync moved the
    /// epoch since `epoch`), so the followers' pages that show it next need no SQL for it.
    void post_created(const post& row, std::uint64_t epoch) const;
    /// Right after a follow or unfollow commits (SQLite: still holding the writer lock):
    /// forgets the follower's cached timeline (rebuilt by its next read).
    void follows_changed(std::int64_t follower_id) const;
    /// PostgreSQL, a post announced over the cluster bus: into the cached timelines of its
    /// author and their followers; without its key, those timelines are forgotten.
    void post_announced(std::int64_t author_id, std::optional<timeline_key> post) const;
    /// PostgreSQL, a comment created or deleted on any replica: the post's cached count
    /// is dropped (read again with the post).
    void comment_count_changed(std::int64_t post_id) const;
    /// PostgreSQL, a post deleted on any replica: gone from the cached posts and timelines.
    void post_removed(std::int64_t post_id, std::int64_t author_id) const;
    /// From memory (never blocks): whether `me` follows `author` now, as `me`'s cached
    /// timeline knows it (each build records whom its user follows; kept right like the
    /// timeline: a follow or unfollow here, or announced by the bus, forgets it); nullopt
    /// when not cached.
    std::optional<bool> follows_in_memory(std::int64_t me, std::int64_t author) const;
    /// Cluster bus resync (messages may have been missed): every cache emptied.
    void forget_everything() const;
    /// Right after a comment's transaction commits, still holding the writer lock: the
    /// post's comment count is now `comment_count` (for the posts kept in memory).
    void comment_added(std::int64_t post_id, std::int64_t comment_count) const;
    /// In a post deletion's write transaction, holding lock_author(author_id) (after the
    /// post left the fan-out queue): removes its entries from the timeline tables.
    void remove_post(soci::session& sql, timeline_key post, std::int64_t author_id) const;
    /// After a post deletion commits (still holding the writer lock), and again on every
    /// process when the cluster bus says "post.deleted": out of the timelines and posts
    /// kept in memory. Idempotent.
    void post_deleted(timeline_key post) const;
    /// After a comment deletion commits, and on every process on "comment.deleted": the
    /// post's count went down, so its cached row goes (read again from SQL). Idempotent.
    void comment_deleted(std::int64_t post_id) const;
    /// Whether the timelines live in memory only, built from the posts (no tables, no
    /// fan-out worker): SQLite with the cache; PostgreSQL with the cache and
    /// BSOCIAL_FEED_POSTGRESQL_TIMELINES=memory (the default).
    bool in_memory() const noexcept { return in_memory_; }
    /// Whether the cached timelines are kept right by the cluster bus (PostgreSQL: several
    /// replicas; posts reach them by author, through the followees each cached timeline
    /// records) rather than by the one writer's commits (SQLite).
    bool by_bus() const noexcept { return cache_ != nullptr && kind_ == store::dialect::postgresql; }
    /// Whether this process keeps timelines (and posts) in memory, either way.
    bool cached() const noexcept { return cache_ != nullptr; }
    /// In the fan-out worker's write transaction, holding lock_author(author_id): adds the
    /// post to its author's timeline and to every follower's (unless the author is a
    /// celebrity); now and then trims one.
    void fan_out(soci::session& sql, std::int64_t post_id, std::int64_t author_id,
                 std::int64_t created_at) const;
    /// In the follow's write transaction, after the follows row exists: copies the
    /// followee's newest posts into the follower's timeline, or makes the followee a
    /// celebrity when they reach the threshold.
    void on_follow(soci::session& sql, std::int64_t follower_id, std::int64_t followee_id) const;
    /// In the unfollow's write transaction: removes the followee's posts from the timeline.
    void on_unfollow(soci::session& sql, std::int64_t follower_id, std::int64_t followee_id) const;
    /// PostgreSQL: serialises the fan-out of `author_id`'s posts with follows and
    /// unfollows of `author_id` (each would otherwise miss the other's uncommitted row: an
    /// entry left behind by an unfollow). SQLite writers are serial already. Call first in
    /// the write transaction.
    void lock_author(soci::session& sql, std::int64_t author_id) const;
    /// The advisory lock's key lock_author() takes for `author_id` (several at once:
    /// social/fanout.cpp).
    static std::int64_t author_lock_key(std::int64_t author_id) noexcept {
        return (std::int64_t{0x7153} << 48) | author_id;
    }

    /// The page of `me`'s feed strictly older than `from`: `limit` posts at most, plus
    /// one more when it exists (the caller turns it into the next cursor).
    std::vector<post> read(soci::session& sql, std::int64_t me, time_cursor from, int limit) const;
    /// read() when the cached timeline and the post cache hold the whole page (any cache:
    /// SQLite's in memory, or PostgreSQL's over the tables, the same answer read() gives
    /// from them): no SQL, never blocks; nullopt when read() must run (timeline not cached
    /// or being built, the page reaching below its floor, a post not cached).
    std::optional<std::vector<post>> read_in_memory(std::int64_t me, time_cursor from,
                                                    int limit) const;

    /// Startup warming (sessions/feed_warmer.hpp): builds the cached timelines of `users`
    /// (those not cached nor being built) as their first read would, the newest `depth`
    /// entries (at least a page of 20 and the next one's marker), their posts into the
    /// post cache. Over the tables, whom they follow is read for all of them in one
    /// statement (registered before their pages are read: a post announced meanwhile is
    /// in the page or kept aside, as in a read's build); then one statement per user for
    /// the page. At most warm_batch users per call. Returns how many were built.
    std::size_t warm(soci::session& sql, const std::vector<std::int64_t>& users, int depth) const;
    static constexpr std::size_t warm_batch = 64;

    /// One follower in this many (chosen by ids) has their timeline trimmed per fanned-out
    /// post: timelines stay near the capacity without counting entries on every write.
    int trim_every() const noexcept;
    /// Trims `user_id`'s timeline to `capacity` entries, raising the horizon.
    void trim(soci::session& sql, std::int64_t user_id) const;

    const timeline_settings& settings() const noexcept { return settings_; }

  private:
    std::vector<post> read_cached(soci::session& sql, std::int64_t me, time_cursor from,
                                  int fetch) const;
    std::vector<post> cached_posts(soci::session& sql, const std::vector<std::int64_t>& ids,
                                   int pad_to) const;
    time_cursor horizon_of(soci::session& sql, std::int64_t user_id) const;
    std::vector<post> run_posts(soci::session& sql, const detail::assembled_query& q) const;
    /// The page from the storage under the cache: the posts (in memory) or the tables.
    std::vector<post> read_store(soci::session& sql, std::int64_t me, time_cursor from,
                                 int fetch) const;
    std::vector<post> read_tables(soci::session& sql, std::int64_t me, time_cursor from,
                                  int fetch) const;
    std::vector<post> read_materialized(soci::session& sql, std::int64_t me, time_cursor from,
                                        int fetch) const;
    std::vector<post> read_from_posts(soci::session& sql, std::int64_t me, time_cursor from,
                                      int fetch) const;
    /// The same, `followees` (how many `me` follows, up to merge_max_followees + 1) known.
    std::vector<post> read_from_posts(soci::session& sql, std::int64_t me, time_cursor from,
                                      int fetch, std::int64_t followees) const;
    std::vector<post> merge_followees(soci::session& sql, std::int64_t me, time_cursor from,
                                      int fetch) const;
    std::vector<post> posts_by_id(soci::session& sql, const std::vector<std::int64_t>& ids,
                                  int pad_to = 0) const;

    store::database& db_;
    store::dialect kind_;
    timeline_settings settings_;
    timeline_cache* cache_;
    post_cache* posts_;
    /// in_memory(), decided once (the setting is a string: not compared per request).
    bool in_memory_;
};

}  // namespace bsocial::social
