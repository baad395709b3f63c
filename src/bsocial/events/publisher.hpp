#pragma once
// Where the outbox relay sends events. The seam lets unit tests run the relay without a
// broker; production uses kafka_publisher.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "bsocial/events/outbox.hpp"

namespace bsocial::events {

class publisher {
  public:
    virtual ~publisher() = default;

    /// Publishes every row and waits up to `timeout` for the broker's acknowledgements.
    /// Returns the ids of the rows the broker acknowledged (acks=all): only those may be
    /// marked sent. Acknowledgements that arrive late are returned by a later call.
    virtual std::vector<std::int64_t> publish(const std::vector<outbox_row>& rows,
                                              std::chrono::milliseconds timeout) = 0;

    /// Human-readable state of the connection to the broker ("ok" or why not).
    virtual std::string state() const = 0;
};

}  // namespace bsocial::events
