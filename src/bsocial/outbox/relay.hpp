#pragma once
// The outbox relay: publishes unsent outbox rows in id order and marks them sent once the
// broker acknowledged them. At-least-once: a crash between publish and mark-sent publishes
// those rows again, with the same event ids, so consumers dedupe by id.
//
// Each batch is three steps (issue 22): claim (one short write transaction sets the rows'
// claimed_until; PostgreSQL selects them FOR UPDATE SKIP LOCKED, so relays of several
// instances take different rows), publish (no connection held while Kafka is waited on),
// mark sent (a second short transaction; unacknowledged rows are released). A claim ends
// by itself at claimed_until, so the rows of a relay that died mid-batch go to the others.
// The relay owns its connection (a session_pool of one, reconnecting): it never takes one
// from the request pool.
//
// Lifecycle (core/worker_thread.hpp): construct -> start() spawns its own thread -> stop()
// finishes the current batch and joins. Never runs on an I/O thread. status() is thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <memory>
#include <thread>
#include <vector>

#include "bsocial/core/clock.hpp"
#include "bsocial/core/worker_thread.hpp"
#include "bsocial/outbox/publisher.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::outbox {

/// PostgreSQL: a process that wrote events but runs no relay NOTIFYs this channel, and
/// every relay LISTENs on it (store/pg_wakeup.hpp), so no event waits for a relay's poll.
inline constexpr const char* relay_channel = "bsocial_outbox";

struct relay_options {
    int batch_size = 500;
    std::chrono::milliseconds idle_poll{50};         ///< how often an idle relay looks again
    std::chrono::milliseconds flush_timeout{15000};  ///< wait for acks per batch
    std::chrono::milliseconds max_backoff{5000};     ///< after a failed batch, at most this
    /// How long a claimed batch is this relay's: well past flush_timeout, so no other relay
    /// publishes it while this one still waits for the broker.
    std::chrono::milliseconds claim_for{30000};
    /// Sent rows older than this are deleted (hourly), so the outbox does not grow forever.
    std::chrono::hours retention{24 * 7};
    /// Test-only fault injection: exit the process right after a batch was acknowledged
    /// by Kafka and before it is marked sent (proves duplicates are harmless downstream).
    bool crash_after_publish = false;
};

struct relay_status {
    std::int64_t published_total = 0;
    std::int64_t failed_batches_total = 0;
    double last_lag_seconds = 0;  ///< created_at -> acknowledged, newest row of last batch
    std::string broker_state = "starting";
};

class outbox_relay {
  public:
    outbox_relay(store::database& db, publisher& out, const clock& clock, relay_options options);
    ~outbox_relay();

    void start();
    void stop();
    /// Wakes the relay now (e.g. right after a write) instead of at the next poll.
    void nudge();

    relay_status status() const;
    /// Its /metrics lines: events published, failed batches, publish lag.
    std::string metrics() const;

    struct batch_result {
        int fetched = 0;  ///< unsent rows found
        int sent = 0;     ///< of those, acknowledged by the broker and marked sent
    };
    /// Publishes one batch. Used by the relay thread and by tests.
    batch_result run_once();

    /// Deletes sent rows older than the retention; returns how many. Used hourly and by tests.
    std::int64_t prune_sent();

  private:
    void run();

    store::database& db_;
    std::unique_ptr<store::session_pool> conns_;
    publisher& out_;
    const clock& clock_;
    relay_options options_;
    mutable std::mutex status_mutex_;
    relay_status status_;
    std::vector<std::int64_t> acked_unmarked_;  // relay thread only
    worker_thread worker_{"outbox-relay"};  // last: stopped (joined) before the members it uses go
};

}  // namespace bsocial::outbox
