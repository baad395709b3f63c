// The index templates index only what is searched, sorted or aggregated on (issue 29: the
// engine's CPU per document bounds the indexer; docs/telemetry.md "Index layout"). These
// tests hold the two sides together: every field the stored queries (queries/*.json) and the
// runner filter on is indexed and every field they aggregate on has doc values, in the index
// each query reads; and what nothing reads is not indexed.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "bsocial/telemetry/index_templates.hpp"

namespace json = boost::json;
using namespace bsocial::telemetry;

namespace {

json::object mappings_of(const std::string& template_body) {
    return json::parse(template_body).at("template").at("mappings").as_object();
}

/// The mapping entry of a dotted field ("post_id.num": a multi-field; "kafka.topic": an
/// object's property), or nullptr when the mapping does not have it.
const json::object* field(const json::object& mappings, const std::string& path) {
    const json::object* props = &mappings.at("properties").as_object();
    const json::object* entry = nullptr;
    std::istringstream in(path);
    std::string part;
    while (std::getline(in, part, '.')) {
        if (entry) {
            if (const auto* f = entry->if_contains("fields"))
                props = &f->as_object();
            else if (const auto* p = entry->if_contains("properties"))
                props = &p->as_object();
            else
                return nullptr;
        }
        const auto* v = props->if_contains(part);
        if (!v) return nullptr;
        entry = &v->as_object();
    }
    return entry;
}

bool flag(const json::object& entry, const char* key) {  // index / doc_values: default true
    const auto* v = entry.if_contains(key);
    return !v || v->as_bool();
}

/// Fields a query filters on (term, terms, range, exists) and aggregates/sorts on ("field").
void collect(const json::value& v, std::set<std::string>& filtered,
             std::set<std::string>& aggregated) {
    if (v.is_array()) {
        for (const auto& x : v.as_array()) collect(x, filtered, aggregated);
        return;
    }
    if (!v.is_object()) return;
    for (const auto& [key, value] : v.as_object()) {
        if ((key == "term" || key == "terms" || key == "range") && value.is_object()) {
            for (const auto& [name, _] : value.as_object()) {
                if (name == "field" || name == "size" || name == "order") continue;
                // a templated name (q1's a{{start_slot}}, b{{end_slot}}): slot 1 stands for all
                std::string f(name);
                if (const auto open = f.find("{{"); open != std::string::npos)
                    f = f.substr(0, open) + "1";
                filtered.insert(f);
            }
        }
        if (key == "field" && value.is_string()) aggregated.insert(std::string(value.as_string()));
        collect(value, filtered, aggregated);
    }
}

json::value read_query(const std::string& file) {
    std::ifstream in(std::filesystem::path(BSOCIAL_QUERIES_DIR) / file);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    // placeholders stand in string values ("{{from}}"): still JSON
    return json::parse(text);
}

}  // namespace

TEST(IndexTemplates, EveryFieldTheQueriesReadIsIndexedOrHasDocValuesWhereTheyReadIt) {
    const auto events = mappings_of(events_template_json("bsocial-events", 0));
    const auto entities = mappings_of(entities_template_json("bsocial-events-entities", 0));
    const auto logins = mappings_of(logins_template_json("bsocial-events-logins", 0));
    // queries/README.md: which index each stored query reads.
    const std::map<std::string, const json::object*> reads = {
        {"q1_logged_in_users_per_day.json", &logins},
        {"q1_days.json", &logins},
        {"q1_logged_in_users_per_day_from_events.json", &events},
        {"user_id_by_username.json", &events},
        {"q2_top_commented_posts_per_day.json", &entities},
        {"q2_days.json", &entities},
        {"q3_user_top_and_worst_post.json", &entities},
    };
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(BSOCIAL_QUERIES_DIR)) {
        if (entry.path().extension() != ".json") continue;
        ++files;
        const auto name = entry.path().filename().string();
        const auto it = reads.find(name);
        ASSERT_NE(it, reads.end()) << name << ": a new query; say here which index it reads";
        std::set<std::string> filtered, aggregated;
        collect(read_query(name), filtered, aggregated);
        EXPECT_FALSE(filtered.empty() && aggregated.empty()) << name;
        for (const auto& f : filtered) {
            const auto* m = field(*it->second, f);
            ASSERT_NE(m, nullptr) << name << " filters on " << f << ", not in the mapping";
            EXPECT_TRUE(flag(*m, "index")) << name << " filters on " << f << ", not indexed";
        }
        for (const auto& f : aggregated) {
            const auto* m = field(*it->second, f);
            ASSERT_NE(m, nullptr) << name << " aggregates on " << f << ", not in the mapping";
            EXPECT_TRUE(flag(*m, "doc_values")) << name << " aggregates on " << f
                                                << ", no doc values";
        }
    }
    EXPECT_EQ(files, reads.size());
    // What the runner adds (analytics.cpp): q2's must_not terms on the entities' post_id; the
    // events' composite over occurred_at and user_id.num, filtered on type; the tests' and
    // the benchmark's searches (event_id sorted on, ids and username looked up).
    EXPECT_TRUE(flag(*field(entities, "post_id"), "index"));
    for (const auto* f : {"occurred_at", "user_id.num", "event_id"})
        EXPECT_TRUE(flag(*field(events, f), "doc_values")) << f;
    for (const auto* f : {"type", "occurred_at", "user_id", "username", "post_id", "comment_id",
                          "post_author_id", "follower_id", "followee_id"})
        EXPECT_TRUE(flag(*field(events, f), "index")) << f;
}

TEST(IndexTemplates, WhatNothingReadsIsNotIndexed) {
    // The Kafka origin of an event is kept in _source only, as one disabled object: the
    // engine skips it without a mapper per field (issue 29, docs/telemetry.md).
    const auto events = mappings_of(events_template_json("bsocial-events", 0));
    const auto* kafka = field(events, "kafka");
    ASSERT_NE(kafka, nullptr);
    EXPECT_EQ(kafka->at("enabled"), false);
    EXPECT_FALSE(kafka->contains("properties"));
    EXPECT_EQ(field(events, "data")->at("enabled"), false);
    // The entities: filtered-only keywords without doc values, no numeric sub-fields but
    // post_id.num (q2's terms, q3's composite), event_id sorted on only (the fault tests page
    // every entity by it), deleted_at stored only.
    const auto entities = mappings_of(entities_template_json("bsocial-events-entities", 0));
    for (const auto* f : {"kind", "comment_id", "user_id", "post_author_id", "deleted"})
        EXPECT_FALSE(flag(*field(entities, f), "doc_values")) << f;
    for (const auto* f : {"comment_id.num", "user_id.num", "post_author_id.num"})
        EXPECT_EQ(field(entities, f), nullptr) << f;
    EXPECT_FALSE(flag(*field(entities, "post_id.num"), "index"));
    for (const auto* f : {"event_id", "deleted_at"}) EXPECT_FALSE(flag(*field(entities, f), "index")) << f;
    EXPECT_TRUE(flag(*field(entities, "event_id"), "doc_values"));
    EXPECT_FALSE(flag(*field(entities, "deleted_at"), "doc_values"));
}
