#pragma once
// Comment lists in memory (docs/feed.md, "Comment lists"): every `serve` (SQLite's one,
// PostgreSQL's replicas) keeps the comments of the posts whose lists it reads, so a warm
// list is answered on the I/O thread with no SQL, like a warm feed page
// (posts::comments_in_memory()).
//
// An entry is a post's whole list (oldest first) with its author's id (who may see the
// list: the author and their followers; the post's author never changes). Posts with
// more than `max_per_post()` comments are remembered as such and read from SQL. Least
// recently read posts go first beyond `max_comments` comments in all.
//
// Kept right like post_cache: the serve that adds or deletes a comment, or deletes a post,
// drops the post's entry right after its commit (on SQLite, the one writer, that is all);
// on PostgreSQL every replica drops it again on the cluster bus's "comment.created" /
// "comment.deleted" / "post.deleted" (social/feed_bus.hpp), and a bus resync empties the
// cache. Each drop moves the epoch: a list read from SQL before a drop is not kept (put()
// with the older epoch). Thread-safe (one mutex, held for microseconds).

#include <atomic>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "bsocial/social/cursor.hpp"
#include "bsocial/social/models.hpp"

namespace bsocial::social {

class comment_cache {
  public:
    /// `max_comments`: comments kept in all (a post's list counts its length, at least 1).
    explicit comment_cache(std::size_t max_comments);

    /// Lists longer than this are not kept (read from SQL every time).
    std::size_t max_per_post() const noexcept { return max_per_post_; }

    /// Moves with every drop: take it before reading a list for put().
    std::uint64_t epoch() const;

    struct slice {
        std::int64_t post_author_id = 0;
        std::vector<comment> rows;  ///< `fetch` at most, in the page's order
    };
    /// The comments of `post_id` strictly after `from` (oldest first) or, `newest_first`,
    /// strictly before it (newest first), `fetch` at most; nullopt when the list is not
    /// kept (never read, dropped, evicted, or too long).
    std::optional<slice> read(std::int64_t post_id, time_cursor from, int fetch,
                              bool newest_first);
    /// Whether `post_id`'s list is known to be longer than max_per_post().
    bool too_long(std::int64_t post_id) const;
    /// Keeps the whole list of `post_id` (oldest first; more than max_per_post() rows: only
    /// that it is too long), read from SQL after epoch() returned `epoch`, unless a drop
    /// came since.
    void put(std::int64_t post_id, std::int64_t post_author_id, std::vector<comment> all,
             std::uint64_t epoch);

    /// The post's comments changed, or the post is gone: its list is read from SQL next.
    void drop(std::int64_t post_id);
    /// Drops every list (cluster bus resync).
    void clear();

    /// The same slicing read() does, over a whole list (oldest first): the SQL path answers
    /// with it after reading the list, so both paths give one answer.
    static std::vector<comment> slice_of(const std::vector<comment>& all, time_cursor from,
                                         int fetch, bool newest_first);

    /// Its /metrics lines: posts and comments held, hits, misses (lists read from SQL).
    std::string metrics() const;
    /// A page answered from memory; a list read from SQL.
    void count_hit() noexcept { hits_.fetch_add(1, std::memory_order_relaxed); }
    void count_miss() noexcept { misses_.fetch_add(1, std::memory_order_relaxed); }

  private:
    struct entry {
        std::int64_t post_author_id = 0;
        bool too_long = false;
        std::vector<comment> comments;  ///< oldest first
        std::list<std::int64_t>::iterator lru;
    };
    void erase_locked(std::unordered_map<std::int64_t, entry>::iterator it);

    const std::size_t max_comments_;
    const std::size_t max_per_post_;
    mutable std::mutex mutex_;
    std::unordered_map<std::int64_t, entry> posts_;
    std::list<std::int64_t> lru_;  ///< most recently read first
    std::size_t held_ = 0;         ///< comments held (a too-long or empty list counts 1)
    std::uint64_t epoch_ = 0;
    std::atomic<std::uint64_t> hits_{0}, misses_{0};
};

}  // namespace bsocial::social
