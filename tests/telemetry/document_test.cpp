#include "bsocial/telemetry/document.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

using namespace bsocial::telemetry;
namespace json = boost::json;

namespace {
const index_names indices{"bsocial-events", "bsocial-events-deadletter"};
constexpr std::int64_t now = 1'795'860'930'123;  // 2026-11-28T10:15:30.123Z

source_message message(std::string payload) {
    return source_message{"bsocial.comments", 2, 41, "7", std::move(payload), true};
}

const std::string comment =
    R"({"id":"0b9d7c1e-8c2a-4f7e-9a51-3a0f5b6c7d8e","type":"comment.created","version":1,)"
    R"("occurred_at":"2026-11-28T09:00:00.000Z","data":{"comment_id":"12","post_id":"7",)"
    R"("post_author_id":"3","user_id":"4","username":"bob","email":"bob@example.com",)"
    R"("content":"hi","created_at":"2026-11-28T09:00:00.000Z","extra":"kept in data"}})";
}  // namespace

TEST(Document, EventBecomesAFlatDocumentKeyedByEventId) {
    const auto a = to_index_action(message(comment), indices, now);
    ASSERT_FALSE(a.dead_letter) << a.reason;
    EXPECT_EQ(a.index, "bsocial-events");
    EXPECT_EQ(a.id, "0b9d7c1e-8c2a-4f7e-9a51-3a0f5b6c7d8e");
    const auto doc = json::parse(a.source).as_object();
    EXPECT_EQ(doc.at("event_id").as_string(), a.id);
    EXPECT_EQ(doc.at("type"), "comment.created");
    EXPECT_EQ(doc.at("occurred_at"), "2026-11-28T09:00:00.000Z");
    EXPECT_EQ(doc.at("ingested_at"), "2026-11-28T10:15:30.123Z");
    EXPECT_EQ(doc.at("post_id"), "7");
    EXPECT_EQ(doc.at("post_author_id"), "3");
    EXPECT_EQ(doc.at("user_id"), "4");
    EXPECT_FALSE(doc.contains("created_at"));  // = occurred_at; stays in data only
    EXPECT_FALSE(doc.contains("extra"));       // unknown fields never reach the strict mapping
    EXPECT_EQ(doc.at("data").at("extra"), "kept in data");
    EXPECT_EQ(doc.at("kafka").at("topic"), "bsocial.comments");
    EXPECT_EQ(doc.at("kafka").at("partition"), 2);
    EXPECT_EQ(doc.at("kafka").at("offset"), 41);
}

TEST(Document, PoisonBecomesADeadLetterKeyedByItsKafkaPosition) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"garbage", "payload is not JSON"},
        {"\xff\xfe", "payload is not UTF-8"},
        {"[1]", "payload is not a JSON object"},
        {R"({"type":"post.created","version":1,"occurred_at":"x","data":{}})",
         "envelope lacks \"id\""},
        {R"({"id":"a","type":"post.exploded","version":1,"occurred_at":"x","data":{}})",
         "unknown event type \"post.exploded\""},
        {R"({"id":"a","type":"user.logged_out","version":2,"occurred_at":"x","data":{}})",
         "unsupported envelope version (expected 1)"},
        {R"({"id":"a","type":"user.logged_out","version":1,"occurred_at":"x","data":{"user_id":"1"}})",
         "data lacks \"username\""},
        {R"({"id":"a","type":"user.logged_out","version":1,"occurred_at":"x","data":{"user_id":"u1","username":"x","logged_out_at":"x"}})",
         "data \"user_id\" is not an id (digits)"},
    };
    for (const auto& [payload, reason] : cases) {
        const auto a = to_index_action(message(payload), indices, now);
        EXPECT_TRUE(a.dead_letter) << payload;
        EXPECT_EQ(a.index, "bsocial-events-deadletter");
        EXPECT_EQ(a.id, "bsocial.comments:2:41");
        EXPECT_EQ(a.reason.substr(0, reason.size()), reason) << payload;
        const auto doc = json::parse(a.source).as_object();  // valid JSON even for \xff
        EXPECT_EQ(doc.at("payload_bytes").to_number<std::size_t>(), payload.size());
    }
    source_message tombstone = message("");
    tombstone.has_payload = false;
    EXPECT_EQ(to_index_action(tombstone, indices, now).reason, "empty message (tombstone)");
}

TEST(Document, SanitizeUtf8ReplacesOnlyBadBytes) {
    EXPECT_EQ(sanitize_utf8("ok é"), "ok é");
    EXPECT_EQ(sanitize_utf8("a\xff"
                            "b"),
              "a\xEF\xBF\xBD"
              "b");
    EXPECT_EQ(sanitize_utf8("\xC3"), "\xEF\xBF\xBD");  // truncated sequence
}
