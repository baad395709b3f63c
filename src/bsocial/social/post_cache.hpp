#pragma once
// Posts in memory, for the feed on SQLite (docs/feed.md): a page read from an in-memory
// timeline then needs no SQL for the posts either. A post never changes but for its
// comment count, which add_comment() sets here right after its transaction commits
// (holding SQLite's writer lock, like the timelines), never lowering it. A row read from
// SQL while a comment was being added may carry the old count: put() drops the rows when
// a comment was added since their read began.
// Least recently read posts are dropped beyond `max_posts`. Thread-safe.
//
// On PostgreSQL (several replicas) another replica's comment is announced over the cluster
// bus ("comment.created"/"comment.deleted": drop()), and a bus resync (messages
// may have been missed) empties the cache (clear()); both move the epoch, so a row read
// before them is not kept.

#include <cstdint>
#include <mutex>
#include <vector>

#include "bsocial/core/lru_map.hpp"
#include "bsocial/social/models.hpp"

namespace bsocial::social {

class post_cache {
  public:
    explicit post_cache(std::size_t max_posts);

    /// Changes with every comment added: take it before reading rows for put().
    std::uint64_t epoch() const;
    /// The cached posts among `ids`, in the order of `ids`; `missing` gets the others.
    std::vector<post> get(const std::vector<std::int64_t>& ids, std::vector<std::int64_t>& missing);
    /// Keeps `rows`, read from SQL after epoch() returned `epoch`, unless a comment was
    /// added since.
    void put(const std::vector<post>& rows, std::uint64_t epoch);
    /// Right after a comment's transaction commits, holding the writer lock: the post's
    /// count is now `comment_count`.
    void comment_added(std::int64_t post_id, std::int64_t comment_count);

    /// A post deleted, or its comment count lowered (a comment deleted): out of the cache,
    /// read from SQL next time; rows read before this are not kept (the epoch moves).
    void drop(std::int64_t post_id);
    /// Drops every post (cluster bus resync).
    void clear();

    std::size_t size() const;

  private:
    mutable std::mutex mutex_;
    lru_map<std::int64_t, post> posts_;  ///< by id, most recently read first
    std::uint64_t epoch_ = 0;
};

}  // namespace bsocial::social
