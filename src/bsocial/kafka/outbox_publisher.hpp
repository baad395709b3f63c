#pragma once
// The Kafka side of the outbox relay: an idempotent librdkafka producer (acks=all, gzip),
// recreated when it reports a fatal error (librdkafka 2.0.2 can go fatal after a
// "possibly persisted" failure; fixed upstream in 2.3.0). Used by one relay thread only.
// Broker errors are logged with their cause (kafka::error_log); when the broker refuses the
// credentials, nothing is acknowledged, so the rows stay unsent in the outbox and the relay
// tries again next round; state() says "unreachable: ... (broker: <cause>)".

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bsocial/kafka/security.hpp"
#include "bsocial/outbox/publisher.hpp"

namespace bsocial::kafka {

struct producer_options {
    std::string brokers;             ///< bootstrap servers, "host:port,..."
    int message_timeout_ms = 10000;  ///< a message not acknowledged by then fails
    std::string compression = "gzip";
    std::vector<std::string> known_topics;  ///< looked up at start, not at their first event
    client_security security;               ///< TLS / SASL (kafka/security.hpp)
};

class outbox_publisher final : public outbox::publisher {
  public:
    /// Throws std::runtime_error when the configuration is refused.
    explicit outbox_publisher(producer_options options);
    ~outbox_publisher() override;

    std::vector<std::int64_t> publish(const std::vector<outbox::outbox_row>& rows,
                                      std::chrono::milliseconds timeout) override;
    std::string state() const override;

    /// How many times the producer was recreated after a fatal error.
    int recreations() const { return recreations_; }

  private:
    class delivery_reports;
    void create_producer();
    void destroy_producer();

    producer_options options_;
    std::unique_ptr<delivery_reports> reports_;
    std::unique_ptr<RdKafka::Producer> producer_;
    std::vector<std::unique_ptr<RdKafka::Topic>> known_topics_;  ///< kept so their metadata stays
    std::atomic<int> recreations_{0};
    mutable std::mutex state_mutex_;
    std::string state_ = "starting";
};

}  // namespace bsocial::kafka
