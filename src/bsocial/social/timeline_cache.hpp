#pragma once
// Home timelines in memory: the feed's storage on SQLite (docs/feed.md).
//
// A cached timeline holds the post keys (created_at, id) of one user's feed: every one
// at or above its `floor`, none below it (those pages are read from the posts
// themselves, and the entries they find extend the timeline, up to an eighth beyond
// `capacity`; new posts beyond that trim it back to `capacity`).
// It is a cache of what the posts and follows tables say, nothing more: a cold user's
// timeline is built by the first read, a follow or unfollow forgets it, and the least
// recently read ones are dropped beyond `max_users`. New posts are added to the cached
// timelines of their author and followers right after the post commits, still holding
// SQLite's writer lock, so a reader never sees a post before it exists nor misses one
// after its 201.
//
// Builds race with new posts, and follows with both; a generation per cached timeline
// settles it: begin_build() registers the user (posts arriving during the build are
// kept aside), finish_build() installs the built entries only if nothing forgot the user
// meanwhile. Thread-safe (one mutex; every call holds it for microseconds).
//
// On PostgreSQL (several replicas, timelines in tables) the cache sits over the tables: a
// new post is announced by its author alone (cluster bus "post.created"), so each cached
// timeline also records whom it follows (index_followees(), during its build), and
// add_by_author() finds the cached readers of an author in a reverse index.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <optional>
#include <unordered_map>
#include <vector>

#include "bsocial/core/lru_map.hpp"
#include "bsocial/social/cursor.hpp"

namespace bsocial::social {

/// One feed entry: a post's keyset position.
struct timeline_key {
    std::int64_t created_at = 0;
    std::int64_t id = 0;
    friend bool operator<(const timeline_key& a, const timeline_key& b) {
        return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
    }
    friend bool operator==(const timeline_key&, const timeline_key&) = default;
};

/// What a cached timeline answers for one page.
struct cached_page {
    std::vector<timeline_key> entries;  ///< newest first, strictly older than the cursor
    /// When the page is short and the feed may go on: continue from here (strictly
    /// older), reading the posts. Empty: the feed ends with `entries`.
    std::optional<time_cursor> continue_from;
    /// Identifies the timeline read, for extend().
    std::uint64_t generation = 0;
};

struct timeline_cache_stats {
    std::size_t users = 0;
    std::size_t entries = 0;
    std::uint64_t hits = 0;
    std::uint64_t builds = 0;
    std::uint64_t evictions = 0;
    std::uint64_t waits = 0;  ///< reads that waited for a build under way (wait_built)
};

class timeline_cache {
  public:
    /// `capacity`: entries kept per timeline; `max_users`: timelines kept at most.
    timeline_cache(int capacity, std::size_t max_users);

    /// The page strictly older than `from`, `fetch` entries at most; nullopt when
    /// `user`'s timeline is not cached (or being built).
    std::optional<cached_page> read(std::int64_t user, time_cursor from, int fetch);

    /// Starts building `user`'s timeline: returns its generation, or 0 when another
    /// build is under way (read from the posts without caching then).
    std::uint64_t begin_build(std::int64_t user);
    /// Single flight: while `user`'s timeline is being built (a login's warming,
    /// sessions/feed_warmer.hpp, or another read), waits until that build ends (installed,
    /// dropped or forgotten), `limit` at most. True when it is no longer being built (then
    /// read() again: cached, or not and the caller builds or reads the posts); false on
    /// timeout. Returns at once when no build is under way.
    bool wait_built(std::int64_t user, std::chrono::milliseconds limit);

    /// Installs the newest entries of `user`'s feed (newest first), read after
    /// begin_build(): all of them when `complete`, else the feed goes on below the last.
    void finish_build(std::int64_t user, std::uint64_t generation,
                      const std::vector<timeline_key>& newest_first, bool complete);

    /// After a page read below a cached timeline's floor: appends the entries found
    /// there (newest first, starting right below the floor `page.continue_from`) while
    /// the timeline has room. Ignored when the timeline changed since `page` was read.
    void extend(std::int64_t user, const cached_page& page,
                const std::vector<timeline_key>& newest_first, bool complete);

    /// A new post: into the cached timelines of `users` (its author and followers).
    void add(const std::vector<std::int64_t>& users, timeline_key post);
    /// A deleted post: out of every cached timeline (a scan: one binary search per cached
    /// timeline). Timelines being built are forgotten (their build may have read it), and
    /// every generation moves (an extension read before the delete is dropped).
    void remove(timeline_key post);
    /// `user`'s feed changed in a way entries cannot express (a follow, an unfollow).
    void forget(std::int64_t user);

    /// Over the tables (PostgreSQL), during a build begun with `generation`, before the
    /// timeline's own read: `user` follows `followees`. From then on add_by_author()
    /// reaches the timeline (posts announced during the build are kept aside). False when
    /// the build was dropped meanwhile.
    bool index_followees(std::int64_t user, std::uint64_t generation,
                         std::vector<std::int64_t> followees);
    /// A new post by `author`: into the author's cached timeline and those of the cached
    /// timelines indexed as following `author`.
    void add_by_author(std::int64_t author, timeline_key post);
    /// Forgets the author's cached timeline and those of its indexed readers (a post of
    /// theirs whose position is not known, or that is gone).
    void forget_readers_of(std::int64_t author);
    /// Over the tables (PostgreSQL): whether `user` follows `author`, from `user`'s cached
    /// timeline (its followees, indexed by its build; a follow or unfollow forgets it);
    /// nullopt when that timeline is not cached or still being built.
    std::optional<bool> follows(std::int64_t user, std::int64_t author);
    /// Forgets every timeline (messages may have been missed: cluster bus resync).
    void clear();

    timeline_cache_stats stats() const;
    /// Its /metrics lines: timelines and posts held, builds, evictions.
    std::string metrics() const;
    int capacity() const noexcept { return capacity_; }

  private:
    struct timeline {
        std::vector<timeline_key> entries;  ///< oldest first
        std::optional<timeline_key> floor;  ///< empty: complete
        std::uint64_t generation = 0;
        bool building = false;
        std::vector<timeline_key> arrived;  ///< added while building
        std::vector<std::int64_t> followees;  ///< indexed in readers_ (over the tables)
    };

    /// Entries a timeline holds at most: the capacity and an eighth (trimmed back to the
    /// capacity beyond it; extended up to it).
    std::size_t max_entries() const noexcept;
    void trim(timeline& t);
    void insert(timeline& t, timeline_key post);
    void add_locked(std::int64_t user, timeline_key post);
    /// Drops `user`'s timeline `t` from readers_ and the entry count.
    void unindex(std::int64_t user, const timeline& t);
    void forget_locked(std::int64_t user);

    const int capacity_;
    mutable std::mutex mutex_;
    std::condition_variable built_;  ///< a build ended or a timeline went (wait_built)
    lru_map<std::int64_t, timeline> timelines_;  ///< by user, most recently read first
    /// author -> cached timelines following them (index_followees()).
    std::unordered_map<std::int64_t, std::vector<std::int64_t>> readers_;
    std::uint64_t next_generation_ = 1;
    std::size_t entries_ = 0;
    std::uint64_t hits_ = 0, builds_ = 0, evictions_ = 0, waits_ = 0;
};

}  // namespace bsocial::social
