#pragma once
// `bsocial telemetry`: Kafka (group bsocial-telemetry, every bsocial.* topic) -> _bulk.
//
// One thread does everything: consume one message at a time (librdkafka 2.0.2's batch API
// can lose or duplicate messages around rebalances), add its document to the batch, send
// the batch when it is full (events or bytes) or old enough, and commit the offsets
// (synchronously) only after Elasticsearch acknowledged every item. While Elasticsearch
// fails, the assigned partitions are paused and consume() keeps being called, so the
// group membership stays alive and rebalances are served; the batch is retried with
// exponential backoff. A rebalance that takes partitions away first tries to flush once,
// then drops the batch: the new owner starts from the committed offsets, and _id = event
// id makes the repeated documents harmless.
//
// Lifecycle (core/worker_thread.hpp): construct (throws on bad Kafka settings) ->
// subscribe() -> start() (own thread) -> stop(): a final flush + commit and a clean close,
// then clean() tells whether the last batch was committed.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
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

    void run();
    void add(const RdKafka::Message& message);
    std::chrono::milliseconds waited_since_produced(const RdKafka::Message& message) const;
    void drain_fetched();
    /// Adds a consumed message to the batch; false for a timeout, an end of partition or an
    /// error (logged).
    bool take(const RdKafka::Message& message);
    bool batch_due(clock_type::time_point now) const;
    /// One attempt to index every pending item; true when all are acknowledged.
    bool flush_once();
    /// Attempts until success or until `deadline`; true when flushed and committed.
    bool flush_until(clock_type::time_point deadline);
    void commit();
    void clear_batch();
    void pause_all();
    void resume_all();
    void on_revoke();
    /// Deletes the expired monthly indices, at most once an hour (telemetry_config).
    void retention_pass();

    const telemetry_config& config_;
    es_client& es_;
    const clock& clock_;
    index_names indices_;
    std::unique_ptr<rebalance_handler> rebalance_;
    kafka::error_log broker_errors_;  ///< refused credentials, TLS and broker errors, logged
    std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
    std::vector<entry> batch_;
    std::size_t batch_bytes_ = 0;
    clock_type::time_point batch_started_{};
    clock_type::time_point next_attempt_{};
    clock_type::time_point next_retention_{};
    std::chrono::milliseconds backoff_{0};
    bool paused_ = false;
    bool clean_ = false;
    indexer_stats stats_;
    worker_thread worker_;  // last: joined before the members its loop uses go
};

}  // namespace bsocial::telemetry
