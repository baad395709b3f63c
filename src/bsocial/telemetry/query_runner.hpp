#pragma once
// `bsocial query <q1|q2|q3>`: load the stored query, fill in its parameters, run it on the
// configured index and print a table (or the raw response with --json).

#include <string>
#include <string_view>

#include "bsocial/telemetry/config.hpp"
#include "bsocial/telemetry/query_template.hpp"

namespace bsocial::telemetry {

/// File name (in the queries directory) of stored query `name` (q1, q2, q3).
std::string query_file(std::string_view name);

/// {{from}}, {{to}}, {{tz}} (and {{user_id}} when given) as Elasticsearch date math:
/// --from/--to days become "YYYY-MM-DD||/d" (range: whole days, inclusive, in tz);
/// --days N becomes "now-(N-1)d/d" .. "now/d" (today included).
query_params query_parameters(const query_config& config, const std::string& user_id);

/// Human-readable table of a search response of query `name`. Throws std::runtime_error
/// when the response does not have the expected aggregations.
std::string render_table(std::string_view name, std::string_view response);

/// Runs the query and prints the result to stdout. Returns the exit code (0 = ok).
/// Throws on failure (unreachable Elasticsearch, refused query, unknown user).
int run_query(const query_config& config);

}  // namespace bsocial::telemetry
