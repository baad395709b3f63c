#include "bsocial/telemetry/query_runner.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "bsocial/core/text.hpp"
#include "bsocial/telemetry/es_client.hpp"

namespace bsocial::telemetry {

namespace json = boost::json;

namespace {

constexpr const char* user_lookup_file = "user_id_by_username.json";

const json::object& obj(const json::value& v, std::string_view key) {
    const auto* o = v.as_object().if_contains(key);
    if (!o || !o->is_object())
        throw std::runtime_error("response lacks object \"" + std::string(key) + "\"");
    return o->get_object();
}

const json::array& buckets(const json::object& agg) {
    const auto* b = agg.if_contains("buckets");
    if (!b || !b->is_array()) throw std::runtime_error("aggregation has no buckets");
    return b->get_array();
}

std::string str(const json::value& v) {
    if (v.is_string()) return std::string(v.get_string());
    if (v.is_null()) return "-";
    return json::serialize(v);
}

std::int64_t count(const json::value& v) { return v.to_number<std::int64_t>(); }

std::string pad(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

std::string search(es_client& es, const std::string& index, const std::string& body) {
    const auto r = es.request("POST", "/" + index + "/_search", body);
    if (r.status != 200)
        throw std::runtime_error("query refused by Elasticsearch: HTTP " +
                                 std::to_string(r.status) + " " + r.body.substr(0, 1000));
    return r.body;
}

/// The user id behind a username, from any event that carries both.
std::string lookup_user_id(es_client& es, const query_config& config) {
    const std::string name = ascii_lower(config.user);
    const auto body =
        substitute(load_query_file(config.queries_dir, user_lookup_file), {{"username", name}});
    const auto response = json::parse(search(es, config.es.index, body));
    const auto& hits = obj(response, "hits").at("hits").as_array();
    if (hits.empty()) throw std::runtime_error("no user \"" + name + "\" in the events index");
    return std::string(hits.at(0).at("_source").at("user_id").as_string());
}

std::string table_q1(const json::value& aggs) {
    std::ostringstream out;
    out << "day          logged-in users\n";
    for (const auto& b : buckets(obj(aggs, "per_day")))
        out << pad(str(b.at("key_as_string")), 13) << count(b.at("users").at("value")) << "\n";
    return out.str();
}

std::string table_q2(const json::value& aggs) {
    std::ostringstream out;
    out << "day          rank  post_id     comments\n";
    for (const auto& day : buckets(obj(aggs, "per_day"))) {
        const auto key = str(day.at("key_as_string"));
        const auto& top = buckets(day.at("top_posts").as_object());
        if (top.empty()) out << pad(key, 13) << "-     (no comments)\n";
        int rank = 0;
        for (const auto& p : top)
            out << pad(key, 13) << pad(std::to_string(++rank), 6) << pad(str(p.at("key")), 12)
                << count(p.at("doc_count")) << "\n";
    }
    return out.str();
}

std::string table_q3(const json::value& aggs) {
    std::ostringstream out;
    out << "which  post_id     comments  created_at\n";
    bool any = false;
    for (const auto* which : {"top_post", "worst_post"}) {
        for (const auto& p : buckets(obj(aggs, which))) {
            // ranked last: a post whose post.created is not indexed (only comments seen)
            if (count(p.at("post").at("doc_count")) == 0) continue;
            any = true;
            out << pad(std::string(which).substr(0, std::string(which).find('_')), 7)
                << pad(str(p.at("key")), 12)
                << pad(std::to_string(count(p.at("comments").at("doc_count"))), 10)
                << str(p.at("post").at("created").as_object().contains("value_as_string")
                           ? p.at("post").at("created").at("value_as_string")
                           : json::value(nullptr))
                << "\n";
        }
    }
    if (!any) out << "(this user has no posts)\n";
    return out.str();
}

}  // namespace

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

std::string render_table(std::string_view name, std::string_view response) {
    boost::system::error_code ec;
    const auto parsed = json::parse(response, ec);
    if (ec || !parsed.is_object()) throw std::runtime_error("search response is not JSON");
    const auto* aggs = parsed.as_object().if_contains("aggregations");
    if (!aggs || !aggs->is_object())
        throw std::runtime_error("search response has no aggregations");
    if (name == "q1") return table_q1(*aggs);
    if (name == "q2") return table_q2(*aggs);
    return table_q3(*aggs);
}

int run_query(const query_config& config) {
    es_client es(split_credentials(config.es));
    std::string user_id = config.user_id;
    if (config.name == "q3" && user_id.empty()) user_id = lookup_user_id(es, config);
    const auto body = substitute(load_query_file(config.queries_dir, query_file(config.name)),
                                 query_parameters(config, user_id));
    spdlog::debug("module=telemetry event=query name={} index={} body={}", config.name,
                  config.es.index, body);
    const auto response = search(es, config.es.index, body);
    if (config.json) {
        std::fwrite(response.data(), 1, response.size(), stdout);
        std::fputc('\n', stdout);
    } else {
        if (config.name == "q3") std::printf("user_id %s\n", user_id.c_str());
        const auto table = render_table(config.name, response);
        std::fwrite(table.data(), 1, table.size(), stdout);
    }
    std::fflush(stdout);
    return 0;
}

}  // namespace bsocial::telemetry
