#pragma once
// `bsocial query <q1|q2|q3>`: load the stored query, fill in its parameters, run it on the
// configured index and print the rows of telemetry/analytics.hpp as JSON (--json: exactly
// what the API's /api/v1/analytics/* answer) or as a table.

#include <string>
#include <string_view>

#include "bsocial/telemetry/analytics.hpp"
#include "bsocial/telemetry/config.hpp"
#include "bsocial/telemetry/query_template.hpp"

namespace bsocial::telemetry {

/// File name (in the queries directory) of stored query `name` (q1, q2, q3).
std::string query_file(std::string_view name);

/// {{from}}, {{to}}, {{tz}} (and {{user_id}} when given) as Elasticsearch date math:
/// --from/--to days become "YYYY-MM-DD||/d" (range: whole days, inclusive, in tz);
/// --days N becomes "now-(N-1)d/d" .. "now/d" (today included).
query_params query_parameters(const query_config& config, const std::string& user_id);

/// Runs the query and prints the result to stdout; `lookup` gives the posts' details
/// (q2, q3). Returns the exit code (0 = ok). Throws what run_analytics throws.
int run_query(const query_config& config, const post_lookup& lookup);

}  // namespace bsocial::telemetry
