#pragma once
// The notifier's Kafka consumer: group `bsocial-notifier` on `bsocial.comments`. Each
// comment.created on someone else's post becomes one notification row. Messages are
// handled in small batches: rows inserted in one transaction, then the offsets committed
// (after the store, so a crash re-reads; the UNIQUE comment id makes that harmless).
//
// The event is not trusted for who gets notified nor for what they read: the recipient is
// the post's author as the database has it (docs/security.md, item 8), and the commenter's
// name, the excerpt and the time come from the stored comment (issue 24, item 6). An event
// whose comment does not exist, or whose post_author_id is not the author of that post, is
// skipped, logged and counted (`forged`).
//
// Lifecycle (core/worker_thread.hpp): construct -> start() (own thread) -> stop()
// (finishes the batch, commits, closes the consumer). counters() is thread-safe. An
// exception in the consumer's thread (Kafka client creation, subscription, the database
// outside a batch) is logged, the Kafka client closed, and after a back-off (1 s doubling
// to 30 s) a new one starts: it never reaches std::terminate (item 11). A batch the database
// refuses is read again while the failure is transient (database away, busy); a permanent
// one is retried message by message, and a message that still fails is parked (issue 24).

#include <memory>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bsocial/core/worker_thread.hpp"
#include "bsocial/kafka/security.hpp"
#include "bsocial/notify/notifications.hpp"
#include "bsocial/store/database.hpp"

namespace RdKafka {
class Message;
}

namespace bsocial::notify {

struct consumer_options {
    std::string brokers;
    kafka::client_security security;  ///< TLS / SASL; broker errors are logged with their cause
    std::string group_id = "bsocial-notifier";
    std::string topic = "bsocial.comments";
    int max_batch = 200;
    /// Offsets are committed to Kafka at most this often (and when the consumer stops):
    /// each commit is a request to the group coordinator, and a commit lost in a crash
    /// only redelivers events whose rows already exist (UNIQUE comment_id drops them).
    std::chrono::milliseconds commit_interval{1000};
    /// A message whose own transaction fails this many times with a permanent database
    /// error (not a lost connection, not busy) is parked: recorded in `parked_messages`,
    /// logged, counted, and its offset committed, so one message cannot stop a partition.
    int max_attempts = 3;
    std::chrono::milliseconds retry_pause{200};  ///< between those attempts
};

struct consumer_counters {
    std::int64_t events = 0;         ///< messages read
    std::int64_t notifications = 0;  ///< rows created
    std::int64_t poison = 0;         ///< messages that were not a valid comment event
    std::int64_t forged = 0;         ///< comment events the database contradicts (skipped)
    std::int64_t restarts = 0;       ///< times the consumer thread recovered from a failure
    std::int64_t parked = 0;         ///< messages given up on (permanent database error)
    bool assigned = false;           ///< partitions assigned (the group is joined)
};

/// The comment `e` names as the database has it: `e`'s ids with the stored post author,
/// commenter username, content and time; nullopt when no comment has this id, post and
/// commenter. The event's own copies of those are never used (issue 24, item 6).
std::optional<comment_event> stored_comment(soci::session& sql, const comment_event& e);

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
    /// Its /metrics lines: the counters above.
    std::string metrics() const;

  private:
    void run();
    void consume_until_stopped();
    /// Stores `msgs` in one transaction; adds to `created` and `forged`. Throws what the
    /// database threw (nothing is stored then).
    void store_messages(const std::vector<const RdKafka::Message*>& msgs, int& created,
                        int& forged);
    /// Gives up on `msg`: logs it, counts it and records it in parked_messages (best effort).
    void park(const RdKafka::Message& msg, const std::exception& why, int attempts);

    store::database& db_;
    std::unique_ptr<store::session_pool> conns_;  // its own connection, never a request's
    consumer_options options_;
    std::atomic<std::int64_t> events_{0}, notifications_{0}, poison_{0}, forged_{0}, restarts_{0},
        parked_{0};
    std::atomic<bool> assigned_{false};
    worker_thread worker_{"notify-consumer"};  // last: joined before the members it uses go
};

}  // namespace bsocial::notify
