#pragma once
// Stored queries (queries/*.json): plain Elasticsearch request bodies whose parameters are
// written {{name}}, always inside a JSON string ("gte": "{{from}}"). Substitution escapes
// each value for a JSON string, so a value can never change the query's structure.

#include <map>
#include <string>
#include <string_view>

namespace bsocial::telemetry {

using query_params = std::map<std::string, std::string, std::less<>>;

/// The characters of `value` escaped for the inside of a JSON string (no quotes added).
std::string json_escape(std::string_view value);

/// `text` with every {{name}} replaced by json_escape(params[name]). Throws
/// std::invalid_argument naming a placeholder that has no value, or when the result is
/// not valid JSON.
std::string substitute(std::string_view text, const query_params& params);

/// Contents of `<dir>/<file>`; throws std::runtime_error when it cannot be read.
std::string load_query_file(const std::string& dir, const std::string& file);

}  // namespace bsocial::telemetry
