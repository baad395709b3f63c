#pragma once
// SQLite's WAL checkpoints off the request path (`serve` only; issue 8, docs/feed.md).
//
// By default SQLite checkpoints inside the COMMIT that grows the WAL past 1000 pages: that
// writer copies the pages into the database file and syncs twice (~12 ms here), while it
// still holds this process's writer lock (database.hpp), so every other write waits.
// The wal_checkpointer turns that off on the pool's connections (wal_autocheckpoint = 0,
// and a WAL hook that only records the WAL's size) and checkpoints on a thread of its own,
// with a connection of its own:
//
// - PRAGMA wal_checkpoint(PASSIVE) when `checkpoint_frames` pages were appended since the
//   last checkpoint (the hook wakes it), or every `period` when anything was appended.
//   PASSIVE never waits for, nor blocks, readers or writers. Once every frame is copied
//   back, the next writer starts the WAL again from its beginning (SQLite does that), so the
//   file stops growing whenever writes pause long enough for a checkpoint to catch up.
// - Under writes that never pause, the WAL keeps growing (each checkpoint copies only what
//   was appended before it started). Past `max_wal_bytes` the checkpointer holds this
//   process's writers (database::hold_writers) while it copies the pages appended since its
//   last checkpoint (PASSIVE again: it never waits for readers); the next writer then starts
//   the WAL again. One short stall per `max_wal_bytes` of writes instead of one per 1000
//   pages. (A TRUNCATE there, which also waits for readers and shrinks the file, made POST
//   p99 ~600 ms in `make bench`: docs/feed.md.) The file stays at about `max_wal_bytes`.
//
// Lifecycle (core/worker_thread.hpp): construct before anything else uses the pool (it
// sets the pool's connections up) -> start() -> stop(); destroy before the database.
// SQLite only; thread-safe: status() from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "bsocial/core/worker_thread.hpp"

namespace soci {
class session;
}

namespace bsocial::store {

class database;

struct wal_checkpointer_options {
    /// Pages appended since the last checkpoint that wake the checkpointer (SQLite's
    /// default autocheckpoint is 1000).
    std::int64_t checkpoint_frames = 1000;
    /// Checkpoint at least this often while anything is appended.
    std::chrono::milliseconds period{200};
    /// Past this WAL size, writers wait for the checkpoint of the last few pages.
    std::int64_t max_wal_bytes = 64LL << 20;
};

struct wal_checkpointer_status {
    std::int64_t checkpoints_total = 0;  ///< PASSIVE checkpoints run
    std::int64_t catch_ups_total = 0;    ///< checkpoints with writers held (WAL past max_wal_bytes)
    std::int64_t wal_frames = 0;         ///< WAL pages after the last checkpoint
    std::int64_t backfilled_frames = 0;  ///< of those, copied into the database file
    std::int64_t committed_frames = 0;   ///< WAL pages at the newest commit
    std::int64_t page_size = 0;          ///< bytes per WAL page
};

class wal_checkpointer {
  public:
    /// `db` must be SQLite; `path` its file. Sets every pooled connection up (throws on
    /// PostgreSQL or when the checkpointer's own connection fails to open).
    wal_checkpointer(database& db, const std::string& path, wal_checkpointer_options options = {});
    ~wal_checkpointer();
    wal_checkpointer(const wal_checkpointer&) = delete;
    wal_checkpointer& operator=(const wal_checkpointer&) = delete;

    void start();
    void stop();
    wal_checkpointer_status status() const;
    /// Its /metrics lines: checkpoints, catch-ups, WAL size.
    std::string metrics() const;

  private:
    void on_commit(std::int64_t wal_frames);  ///< the WAL hook, on the committing thread
    void run();
    void checkpoint();
    void catch_up();

    database& db_;
    wal_checkpointer_options options_;
    std::unique_ptr<soci::session> sql_;  ///< the checkpointer's own connection
    std::int64_t max_wal_frames_ = 0;
    std::atomic<std::int64_t> commits_{0};     ///< commits seen by the hook
    std::atomic<std::int64_t> wal_frames_{0};  ///< WAL size at the newest commit (hook)
    std::atomic<std::int64_t> backfilled_{0};  ///< frames copied back by the last checkpoint
    std::atomic<std::int64_t> checkpoints_{0};
    std::atomic<std::int64_t> catch_ups_{0};
    std::atomic<std::int64_t> last_wal_frames_{0};
    std::atomic<std::int64_t> page_size_{0};
    worker_thread worker_{"wal-checkpointer"};
};

}  // namespace bsocial::store
