#pragma once
// `bsocial telemetry`: Kafka (group bsocial-telemetry, every bsocial.* topic) -> _bulk.
//
// One thread consumes one message at a time (librdkafka 2.0.2's batch API can lose or
// duplicate messages around rebalances) and adds its documents to the current batch; a
// batch that is full (events or bytes) or old enough is handed to a sender (a connection
// of its own), and up to `max_inflight` bulk requests are in flight at once, so the engine
// indexes one batch while the next is read and sent. Offsets are committed (synchronously)
// in consumption order: a batch's offsets only once it and every batch before it were
// acknowledged item by item. While Elasticsearch fails, the assigned partitions are paused
// and consume() keeps being called, so the group membership stays alive and rebalances are
// served; the failed batches are retried with exponential backoff. A rebalance that takes
// partitions away waits for the requests in flight, tries once more to flush the rest,
// commits what was acknowledged and drops the others: the new owner starts from the
// committed offsets, and _id = event id makes the repeated documents harmless.
//
// Lifecycle (core/worker_thread.hpp): construct (throws on bad Kafka settings) ->
// subscribe() -> start() (own thread) -> stop(): a final flush + commit and a clean close,
// then clean() tells whether the last batch was committed.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bsocial/core/clock.hpp"
#include "bsocial/core/worker_thread.hpp"
#include "bsocial/kafka/config.hpp"
#include "bsocial/telemetry/config.hpp"
#include "bsocial/telemetry/document.hpp"
#include "bsocial/telemetry/es_client.hpp"

namespace RdKafka {
class KafkaConsumer;
class Message;
}  // namespace RdKafka

namespace bsocial::telemetry {

struct indexer_stats {
    std::int64_t indexed = 0;       ///< event documents created
    std::int64_t duplicates = 0;    ///< events already there (redeliveries)
    std::int64_t dead_letters = 0;  ///< poison messages parked
    std::int64_t batches = 0;       ///< successful _bulk rounds
    std::int64_t failed_attempts = 0;
    /// login-day updates not sent: all their flags already acknowledged (login_day_memory)
    std::int64_t login_days_skipped = 0;
    /// login-day updates folded into another one of the same document in the same batch
    std::int64_t login_days_merged = 0;
};

class indexer {
  public:
    /// `on_exit` runs on the indexer's thread when its loop ended, normally (after stop())
    /// or not (an exception), e.g. so that the process stops waiting for a signal.
    indexer(const telemetry_config& config, es_client& es, const clock& clock,
            std::function<void()> on_exit = {});
    ~indexer();

    /// Subscribes; call before start(). Throws when librdkafka refuses the configuration.
    void subscribe();
    /// Consumes on a thread of its own until stop().
    void start();
    /// Final flush + commit, clean close, join. Rethrows what ended the loop early, if
    /// anything.
    void stop();
    /// After stop(): true when the last batch was indexed and committed, false when it
    /// could not be (it will be delivered again).
    bool clean() const { return clean_; }

    const indexer_stats& stats() const { return stats_; }

  private:
    class rebalance_handler;
    struct entry {
        source_message msg;
        index_action action;
        bool done = false;
    };
    using clock_type = std::chrono::steady_clock;
    struct batch {
        std::vector<entry> entries;
        std::size_t bytes = 0;
        clock_type::time_point started{};
        std::int64_t produced_ms = 0;  ///< Kafka timestamp of its first message (0: none)
        /// login-day document `_id` -> the entry of its one `update` in this batch
        std::unordered_map<std::string, std::size_t> login_days;
    };
    /// What one attempt on a batch did (computed on a sender thread, counted on ours).
    struct flush_result {
        bool ok = false;  ///< every item acknowledged
        indexer_stats counts;
    };
    /// A batch handed to a sender, kept in consumption order until committed.
    struct sent_batch {
        std::unique_ptr<batch> items;  ///< stable address while a sender works on it
        es_client* sender = nullptr;   ///< its connection, held until the batch is popped
        std::future<flush_result> result;  ///< valid while a request is in flight
        enum { in_flight, acknowledged, failed } state = in_flight;
    };

    void run();
    void add(const RdKafka::Message& message);
    /// Adds one item of a message to the current batch: a login-day update whose flags are
    /// all acknowledged already is dropped, one of a document the batch already updates is
    /// folded into that update.
    void add_item(const source_message& msg, index_action action);
    std::chrono::milliseconds waited_since_produced(const RdKafka::Message& message) const;
    void drain_fetched();
    /// Adds a consumed message to the batch; false for a timeout, an end of partition or an
    /// error (logged).
    bool take(const RdKafka::Message& message);
    bool batch_due(clock_type::time_point now) const;
    /// One attempt to index every pending item of `b` through `es`; runs on a sender thread
    /// (touches only `b`, logs, and read-only members).
    flush_result flush_once(batch& b, es_client& es) const;
    /// Hands the current batch to a free sender (there must be one).
    void send_current();
    /// (Re)starts the request of `s` on its sender's connection.
    void launch(sent_batch& s);
    /// Takes the results of finished requests (waiting for all of them with `wait`), then
    /// commits the acknowledged batches at the head. Returns true when one failed.
    bool collect(bool wait);
    /// Commits the offsets of the acknowledged batches at the head of sent_ and pops them.
    void commit_acknowledged();
    /// Resends the failed batches (after the backoff).
    void retry_failed();
    bool any_failed() const;
    /// Sends everything (current batch included) until acknowledged or `deadline`; true when
    /// all was indexed and committed.
    bool flush_until(clock_type::time_point deadline);
    void pause_all();
    void resume_all();
    void on_revoke();
    void note_failure();
    /// Catch-up: a longer refresh while far behind, the normal one once caught up.
    void adjust_refresh(std::int64_t oldest_produced_ms);
    void set_refresh(int refresh_ms, const char* event);
    /// Deletes the expired monthly indices, at most once an hour (telemetry_config).
    void retention_pass();

    const telemetry_config& config_;
    es_client& es_;
    const clock& clock_;
    index_names indices_;
    login_day_memory login_days_;  ///< acknowledged login-day flags (consumer thread only)
    std::unique_ptr<rebalance_handler> rebalance_;
    kafka::error_log broker_errors_;  ///< refused credentials, TLS and broker errors, logged
    std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
    batch current_;                      ///< being filled by the consumer
    std::deque<sent_batch> sent_;        ///< sent, not yet committed, oldest first
    std::vector<std::unique_ptr<es_client>> senders_;  ///< one connection per request in flight
    std::vector<es_client*> free_senders_;
    clock_type::time_point next_attempt_{};
    clock_type::time_point next_retention_{};
    std::chrono::milliseconds backoff_{0};
    bool paused_ = false;
    bool catching_up_ = false;  ///< the indices' refresh is catchup_refresh_ms
    bool clean_ = false;
    indexer_stats stats_;
    worker_thread worker_;  // last: joined before the members its loop uses go
};

}  // namespace bsocial::telemetry
