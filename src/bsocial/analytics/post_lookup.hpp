#pragma once
// The posts' details of the analytics rows, from SQL: the telemetry::post_lookup that
// `bsocial serve` (the API) and `bsocial query` (the CLI) both hand to run_analytics.

#include <cstddef>
#include <string>
#include <string_view>

#include "bsocial/store/database.hpp"
#include "bsocial/telemetry/analytics.hpp"

namespace bsocial::analytics {

/// Characters of an excerpt at most (code points; "…" replaces the rest).
inline constexpr std::size_t excerpt_length = 80;

/// The first `max` code points of valid UTF-8 `content`, with "…" when it was longer.
std::string excerpt(std::string_view content, std::size_t max = excerpt_length);

/// Looks the posts up by id in `db` (which must outlive the result). Ids that are not
/// digits or not in the database are left out. Blocking (one SQL connection, briefly).
telemetry::post_lookup sql_post_lookup(store::database& db);

}  // namespace bsocial::analytics
