#pragma once
// Where the outbox relay sends events. The seam lets unit tests run the relay without a
// broker; production uses kafka::outbox_publisher (kafka/outbox_publisher.hpp). No SQL
// here: the kafka module includes this header without linking the outbox library.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "bsocial/outbox/row.hpp"

namespace bsocial::outbox {

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

}  // namespace bsocial::outbox
