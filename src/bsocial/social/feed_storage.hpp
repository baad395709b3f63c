#pragma once
// Where the home timelines live on SQLite, and what guards that choice (docs/feed.md).
//
// In memory (BSOCIAL_FEED_CACHE_USERS > 0, the default on SQLite) the timelines are a cache
// in the one serve process of the database file: nothing keeps the home_timeline tables
// then, and a second serve would not see the first one's new posts in its feeds. So:
// - a serve with timelines in memory holds an exclusive lock next to the database; one
//   with timelines in the tables holds a shared one (several may run). Any other
//   combination fails at start with a clear error.
// - the tables are marked stale while timelines live in memory; the first serve that
//   uses them again empties them and puts every user's horizon at the newest post (the
//   older pages are read from the posts, and new posts fill the timelines again).

#include <string>

#include "bsocial/store/database.hpp"

namespace bsocial::social {

class feed_storage_lock {
  public:
    /// Takes the lock of the SQLite database at `sqlite_path`; throws std::runtime_error
    /// when another serve holds it in a conflicting way.
    feed_storage_lock(const std::string& sqlite_path, bool in_memory);
    ~feed_storage_lock();
    feed_storage_lock(const feed_storage_lock&) = delete;
    feed_storage_lock& operator=(const feed_storage_lock&) = delete;

  private:
    int fd_ = -1;
};

/// At serve's start, holding the lock: marks the tables stale (in memory), or repairs
/// them when they are (in the tables). Returns true when it repaired them.
bool prepare_timeline_tables(store::database& db, bool in_memory, std::int64_t now_ms);

}  // namespace bsocial::social
