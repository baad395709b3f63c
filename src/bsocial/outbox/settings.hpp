#pragma once
// The outbox relay's settings (core/settings.hpp; relay.hpp). `relay` always runs one;
// `serve` runs one unless told not to (embedded_relay_settings).

#include <stdexcept>

namespace bsocial::outbox {

struct relay_settings {
    int poll_ms = 50;  ///< an idle relay looks again this often (wake-ups come first)
    /// Test-only fault injection (relay_options::crash_after_publish).
    bool crash_after_publish = false;

    void validate() const {
        if (poll_ms < 1 || poll_ms > 600000)
            throw std::invalid_argument("relay poll must be 1..600000 ms (BSOCIAL_RELAY_POLL_MS)");
    }
    template <class Declare>
    void describe(Declare& d) {
        d(poll_ms, "relay-poll-ms", "BSOCIAL_RELAY_POLL_MS",
          "how often an idle outbox relay looks for events nobody woke it for");
        d(crash_after_publish, nullptr, "BSOCIAL_TEST_RELAY_CRASH_AFTER_PUBLISH",
          "tests only: exit right after Kafka acknowledged a batch, before it is marked sent");
    }
};

/// Whether `serve` runs the relay in its own process (when Kafka is configured).
struct embedded_relay_settings {
    bool enabled = true;

    void validate() const {}
    template <class Declare>
    void describe(Declare& d) {
        d(enabled, "relay", "BSOCIAL_RELAY", "run the outbox relay in this process");
    }
};

}  // namespace bsocial::outbox
