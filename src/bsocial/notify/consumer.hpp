#pragma once
// The notifier's Kafka consumer: group `bsocial-notifier` on `bsocial.comments`. Each
// comment.created on someone else's post becomes one notification row. Messages are
// handled in small batches: rows inserted in one transaction, then the offsets committed
// (after the store, so a crash re-reads; the UNIQUE comment id makes that harmless).
//
// Lifecycle: construct -> start() (own thread) -> stop() (finishes the batch, commits,
// closes the consumer). counters() is thread-safe.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>

#include "bsocial/notify/notifications.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::notify {

struct consumer_options {
    std::string brokers;
    std::string group_id = "bsocial-notifier";
    std::string topic = "bsocial.comments";
    int max_batch = 200;
};

struct consumer_counters {
    std::int64_t events = 0;         ///< messages read
    std::int64_t notifications = 0;  ///< rows created
    std::int64_t poison = 0;         ///< messages that were not a valid comment event
    bool assigned = false;           ///< partitions assigned (the group is joined)
};

/// Parses a comment.created envelope; nullopt for anything else (other types are skipped,
/// malformed ones count as poison).
std::optional<comment_event> parse_comment_event(const std::string& payload, bool& malformed);

class comment_consumer {
  public:
    comment_consumer(store::database& db, consumer_options options);
    ~comment_consumer();

    void start();
    void stop();
    consumer_counters counters() const;

  private:
    void run();

    store::database& db_;
    consumer_options options_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::int64_t> events_{0}, notifications_{0}, poison_{0};
    std::atomic<bool> assigned_{false};
};

}  // namespace bsocial::notify
