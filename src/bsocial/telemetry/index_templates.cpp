#include "bsocial/telemetry/index_templates.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <stdexcept>

#include "bsocial/telemetry/config.hpp"
#include "bsocial/telemetry/es_client.hpp"

namespace bsocial::telemetry {

namespace json = boost::json;

namespace {

// Ids are strings of digits in the events: `keyword` for terms/term queries, plus a `num`
// (long) sub-field so ties can be broken in numeric order (keyword order puts "10" < "9").
constexpr const char* events_mappings = R"({
  "dynamic": "strict",
  "properties": {
    "event_id":    {"type": "keyword"},
    "type":        {"type": "keyword"},
    "version":     {"type": "integer"},
    "occurred_at": {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
    "ingested_at": {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
    "user_id":        {"type": "keyword", "fields": {"num": {"type": "long"}}},
    "post_id":        {"type": "keyword", "fields": {"num": {"type": "long"}}},
    "comment_id":     {"type": "keyword", "fields": {"num": {"type": "long"}}},
    "post_author_id": {"type": "keyword", "fields": {"num": {"type": "long"}}},
    "follower_id":    {"type": "keyword", "fields": {"num": {"type": "long"}}},
    "followee_id":    {"type": "keyword", "fields": {"num": {"type": "long"}}},
    "username":          {"type": "keyword"},
    "follower_username": {"type": "keyword"},
    "followee_username": {"type": "keyword"},
    "email":      {"type": "keyword"},
    "first_name": {"type": "keyword"},
    "last_name":  {"type": "keyword"},
    "content":    {"type": "text"},
    "data":       {"type": "object", "enabled": false},
    "kafka": {"properties": {
      "topic":     {"type": "keyword"},
      "partition": {"type": "integer"},
      "offset":    {"type": "long"},
      "key":       {"type": "keyword"}
    }}
  }
})";

// One document per post (_id post:<id>) and per comment (_id comment:<id>): created by the
// creation event (`create`), overwritten by the deletion event (`index`, deleted: true).
constexpr const char* entities_mappings = R"({
  "dynamic": "strict",
  "properties": {
    "kind":           {"type": "keyword"},
    "post_id":        {"type": "keyword", "fields": {"num": {"type": "long"}}},
    "comment_id":     {"type": "keyword", "fields": {"num": {"type": "long"}}},
    "user_id":        {"type": "keyword", "fields": {"num": {"type": "long"}}},
    "post_author_id": {"type": "keyword", "fields": {"num": {"type": "long"}}},
    "created_at": {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
    "deleted_at": {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
    "deleted":    {"type": "boolean"},
    "event_id":   {"type": "keyword"}
  }
})";

constexpr const char* dead_letter_mappings = R"({
  "dynamic": "strict",
  "properties": {
    "reason":        {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 1024}}},
    "failed_at":     {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
    "payload":       {"type": "text", "index": false},
    "payload_bytes": {"type": "long"},
    "kafka": {"properties": {
      "topic":     {"type": "keyword"},
      "partition": {"type": "integer"},
      "offset":    {"type": "long"},
      "key":       {"type": "keyword"}
    }}
  }
})";

std::string refresh_interval(int refresh_ms) { return std::to_string(refresh_ms) + "ms"; }

std::string template_json(const std::string& index, int replicas, int refresh_ms,
                          const char* mappings, const char* meta) {
    json::object settings;
    // One primary shard: terms aggregations ordered by count (queries q2, q3) are exact
    // only when one shard sees every document; the volume of a social network's events
    // fits one shard for a long time (docs/telemetry.md says when to change this).
    settings["number_of_shards"] = 1;
    settings["number_of_replicas"] = replicas;
    settings["refresh_interval"] = refresh_interval(refresh_ms);
    json::object tmpl;
    tmpl["settings"] = settings;
    tmpl["mappings"] = json::parse(mappings);
    json::object body;
    body["index_patterns"] = json::array{json::value(index)};
    // Above the built-in templates (priority 100-200 in Elasticsearch 8) so ours wins.
    body["priority"] = 500;
    body["template"] = tmpl;
    body["_meta"] = {{"owner", "bsocial telemetry"}, {"description", meta}};
    return json::serialize(body);
}

void put_template(es_client& es, const std::string& name, const std::string& body) {
    const auto r = es.request("PUT", "/_index_template/" + name, body);
    if (r.status != 200)
        throw std::runtime_error("index template " + name + " refused: HTTP " +
                                 std::to_string(r.status) + " " + r.body.substr(0, 500));
}

/// Indices made by an older template keep their settings: bring the refresh up to date.
void set_refresh(es_client& es, const std::string& index, int refresh_ms) {
    const json::object body{{"index", {{"refresh_interval", refresh_interval(refresh_ms)}}}};
    const auto r = es.request("PUT", "/" + index + "/_settings", json::serialize(body));
    if (r.status != 200)
        throw std::runtime_error("cannot set the refresh interval of " + index + ": HTTP " +
                                 std::to_string(r.status) + " " + r.body.substr(0, 500));
}

void create_index(es_client& es, const std::string& index) {
    const auto r = es.request("PUT", "/" + index, "");
    if (r.status == 200) {
        spdlog::info("module=telemetry event=index_created index={}", index);
        return;
    }
    if (r.status == 400 && r.body.find("resource_already_exists_exception") != std::string::npos)
        return;
    throw std::runtime_error("cannot create index " + index + ": HTTP " + std::to_string(r.status) +
                             " " + r.body.substr(0, 500));
}

}  // namespace

std::string events_template_json(const std::string& index, int replicas, int refresh_ms) {
    return template_json(index, replicas, refresh_ms, events_mappings,
                         "bSocial events, one per Kafka event");
}

std::string entities_template_json(const std::string& index, int replicas, int refresh_ms) {
    return template_json(index, replicas, refresh_ms, entities_mappings,
                         "bSocial posts and comments, one per entity, deletions win");
}

std::string dead_letter_template_json(const std::string& index, int replicas, int refresh_ms) {
    return template_json(index, replicas, refresh_ms, dead_letter_mappings,
                         "Kafka messages telemetry could not index");
}

void install_templates(es_client& es, const elasticsearch_config& config, int replicas,
                       int refresh_ms) {
    const auto dead = config.dead_letter_index();
    const auto entities = config.entities_index();
    put_template(es, config.index, events_template_json(config.index, replicas, refresh_ms));
    put_template(es, dead, dead_letter_template_json(dead, replicas, refresh_ms));
    put_template(es, entities, entities_template_json(entities, replicas, refresh_ms));
    for (const auto& index : {config.index, dead, entities}) {
        create_index(es, index);
        set_refresh(es, index, refresh_ms);
    }
    spdlog::info(
        "module=telemetry event=templates_installed index={} dead_letter_index={} "
        "replicas={}",
        config.index, dead, replicas);
}

}  // namespace bsocial::telemetry
