#include "bsocial/telemetry/bulk.hpp"
#include "bsocial/telemetry/index_templates.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

using namespace bsocial::telemetry;
namespace json = boost::json;

TEST(Bulk, BodyIsNdjsonWithCreateActionsAndTrailingNewline) {
    const index_action a{"bsocial-events", "id-1", R"({"x":1})", false, {}};
    const index_action b{"bsocial-events-deadletter", "t:0:5", R"({"y":"a\nb"})", true, "r"};
    const auto body = bulk_body({&a, &b});
    EXPECT_EQ(body,
              "{\"create\":{\"_index\":\"bsocial-events\",\"_id\":\"id-1\"}}\n{\"x\":1}\n"
              "{\"create\":{\"_index\":\"bsocial-events-deadletter\",\"_id\":\"t:0:5\"}}\n"
              "{\"y\":\"a\\nb\"}\n");
    EXPECT_EQ(body.find("_type"), std::string::npos);
    EXPECT_EQ(body.back(), '\n');
}

TEST(Bulk, IdsAreJsonEscapedInTheActionLine) {
    const index_action a{"i", "a\"b", "{}", false, {}};
    const auto line = bulk_body({&a});
    const auto action = json::parse(line.substr(0, line.find('\n')));
    EXPECT_EQ(action.at("create").at("_id"), "a\"b");
}

TEST(Bulk, StatusClassification) {
    EXPECT_EQ(classify_status(201), item_outcome::indexed);
    EXPECT_EQ(classify_status(200), item_outcome::indexed);
    EXPECT_EQ(classify_status(409), item_outcome::duplicate);
    EXPECT_EQ(classify_status(429), item_outcome::retry);
    EXPECT_EQ(classify_status(503), item_outcome::retry);
    EXPECT_EQ(classify_status(400), item_outcome::rejected);
    EXPECT_EQ(classify_status(404), item_outcome::rejected);
}

TEST(Bulk, ParsesEachItemStatusAndError) {
    const auto r = parse_bulk_response(R"({"took":3,"errors":true,"items":[
        {"create":{"_index":"i","_id":"1","status":201}},
        {"create":{"_index":"i","_id":"2","status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists"}}},
        {"create":{"_index":"i","_id":"3","status":400,"error":{"type":"mapper_parsing_exception","reason":"bad date"}}},
        {"create":{"_index":"i","_id":"4","status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}}
    ]})",
                                       4);
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(r[0].outcome, item_outcome::indexed);
    EXPECT_EQ(r[1].outcome, item_outcome::duplicate);
    EXPECT_EQ(r[2].outcome, item_outcome::rejected);
    EXPECT_EQ(r[2].error, "mapper_parsing_exception: bad date");
    EXPECT_EQ(r[3].outcome, item_outcome::retry);
    EXPECT_EQ(r[3].status, 429);
}

TEST(Bulk, RefusesAResponseThatDoesNotMatchTheRequest) {
    EXPECT_THROW(parse_bulk_response("not json", 1), std::runtime_error);
    EXPECT_THROW(parse_bulk_response(R"({"errors":false})", 1), std::runtime_error);
    EXPECT_THROW(parse_bulk_response(R"({"errors":false,"items":[]})", 1), std::runtime_error);
    EXPECT_THROW(parse_bulk_response(R"({"errors":false,"items":[{"create":{}}]})", 1),
                 std::runtime_error);
    // "errors": false must agree with the statuses
    EXPECT_THROW(parse_bulk_response(R"({"errors":false,"items":[{"create":{"status":500}}]})", 1),
                 std::runtime_error);
    EXPECT_NO_THROW(
        parse_bulk_response(R"({"errors":false,"items":[{"index":{"status":200}}]})", 1));
}

TEST(Retention, ExpiresWholeMonthsOlderThanTheRetention) {
    // now = 2026-11-28T10:15:30Z; 60 days back = 2026-09-29T10:15:30Z
    const std::int64_t now = 1'795'860'930'123;
    const std::vector<std::string> names = {"ev-2026.07", "ev-2026.08", "ev-2026.09",
                                            "ev-2026.11", "ev-deadletter", "ev-entities",
                                            "ev-2026.13", "other-2020.01", "ev-x-2020.01"};
    EXPECT_EQ(expired_indices(names, "ev", 60, now),
              (std::vector<std::string>{"ev-2026.07", "ev-2026.08"}));
    EXPECT_TRUE(expired_indices(names, "ev", 0, now).empty());  // 0: keep every month
    // the login days' months, listed with the events' (<ev>-logins-YYYY.MM)
    const std::vector<std::string> logins = {"ev-logins-2026.08", "ev-logins-2026.11", "ev-2026.08"};
    EXPECT_EQ(expired_indices(logins, "ev-logins", 60, now),
              (std::vector<std::string>{"ev-logins-2026.08"}));
    EXPECT_EQ(expired_indices(logins, "ev", 60, now), (std::vector<std::string>{"ev-2026.08"}));
}

TEST(Bulk, AnUpdateRetriesItsConflictsAndA409ToItIsSentAgain) {
    index_action u{"l-2026.11", "42:2026-11-30", R"({"doc":{"b48":true},"doc_as_upsert":true})"};
    u.op = "update";
    const auto body = bulk_body({&u});
    EXPECT_EQ(body,
              "{\"update\":{\"_index\":\"l-2026.11\",\"_id\":\"42:2026-11-30\",\"retry_on_conflict\":5}}\n"
              "{\"doc\":{\"b48\":true},\"doc_as_upsert\":true}\n");
    const auto r = parse_bulk_response(
        R"({"errors":true,"items":[{"update":{"status":409,"error":{"type":"version_conflict_engine_exception"}}},)"
        R"({"create":{"status":409}},{"update":{"status":200,"result":"noop"}}]})",
        3);
    EXPECT_EQ(r[0].outcome, item_outcome::retry);      // not applied: again
    EXPECT_EQ(r[1].outcome, item_outcome::duplicate);  // a create's 409: already there
    EXPECT_EQ(r[2].outcome, item_outcome::indexed);    // a redelivered login: nothing changed
}
