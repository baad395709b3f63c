#pragma once
// The _bulk request body and the reading of its response. Pure functions, unit-tested.
//
// Event items are `create` with _id = the event id: a redelivered event (the relay is
// at-least-once) gets 409 and changes nothing already indexed, so 409 counts as done.
// Entity items (document.hpp) are `create` for a creation, `index` for a deletion.

#include <string>
#include <string_view>
#include <vector>

#include "bsocial/telemetry/document.hpp"

namespace bsocial::telemetry {

/// NDJSON: per item an action line and a source line, each ending in '\n' (the trailing
/// newline is mandatory). Never `_type` (removed in Elasticsearch 8).
std::string bulk_body(const std::vector<const index_action*>& items);

enum class item_outcome {
    indexed,    ///< 200/201: written now
    duplicate,  ///< 409: a document with this id exists (redelivery): nothing to do
    retry,      ///< 429 or 5xx: Elasticsearch is busy or broken, send again later
    rejected,   ///< any other status: this document will never be accepted as it is
};

struct item_result {
    item_outcome outcome = item_outcome::retry;
    int status = 0;
    std::string error;  ///< "type: reason" from the item's error object, if any
};

/// Outcome of one item status.
item_outcome classify_status(int status);

/// Reads a _bulk response with `expected` items. Throws std::runtime_error when the body is
/// not a bulk response or the item count differs (the caller then retries the whole batch).
std::vector<item_result> parse_bulk_response(std::string_view body, std::size_t expected);

}  // namespace bsocial::telemetry
