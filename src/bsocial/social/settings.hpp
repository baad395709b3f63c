#pragma once
// The feed's settings (core/settings.hpp; docs/feed.md): the home timelines' shape, how
// pages below the horizon are read, and the SQLite in-memory timelines.

#include <stdexcept>
#include <string>

namespace bsocial::social {

struct timeline_settings {
    /// Entries kept per home timeline (trimmed back to this size now and then).
    int capacity = 1000;
    /// Authors with this many followers are merged at read time instead of fanned out.
    int celebrity_followers = 10000;
    /// Below the horizon: up to this many followees are merged one index range each;
    /// with more, everyone's posts are walked first (they are dense there).
    int merge_max_followees = 256;
    /// The walk reads at most this many posts before it hands over to the merge.
    int walk_max_rows = 8192;
    /// PostgreSQL with the feed cache on: "memory" (each replica keeps the timelines it
    /// reads in memory, built from the posts and kept right by the cluster bus: no fan-out
    /// rows) or "tables" (home_timeline, written by the fan-out worker, the cache over it).
    /// One choice for every replica of a database (docs/feed.md).
    std::string postgresql = "memory";

    bool postgresql_in_memory() const noexcept { return postgresql == "memory"; }

    void validate() const;
    template <class Declare>
    void describe(Declare& d) {
        d(capacity, "feed-timeline-capacity", "BSOCIAL_FEED_TIMELINE_CAPACITY",
          "entries kept per home timeline");
        d(celebrity_followers, "feed-celebrity-followers", "BSOCIAL_FEED_CELEBRITY_FOLLOWERS",
          "followers from which an author's posts are merged at read time");
        d(merge_max_followees, "feed-merge-max-followees", "BSOCIAL_FEED_MERGE_MAX_FOLLOWEES",
          "below the horizon, merge one index range per followee up to this many");
        d(walk_max_rows, "feed-walk-max-rows", "BSOCIAL_FEED_WALK_MAX_ROWS",
          "below the horizon, walk at most this many posts before merging");
        d(postgresql, "feed-postgresql-timelines", "BSOCIAL_FEED_POSTGRESQL_TIMELINES",
          "PostgreSQL with --feed-cache-users: memory (each replica keeps the timelines it reads "
          "in memory, built from the posts, kept right by the cluster bus; no fan-out) or tables "
          "(home_timeline rows written by the fan-out worker, the cache over them); the same "
          "for every replica of a database");
    }
};

/// Home timelines (and their posts) held in memory: SQLite, one serve per file, instead of
/// the tables; PostgreSQL over them, kept right by the cluster bus (docs/feed.md).
struct feed_cache_settings {
    int users = 10000;   ///< timelines kept, the most recently read (0 = in the database)
    int posts = 100000;  ///< posts kept for those timelines
    int comments = 100000;  ///< PostgreSQL: comments of the lists read kept (0 = none)

    void validate() const;
    template <class Declare>
    void describe(Declare& d) {
        d(users, "feed-cache-users", "BSOCIAL_FEED_CACHE_USERS",
          "keep the home timelines of this many users in memory (SQLite: instead of the "
          "database; PostgreSQL: over it, kept right across replicas by the cluster bus; 0: "
          "the database only)");
        d(posts, "feed-cache-posts", "BSOCIAL_FEED_CACHE_POSTS",
          "with --feed-cache-users: keep this many posts in memory");
        d(comments, "feed-cache-comments", "BSOCIAL_FEED_CACHE_COMMENTS",
          "with --feed-cache-users: keep the comment lists read in memory, this many comments "
          "in all (PostgreSQL: kept right across replicas by the cluster bus; 0: every list "
          "from the database)");
    }
};

/// The fan-out worker and the bound on its queue (social/fanout.hpp; docs/feed.md): timelines
/// in the tables (PostgreSQL, or SQLite with BSOCIAL_FEED_CACHE_USERS=0).
struct fanout_settings {
    /// PostgreSQL: when more posts than this wait to be fanned out, a post request fans out
    /// a batch of the queue itself before it answers (0: never). Posting then slows to the
    /// fan-out's pace instead of leaving a backlog.
    int max_backlog = 50000;
    /// Posts a request takes from the queue when it is over max_backlog.
    int help_batch = 16;
    /// 1: the fan-out worker thread runs in this serve; 0: it does not (another replica's
    /// does, or, for tests, posts wait until requests over max_backlog fan them out).
    int worker = 1;

    void validate() const;
    template <class Declare>
    void describe(Declare& d) {
        d(max_backlog, "feed-fanout-max-backlog", "BSOCIAL_FEED_FANOUT_MAX_BACKLOG",
          "PostgreSQL: beyond this many posts waiting for the fan-out, each new post fans out "
          "a batch of them before its 201 (0: never)");
        d(help_batch, "feed-fanout-help-batch", "BSOCIAL_FEED_FANOUT_HELP_BATCH",
          "posts a post request fans out when the queue is over the max backlog");
        d(worker, "feed-fanout-worker", "BSOCIAL_FEED_FANOUT_WORKER",
          "1: run the fan-out worker in this serve; 0: do not (posts are then fanned out by "
          "other replicas' workers, or by requests over the max backlog)");
    }
};

inline void fanout_settings::validate() const {
    if (max_backlog < 0 || max_backlog > 100000000)
        throw std::invalid_argument(
            "feed fan-out max backlog must be 0..100000000 (BSOCIAL_FEED_FANOUT_MAX_BACKLOG)");
    if (help_batch < 1 || help_batch > 1024)
        throw std::invalid_argument(
            "feed fan-out help batch must be 1..1024 (BSOCIAL_FEED_FANOUT_HELP_BATCH)");
    if (worker != 0 && worker != 1)
        throw std::invalid_argument("feed fan-out worker must be 0 or 1 (BSOCIAL_FEED_FANOUT_WORKER)");
}

inline void timeline_settings::validate() const {
    if (capacity < 1 || capacity > 100000)
        throw std::invalid_argument(
            "feed timeline capacity must be 1..100000 (BSOCIAL_FEED_TIMELINE_CAPACITY)");
    if (celebrity_followers < 1)
        throw std::invalid_argument(
            "feed celebrity followers must be >= 1 (BSOCIAL_FEED_CELEBRITY_FOLLOWERS)");
    if (merge_max_followees < 0)
        throw std::invalid_argument(
            "feed merge max followees must be >= 0 (BSOCIAL_FEED_MERGE_MAX_FOLLOWEES)");
    if (walk_max_rows < 1)
        throw std::invalid_argument("feed walk max rows must be >= 1 (BSOCIAL_FEED_WALK_MAX_ROWS)");
    if (postgresql != "memory" && postgresql != "tables")
        throw std::invalid_argument(
            "feed PostgreSQL timelines must be memory or tables (BSOCIAL_FEED_POSTGRESQL_TIMELINES)");
}

inline void feed_cache_settings::validate() const {
    if (users < 0 || users > 10000000)
        throw std::invalid_argument(
            "feed cache users must be 0..10000000 (BSOCIAL_FEED_CACHE_USERS)");
    if (posts < 1 || posts > 100000000)
        throw std::invalid_argument(
            "feed cache posts must be 1..100000000 (BSOCIAL_FEED_CACHE_POSTS)");
    if (comments < 0 || comments > 100000000)
        throw std::invalid_argument(
            "feed cache comments must be 0..100000000 (BSOCIAL_FEED_CACHE_COMMENTS)");
}

}  // namespace bsocial::social
