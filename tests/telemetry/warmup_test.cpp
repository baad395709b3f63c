// The engine warm-up's request bodies (telemetry/warmup.hpp) and the start-up settings'
// validation (telemetry/config.hpp: instance id, warm-up size).
#include "bsocial/telemetry/warmup.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace bsocial::telemetry;
namespace json = boost::json;

TEST(Warmup, ScratchIndexIsASiblingOfTheAliasNotUnderItsPattern) {
    elasticsearch_config es;
    es.index = "bsocial-events";
    EXPECT_EQ(warmup_index(es), "bsocial-events_warmup");
    // The events template's pattern is <index>-*: the scratch index must not match it.
    EXPECT_NE(warmup_index(es).rfind(es.index + "-", 0), 0u);
}

TEST(Warmup, BulkBodyIndexesOnlyFieldsTheStrictMappingHas) {
    const auto mapping = json::parse(warmup_index_json());
    EXPECT_EQ(mapping.at("mappings").at("dynamic"), "strict");
    EXPECT_EQ(mapping.at("settings").at("number_of_replicas"), 0);
    const auto& props = mapping.at("mappings").at("properties").as_object();
    const auto body = warmup_bulk_body("x_warmup", 10, 250);
    ASSERT_FALSE(body.empty());
    EXPECT_EQ(body.back(), '\n');
    std::istringstream in(body);
    std::string line;
    int lines = 0;
    while (std::getline(in, line)) {
        const auto v = json::parse(line);  // throws on bad JSON: the test fails
        if (lines++ % 2 == 0) {
            EXPECT_EQ(v.at("index").at("_index"), "x_warmup") << line;
            continue;
        }
        for (const auto& [key, value] : v.as_object())
            EXPECT_TRUE(props.contains(key)) << "field " << key << " not in the mapping";
        EXPECT_TRUE(v.as_object().contains("occurred_at")) << line;
    }
    EXPECT_EQ(lines, 500);
}

namespace {
telemetry_config valid() {
    telemetry_config c;
    c.kafka.brokers = "127.0.0.1:9092";
    return c;
}
}  // namespace

TEST(Warmup, InstanceIdIsValidated) {
    auto c = valid();
    EXPECT_NO_THROW(c.validate());  // empty: dynamic membership
    c.instance_id = "telemetry-host_1.a";
    EXPECT_NO_THROW(c.validate());
    const std::vector<std::string> bad_ids{"two words", "a/b", "\xc3\xa9", std::string(250, 'x')};
    for (const auto& bad : bad_ids) {
        c.instance_id = bad;
        try {
            c.validate();
            ADD_FAILURE() << "accepted instance id " << bad;
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("BSOCIAL_TELEMETRY_INSTANCE_ID"),
                      std::string::npos);
        }
    }
}

TEST(Warmup, DocumentsCountIsValidated) {
    auto c = valid();
    c.warmup_documents = 0;
    EXPECT_NO_THROW(c.validate());
    for (int bad : {-1, 100001}) {
        c.warmup_documents = bad;
        EXPECT_THROW(c.validate(), std::invalid_argument) << bad;
    }
}
