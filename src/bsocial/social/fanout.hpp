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
    /// PostgreSQL: beyond this many queued posts (estimated by the post's own statement),
    /// relieve() fans out `help_batch` of them on the posting request's connection (0:
    /// never). Every replica's request threads then help, and posting slows to the
    /// fan-out's pace instead of leaving a backlog behind a burst.
    std::int64_t max_backlog = 2000;
    int help_batch = 16;
};

struct fanout_status {
    std::int64_t posts_total = 0;  ///< posts fanned out by this worker
    double last_lag_seconds = 0;   ///< post created -> in its followers' timelines
    std::int64_t parked_total = 0; ///< posts given up on (permanent database error)
    std::int64_t helped_total = 0; ///< of posts_total, fanned out by post requests (relieve)
    std::int64_t help_failures = 0; ///< relieve() batches that failed (the posts stay queued)
    std::int64_t batches_total = 0;    ///< PostgreSQL transactions committed
    std::int64_t conflict_retries = 0; ///< PostgreSQL batches run again with ON CONFLICT
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
    /// Backpressure (PostgreSQL, timelines in the tables): called by a post request after
    /// its post committed, with `queued` = how many posts wait (an estimate: the new post's
    /// id minus the oldest queued one's). Over max_backlog it fans out one batch of the
    /// queue on `sql` (the request's connection), claiming rows with the worker's SKIP
    /// LOCKED statements. Never throws: a failed batch stays queued (logged, counted).
    /// Returns the posts it fanned out.
    int relieve(soci::session& sql, std::int64_t queued) noexcept;
    std::int64_t max_backlog() const { return options_.max_backlog; }
    /// Posts still waiting (for /metrics and /readyz).
    std::int64_t backlog();
    /// Its /metrics lines: posts fanned out, backlog (reads the queue), lag.
    std::string metrics();

  private:
    void run();
    bool small_backlog();
    /// run_once on PostgreSQL: the whole batch in set-based statements.
    int run_once_postgresql(int batch_size);
    /// One batch on `sql`, in its own transaction; `first`: the oldest claimed post. Rows
    /// are inserted plainly; a unique violation (an entry already there) runs the batch
    /// again with `skip_existing` (ON CONFLICT DO NOTHING).
    int fan_out_batch_postgresql(soci::session& sql, int batch_size, std::int64_t& first);
    int fan_out_batch_postgresql(soci::session& sql, int batch_size, std::int64_t& first,
                                 bool skip_existing);
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
