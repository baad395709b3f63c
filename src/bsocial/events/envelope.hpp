#pragma once
// Reading an event envelope (docs/events.md) back from a Kafka message: the one parser
// its consumers share (notify's comment consumer, telemetry's indexer). The builders in
// event.hpp write it.

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace bsocial::events {

/// A valid v1 envelope.
struct envelope {
    std::string id;           ///< non-empty, at most 128 bytes (the dedupe key)
    std::string type;         ///< e.g. "comment.created"; not checked against the known types
    std::string occurred_at;  ///< as sent (RFC 3339 in UTC); not parsed here
    boost::json::object data;
};

struct envelope_reading {
    std::optional<envelope> value;  ///< set when the payload is a valid v1 envelope
    std::string error;              ///< otherwise why not, e.g. `envelope lacks "id"`
    /// The "type" whenever the payload is a JSON object with a string "type", even when
    /// something else is wrong: a consumer skips the types it does not handle without
    /// calling them poison.
    std::optional<std::string> type;
};

/// Checks, in this order: UTF-8, JSON, an object, "id" (a non-empty string of at most 128
/// bytes), "type" (a string), "version" (1), "occurred_at" (a string), "data" (an object).
/// The error names the first check that failed.
envelope_reading parse_envelope(std::string_view payload);

}  // namespace bsocial::events
