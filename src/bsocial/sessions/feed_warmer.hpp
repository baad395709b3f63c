#pragma once
// Startup warming (issue 25, cold start): right after serve starts listening, the users of
// the sessions used most recently (those likely to come back first) get their checked
// session and their feed's first page, with its posts, into this process's caches, so their
// first request after a restart is answered as a warm one is.
//
// In the background, on a thread of its own, never delaying readiness (/healthz answers
// at once) nor holding a request up: one pooled connection per batch of
// social::timelines::warm_batch users, given back between batches. Set-based: the sessions
// and their users in one statement (session_service::warm), whom a batch follows in one
// (timelines::warm), then one statement per user for the page.
//
// Correct with the cluster bus as the caches are when a request fills them: sessions go in
// with the epoch taken before their read (a revocation heard meanwhile drops them), each
// timeline is built as a read builds it (registered first, its followees indexed before its
// page is read, the posts announced meanwhile kept aside; a follow or a resync meanwhile
// drops it). On PostgreSQL it waits for the bus's first connection (whose resync empties
// the caches) before it starts; a later resync empties what was warmed, like anything
// else. Bounded by BSOCIAL_FEED_WARM_USERS (0: off) and the timeline cache's size.
//
// Login warming (issue 25, a user not warmed at start): a login, and a session's first
// request read from SQL (its first after a restart, or after its belief ran out), hands
// the user to enqueue(), which never blocks; a thread of its own builds that user's first
// page (timelines::warm, as a read builds it) on a connection of its own (never a
// request's), so the feed page the user loads next is answered from memory. A feed read
// arriving during that build waits for it (single flight, timeline_cache::wait_built)
// rather than building it twice. A flood of logins stays bounded: at most
// BSOCIAL_FEED_LOGIN_WARM_QUEUE users wait (more are dropped, counted), one build runs at
// a time, a user already cached or being built costs no SQL, and a user who waited longer
// than login_warm_late (the server is busy) is dropped too: the feed read builds it then.

#include <atomic>
#include <condition_variable>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "bsocial/core/worker_thread.hpp"
#include "bsocial/sessions/session_service.hpp"
#include "bsocial/social/timeline.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::sessions {

class feed_warmer {
  public:
    /// `max_users`: sessions read at most (their users, each once, warmed); 0: nothing.
    /// `wait_for_bus`: wait for bus_connected() before warming (PostgreSQL's cluster bus).
    /// `login_queue`: users a login's warming holds waiting at most (0: login warming off).
    feed_warmer(store::database& db, const session_service& sessions,
                const social::timelines& timelines, int max_users, bool wait_for_bus,
                int login_queue = 0);

    /// Starts the start's warming and the login warming (each when on).
    void start();
    void stop();

    /// A login (or a session read from SQL) of `user`: their first page is built in the
    /// background, unless they wait already, the queue is full (counted as dropped) or
    /// login warming is off. Never blocks (a mutex held for microseconds); any thread.
    void enqueue(std::int64_t user);
    /// Called on the login warming's thread after it built `user`'s first page (serve
    /// makes the page's JSON then). Set before start().
    void on_built(std::function<void(std::int64_t)> f) { on_built_ = std::move(f); }
    /// A queued user who waited longer than this is dropped (the server is busy).
    static constexpr std::chrono::milliseconds login_warm_late{1000};

    /// Login warming's counters (tests, /metrics).
    struct login_counts {
        std::uint64_t queued = 0, built = 0, skipped = 0, dropped = 0, failed = 0;
    };
    login_counts login_stats() const noexcept;

    /// From the cluster bus's on_resync, registered after the caches' own: the bus is
    /// listening (and the caches were emptied), warming may begin.
    void bus_connected();

    /// Whether warming ended (done, off, failed or stopped).
    bool done() const noexcept { return done_.load(); }
    /// Its /metrics lines: sessions and timelines warmed, seconds it took, whether done.
    std::string metrics() const;

  private:
    void run();
    void run_logins();

    store::database& db_;
    const session_service& sessions_;
    const social::timelines& timelines_;
    const int max_users_;
    const bool wait_for_bus_;
    std::mutex mutex_;
    std::condition_variable connected_cv_;
    bool connected_ = false;  ///< guarded by mutex_
    std::atomic<std::uint64_t> sessions_warmed_{0}, timelines_warmed_{0};
    std::atomic<double> seconds_{0};
    std::atomic<bool> done_{false};

    const std::size_t login_queue_;
    std::function<void(std::int64_t)> on_built_;
    std::unique_ptr<store::session_pool> login_pool_;  ///< one connection, never a request's
    std::mutex queue_mutex_;
    std::condition_variable queue_cv_;
    struct queued_user {
        std::int64_t user = 0;
        std::chrono::steady_clock::time_point at;
    };
    std::deque<queued_user> queue_;            ///< guarded by queue_mutex_
    std::unordered_set<std::int64_t> waiting_;  ///< the users in queue_, guarded by queue_mutex_
    std::atomic<std::uint64_t> login_queued_{0}, login_built_{0}, login_skipped_{0},
        login_dropped_{0}, login_failed_{0};
    worker_thread login_worker_{"login_warmer", {.on_stop = [this] {
                                                     { std::lock_guard lock(queue_mutex_); }
                                                     queue_cv_.notify_all();
                                                     { std::lock_guard lock(mutex_); }
                                                     connected_cv_.notify_all();
                                                 }}};
    worker_thread worker_{"feed_warmer", {.on_stop = [this] {
                                             { std::lock_guard lock(mutex_); }
                                             connected_cv_.notify_all();
                                         }}};
};

}  // namespace bsocial::sessions
