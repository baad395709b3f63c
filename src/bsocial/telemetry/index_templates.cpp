#include "bsocial/telemetry/index_templates.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <cstdio>
#include <regex>
#include <stdexcept>

#include "bsocial/core/time_format.hpp"
#include "bsocial/telemetry/document.hpp"

#include "bsocial/telemetry/config.hpp"
#include "bsocial/telemetry/es_client.hpp"

namespace bsocial::telemetry {

namespace json = boost::json;

namespace {

// Only what is searched, sorted or aggregated on is indexed (docs/telemetry.md, "Index
// layout"): each indexed field is engine CPU for every event. `type`, `occurred_at`,
// `username` (user_id_by_username) and the ids are searched (`term`/`terms`; ids are digit
// strings, so `keyword`); `user_id` is also aggregated on (q1 from the events: `user_id.num`,
// a long with doc values only, numeric order; the old `cardinality` on `user_id`) and
// `event_id` sorted on (paging every document; `_id` already finds one). The rest is kept
// in `_source` only. email, names, usernames of follows and `content` are no longer copied
// out of `data` (it holds them verbatim); their entries stay, unindexed, so that documents
// of an older telemetry still fit the strict mapping. `kafka` (where the event was read) is
// a disabled object like `data`: kept in `_source`, skipped by the engine as a whole rather
// than parsed by four field mappers (the JFR profile of issue 29: the document parser is the
// engine's largest cost per document; docs/telemetry.md "Where the engine's CPU goes").
constexpr const char* events_mappings = R"({
  "dynamic": "strict",
  "properties": {
    "event_id":    {"type": "keyword", "index": false},
    "type":        {"type": "keyword"},
    "version":     {"type": "integer", "index": false, "doc_values": false},
    "occurred_at": {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
    "ingested_at": {"type": "date", "format": "strict_date_optional_time||epoch_millis",
                    "index": false, "doc_values": false},
    "user_id":        {"type": "keyword", "fields": {"num": {"type": "long", "index": false}}},
    "post_id":        {"type": "keyword", "doc_values": false},
    "comment_id":     {"type": "keyword", "doc_values": false},
    "post_author_id": {"type": "keyword", "doc_values": false},
    "follower_id":    {"type": "keyword", "doc_values": false},
    "followee_id":    {"type": "keyword", "doc_values": false},
    "username":          {"type": "keyword", "doc_values": false},
    "follower_username": {"type": "keyword", "index": false, "doc_values": false},
    "followee_username": {"type": "keyword", "index": false, "doc_values": false},
    "email":      {"type": "keyword", "index": false, "doc_values": false},
    "first_name": {"type": "keyword", "index": false, "doc_values": false},
    "last_name":  {"type": "keyword", "index": false, "doc_values": false},
    "content":    {"type": "text", "index": false},
    "data":       {"type": "object", "enabled": false},
    "kafka":      {"type": "object", "enabled": false}
  }
})";

// One document per post (_id post:<id>) and per comment (_id comment:<id>): created by the
// creation event (`create`), overwritten by the deletion event (`index`, deleted: true).
// Indexed as q2, q3 and the runner read them (tests/telemetry/index_templates_test.cpp holds
// the queries and this mapping together): `kind`, `deleted`, the ids filtered on (terms only,
// no doc values; `post_id` keeps them: an ad-hoc `terms` on it, as test_exactness.py's
// "old approach" runs, still works), `post_id.num` aggregated on (doc values only),
// `created_at` both; `event_id` sorted on (doc values only: paging every entity document,
// as the fault tests' duplicate count does); `deleted_at` kept in `_source` only.
constexpr const char* entities_mappings = R"({
  "dynamic": "strict",
  "properties": {
    "kind":           {"type": "keyword", "doc_values": false},
    "post_id":        {"type": "keyword", "fields": {"num": {"type": "long", "index": false}}},
    "comment_id":     {"type": "keyword", "doc_values": false},
    "user_id":        {"type": "keyword", "doc_values": false},
    "post_author_id": {"type": "keyword", "doc_values": false},
    "created_at": {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
    "deleted_at": {"type": "date", "format": "strict_date_optional_time||epoch_millis",
                   "index": false, "doc_values": false},
    "deleted":    {"type": "boolean", "doc_values": false},
    "event_id":   {"type": "keyword", "index": false}
  }
})";

// One document per user and UTC day (`_id` <user_id>:<YYYY-MM-DD>), in monthly indices
// under the alias <logins>: b1..b48 (logged in on the day before each half-hour slot) and
// a0..a47 (logged in on the day before at or after each slot), set by partial updates
// (document.hpp, login_day_actions). Only filtered on (term): no doc values.
std::string logins_mappings() {
    json::object props;
    props["user_id"] = json::object{{"type", "keyword"},
                                    {"fields", {{"num", {{"type", "long"}}}}}};
    props["day"] = json::object{{"type", "date"}, {"format", "strict_date_optional_time"}};
    const json::object flag{{"type", "boolean"}, {"doc_values", false}};
    for (int k = 1; k <= login_slots; ++k) props["b" + std::to_string(k)] = flag;
    for (int k = 0; k < login_slots; ++k) props["a" + std::to_string(k)] = flag;
    return json::serialize(json::object{{"dynamic", "strict"}, {"properties", std::move(props)}});
}

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

std::string template_json(const std::string& pattern, int replicas, int refresh_ms,
                          const char* mappings, const char* meta, int priority = 510,
                          const std::string& alias = {}) {
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
    if (!alias.empty()) tmpl["aliases"] = json::object{{alias, json::object{}}};
    json::object body;
    body["index_patterns"] = json::array{json::value(pattern)};
    // Above the built-in templates (priority 100-200 in Elasticsearch 8) so ours wins; the
    // exact names (dead letters, entities) above the events' <index>-* pattern (510 > 500:
    // overlapping patterns need different priorities).
    body["priority"] = priority;
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
    return template_json(index + "-*", replicas, refresh_ms, events_mappings,
                         "bSocial events, one per Kafka event, monthly indices <index>-YYYY.MM "
                         "under the alias <index>",
                         500, index);
}

std::string logins_template_json(const std::string& alias, int replicas, int refresh_ms) {
    const auto mappings = logins_mappings();
    // <alias>-YYYY.MM also matches the events' <index>-* (priority 500): 520 wins.
    return template_json(alias + "-*", replicas, refresh_ms, mappings.c_str(),
                         "bSocial login days, one per user and UTC day, monthly indices "
                         "<alias>-YYYY.MM under the alias <alias>",
                         520, alias);
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
                       int refresh_ms, std::int64_t now_ms) {
    const auto dead = config.dead_letter_index();
    const auto entities = config.entities_index();
    put_template(es, config.index, events_template_json(config.index, replicas, refresh_ms));
    put_template(es, dead, dead_letter_template_json(dead, replicas, refresh_ms));
    put_template(es, entities, entities_template_json(entities, replicas, refresh_ms));
    const auto logins = config.logins_index();
    put_template(es, logins, logins_template_json(logins, replicas, refresh_ms));
    // This month's events index exists from the start (and with it the alias), so queries
    // never hit a missing index; a concrete index named like the alias (made before issue
    // 29) is refused here by the search engine with a clear error (docs/telemetry.md).
    const auto month = event_index(config.index, "", now_ms);
    const auto logins_month = event_index(logins, "", now_ms);
    for (const auto& index : {month, dead, entities, logins_month}) {
        create_index(es, index);
        set_refresh(es, index, refresh_ms);
    }
    set_refresh(es, config.index, refresh_ms);  // every monthly index, through the alias
    set_refresh(es, logins, refresh_ms);
    spdlog::info(
        "module=telemetry event=templates_installed alias={} month_index={} dead_letter_index={} "
        "entities_index={} logins_index={} replicas={}",
        config.index, month, dead, entities, logins_month, replicas);
}

std::vector<std::string> expired_indices(const std::vector<std::string>& names,
                                         const std::string& base, int retention_days,
                                         std::int64_t now_ms) {
    std::vector<std::string> out;
    if (retention_days <= 0) return out;
    static const std::regex monthly("([0-9]{4})\\.([0-9]{2})");
    const auto cutoff = now_ms - std::int64_t{retention_days} * 86'400'000;
    for (const auto& name : names) {
        if (name.size() != base.size() + 8 || name.compare(0, base.size() + 1, base + "-") != 0)
            continue;
        std::smatch m;
        const std::string suffix = name.substr(base.size() + 1);
        if (!std::regex_match(suffix, m, monthly)) continue;
        int year = std::stoi(m[1]), month = std::stoi(m[2]);
        if (month < 1 || month > 12) continue;
        // The index holds the month; it expires when the first instant after it is older
        // than the retention.
        if (++month == 13) {
            month = 1;
            ++year;
        }
        char next[32];
        std::snprintf(next, sizeof next, "%04d-%02d-01T00:00:00.000Z", year, month);
        const auto end = parse_rfc3339_ms(next);
        if (end && *end <= cutoff) out.push_back(name);
    }
    return out;
}

std::vector<std::string> apply_retention(es_client& es, const elasticsearch_config& config,
                                         int retention_days, std::int64_t now_ms) {
    if (retention_days <= 0) return {};
    const auto r = es.request("GET", "/_cat/indices/" + config.index + "-*?format=json&h=index");
    if (r.status != 200)
        throw std::runtime_error("cannot list the events indices: HTTP " +
                                 std::to_string(r.status) + " " + r.body.substr(0, 300));
    std::vector<std::string> names;
    for (const auto& row : json::parse(r.body).as_array())
        names.emplace_back(row.at("index").as_string());
    // The events' months and the login days' months (<index>-logins-YYYY.MM, also listed).
    auto expired = expired_indices(names, config.index, retention_days, now_ms);
    for (auto& name : expired_indices(names, config.logins_index(), retention_days, now_ms))
        expired.push_back(std::move(name));
    for (const auto& index : expired) {
        const auto d = es.request("DELETE", "/" + index);
        if (d.status != 200 && d.status != 404)
            throw std::runtime_error("cannot delete " + index + ": HTTP " +
                                     std::to_string(d.status) + " " + d.body.substr(0, 300));
        spdlog::info("module=telemetry event=index_expired index={} retention_days={}", index,
                     retention_days);
    }
    return expired;
}

}  // namespace bsocial::telemetry
