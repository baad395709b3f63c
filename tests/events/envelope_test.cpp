#include "bsocial/events/envelope.hpp"

#include <gtest/gtest.h>

#include "bsocial/events/event.hpp"

using namespace bsocial::events;

TEST(Envelope, ReadsBackWhatTheBuildersWrite) {
    const auto e = post_created(7, {3, "ada", "ada@example.com"}, "hello", 1'795'860'930'123);
    const auto r = parse_envelope(envelope_json(e));
    ASSERT_TRUE(r.value) << r.error;
    EXPECT_EQ(r.value->id, e.id);
    EXPECT_EQ(r.value->type, "post.created");
    EXPECT_EQ(r.value->occurred_at, "2026-11-28T10:15:30.123Z");
    EXPECT_EQ(r.value->data.at("post_id"), "7");
    EXPECT_EQ(r.type, "post.created");
    EXPECT_TRUE(r.error.empty());
}

TEST(Envelope, NamesTheFirstCheckThatFails) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"\xff", "payload is not UTF-8"},
        {"{", "payload is not JSON: "},
        {"[1]", "payload is not a JSON object"},
        {R"({"type":"t","version":1,"occurred_at":"x","data":{}})", "envelope lacks \"id\""},
        {R"({"id":7,"type":"t","version":1,"occurred_at":"x","data":{}})",
         "envelope \"id\" is not a string"},
        {R"({"id":"","type":"t","version":1,"occurred_at":"x","data":{}})",
         "envelope id is empty or too long"},
        {R"({"id":")" + std::string(129, 'a') +
             R"(","type":"t","version":1,"occurred_at":"x","data":{}})",
         "envelope id is empty or too long"},
        {R"({"id":"a","version":1,"occurred_at":"x","data":{}})", "envelope lacks \"type\""},
        {R"({"id":"a","type":"t","version":2,"occurred_at":"x","data":{}})",
         "unsupported envelope version (expected 1)"},
        {R"({"id":"a","type":"t","version":1,"data":{}})", "envelope lacks \"occurred_at\""},
        {R"({"id":"a","type":"t","version":1,"occurred_at":"x","data":[]})",
         "envelope data is not an object"},
    };
    for (const auto& [payload, error] : cases) {
        const auto r = parse_envelope(payload);
        EXPECT_FALSE(r.value) << payload;
        EXPECT_EQ(r.error.substr(0, error.size()), error) << payload;
    }
}

TEST(Envelope, KeepsTheTypeOfABrokenEnvelope) {
    const auto r = parse_envelope(R"({"type":"post.created","data":{}})");
    EXPECT_FALSE(r.value);
    EXPECT_EQ(r.type, "post.created");
    EXPECT_FALSE(parse_envelope(R"({"type":1})").type);
    EXPECT_FALSE(parse_envelope("[]").type);
}
