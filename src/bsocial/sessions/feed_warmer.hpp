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

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "bsocial/core/worker_thread.hpp"
#include "bsocial/sessions/session_service.hpp"
#include "bsocial/social/timeline.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::sessions {

class feed_warmer {
  public:
    /// `max_users`: sessions read at most (their users, each once, warmed); 0: nothing.
    /// `wait_for_bus`: wait for bus_connected() before warming (PostgreSQL's cluster bus).
    feed_warmer(store::database& db, const session_service& sessions,
                const social::timelines& timelines, int max_users, bool wait_for_bus);

    void start();
    void stop();

    /// From the cluster bus's on_resync, registered after the caches' own: the bus is
    /// listening (and the caches were emptied), warming may begin.
    void bus_connected();

    /// Whether warming ended (done, off, failed or stopped).
    bool done() const noexcept { return done_.load(); }
    /// Its /metrics lines: sessions and timelines warmed, seconds it took, whether done.
    std::string metrics() const;

  private:
    void run();

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
    worker_thread worker_{"feed_warmer", {.on_stop = [this] {
                                             { std::lock_guard lock(mutex_); }
                                             connected_cv_.notify_all();
                                         }}};
};

}  // namespace bsocial::sessions
