#pragma once
// Wake-ups between processes through PostgreSQL LISTEN/NOTIFY, for workers that otherwise
// poll (the outbox relay): a process that wrote rings a `pg_doorbell`; every process with a
// `pg_wakeup` on the same channel runs its callback at once. Both keep a libpq connection
// of their own (not a pooled one: a wake-up never waits behind requests) and reconnect
// after a loss; a lost wake-up only costs the woken worker's own poll interval.
//
// Lifecycle (core/worker_thread.hpp): construct -> start() -> stop(). Thread-safe: ring()
// from any thread.

#include <atomic>
#include <functional>
#include <string>

#include "bsocial/core/worker_thread.hpp"

namespace bsocial::store {

/// LISTENs on `channel` and calls `on_notify` (on its own thread) for every batch of
/// notifications that arrives, and once after each reconnect (whatever was sent meanwhile).
class pg_wakeup {
  public:
    pg_wakeup(std::string url, std::string channel, std::function<void()> on_notify);
    ~pg_wakeup();
    pg_wakeup(const pg_wakeup&) = delete;
    pg_wakeup& operator=(const pg_wakeup&) = delete;

    void start();
    void stop();

  private:
    void run();

    std::string url_;
    std::string channel_;
    std::function<void()> on_notify_;
    int stop_fd_ = -1;  ///< eventfd: wakes the poll() on stop
    worker_thread worker_;
};

/// Sends NOTIFY `channel` after ring(); rings that arrive while one is being sent are
/// folded into the next one, so a burst of writes costs a few NOTIFYs, not one each.
class pg_doorbell {
  public:
    pg_doorbell(std::string url, std::string channel);
    ~pg_doorbell();
    pg_doorbell(const pg_doorbell&) = delete;
    pg_doorbell& operator=(const pg_doorbell&) = delete;

    void start();
    void stop();
    void ring() {
        rung_ = true;
        worker_.nudge();
    }

  private:
    void run();

    std::string url_;
    std::string channel_;
    std::atomic<bool> rung_{false};
    worker_thread worker_{"pg-doorbell"};
};

}  // namespace bsocial::store
