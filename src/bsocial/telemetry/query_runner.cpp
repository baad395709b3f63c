#include "bsocial/telemetry/query_runner.hpp"

#include <boost/json.hpp>
#include <cstdio>
#include <stdexcept>

#include "bsocial/telemetry/es_client.hpp"

namespace bsocial::telemetry {

namespace json = boost::json;

std::string query_file(std::string_view name) {
    if (name == "q1") return "q1_logged_in_users_per_day.json";
    if (name == "q2") return "q2_top_commented_posts_per_day.json";
    if (name == "q3") return "q3_user_top_and_worst_post.json";
    throw std::invalid_argument("unknown query " + std::string(name));
}

query_params query_parameters(const query_config& config, const std::string& user_id) {
    query_params p;
    p["tz"] = config.tz;
    if (!config.from.empty()) {
        // "||/d" rounds in the range's time_zone: down for gte, up (end of day) for lte.
        p["from"] = config.from + "||/d";
        p["to"] = config.to + "||/d";
    } else {
        p["from"] = "now-" + std::to_string(config.days - 1) + "d/d";
        p["to"] = "now/d";
    }
    if (!user_id.empty()) p["user_id"] = user_id;
    return p;
}

int run_query(const query_config& config, const post_lookup& lookup) {
    es_client es(split_credentials(config.es));
    const auto rows = run_analytics(es, config, lookup);
    const auto text =
        config.json ? json::serialize(rows) + "\n" : render_table(config.name, rows);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return 0;
}

}  // namespace bsocial::telemetry
