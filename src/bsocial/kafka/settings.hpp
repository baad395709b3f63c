#pragma once
// Where Kafka is, and how long the producer tries to deliver (core/settings.hpp).
// Producers (serve's or relay's outbox relay) and consumers (notifier, telemetry) share
// broker_settings.

#include <string>

namespace bsocial::kafka {

struct broker_settings {
    std::string brokers;  ///< empty: `serve` keeps events in the outbox (no relay)

    void validate() const {}
    template <class Declare>
    void describe(Declare& d) {
        d(brokers, "kafka", "BSOCIAL_KAFKA_BROKERS",
          "Kafka bootstrap servers (serve: empty = relay off)");
    }
};

struct producer_settings {
    int message_timeout_ms = 10000;

    void validate() const {}
    template <class Declare>
    void describe(Declare& d) {
        d(message_timeout_ms, "kafka-message-timeout-ms", "BSOCIAL_KAFKA_MESSAGE_TIMEOUT_MS",
          "Kafka delivery timeout per message");
    }
};

}  // namespace bsocial::kafka
