#pragma once
// The fan-out worker: copies new posts into their followers' home timelines, in
// batches, after the post's own transaction (docs/feed.md). A post queues itself in
// `timeline_fanout` when it is created (the feed reads the queue, so nobody waits); this
// worker drains it, many posts per transaction, so one post costs its writer nothing per
// follower and a timeline's pages are written once per batch. On SQLite it lets request
// writers go first while its queue is short enough for the feed to read all of it
// (between batches, and within one by committing early when a request waits); behind
// that it takes whole batches, so a burst slows posting rather than hiding posts. Several API
// instances (PostgreSQL) share the queue: rows are claimed with SKIP LOCKED.
//
// Lifecycle: construct -> start() spawns its own thread -> stop() finishes the current
// batch and joins. nudge() and status() are thread-safe.

#include <memory>
#include <string>
#include <chrono>
#include <cstdint>
#include <mutex>

#include "bsocial/core/clock.hpp"
#include "bsocial/core/worker_thread.hpp"
#include "bsocial/social/timeline.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::social {

struct fanout_options {
    int batch_size = 32;       ///< posts per transaction (the write lock is held meanwhile)
    int max_batch_size = 128;  ///< when behind, batches double up to this
    /// SQLite: while fewer posts than this wait, requests waiting to write go first; beyond
    /// it, the fan-out takes its turn (the feed reads the whole queue, but a deep one makes
    /// its queue arm walk further).
    int yield_below_backlog = 768;
    std::chrono::milliseconds idle_poll{200};  ///< safety net when no nudge comes
    /// A batch that fails with a permanent database error (not a lost connection, not busy)
    /// is taken one post at a time; a post that fails alone this many times in a row is
    /// parked: moved to timeline_fanout_parked, logged and counted, so one post cannot stop
    /// every later one (its followers then miss it in their feeds; its page still shows it).
    int max_attempts = 3;
};

struct fanout_status {
    std::int64_t posts_total = 0;  ///< posts fanned out by this worker
    double last_lag_seconds = 0;   ///< post created -> in its followers' timelines
    std::int64_t parked_total = 0; ///< posts given up on (permanent database error)
};

class timeline_fanout {
  public:
    timeline_fanout(store::database& db, const timelines& timelines, const clock& clock,
                    fanout_options options = {});
    ~timeline_fanout();

    void start();
    void stop();
    /// Wakes the worker now (right after a post) instead of at the next poll.
    void nudge();
    fanout_status status() const;

    /// Fans out one batch; returns how many posts it took. Used by the thread and tests.
    int run_once();
    /// `yield_to_writers`: commit early when a request waits to write (SQLite).
    int run_once(int batch_size, bool yield_to_writers);
    /// Posts still waiting (for /metrics and /readyz).
    std::int64_t backlog();
    /// Its /metrics lines: posts fanned out, backlog (reads the queue), lag.
    std::string metrics();

  private:
    void run();
    bool small_backlog();
    /// run_once on PostgreSQL: the whole batch in set-based statements.
    int run_once_postgresql(int batch_size);
    /// Moves `post_id` out of the queue into timeline_fanout_parked; logs and counts it.
    void park(std::int64_t post_id, const std::exception& why);

    store::database& db_;
    std::unique_ptr<store::session_pool> conns_;  // its own connection, never a request's
    const timelines& timelines_;
    const clock& clock_;
    fanout_options options_;
    mutable std::mutex status_mutex_;
    fanout_status status_;
    std::int64_t claimed_first_ = 0;  ///< oldest post of the last claimed batch (worker thread)
    worker_thread worker_{
        "timeline-fanout"};  // last: stopped (joined) before the members it uses go
};

}  // namespace bsocial::social
