#include "bsocial/telemetry/query_template.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "bsocial/telemetry/config.hpp"
#include "bsocial/telemetry/analytics.hpp"
#include "bsocial/telemetry/query_runner.hpp"

using namespace bsocial::telemetry;
namespace json = boost::json;

namespace {
// The stored queries, found from this file's location (tests/telemetry/ -> queries/).
std::string queries_dir() {
    return std::filesystem::path(BSOCIAL_QUERIES_DIR)
        .string();
}
}  // namespace

TEST(QueryTemplate, EscapesValuesSoTheyCannotChangeTheQuery) {
    EXPECT_EQ(json_escape(R"(a"b\c)"), R"(a\"b\\c)");
    EXPECT_EQ(json_escape("\n\t\x01"), "\\n\\t\\u0001");
    const auto out = substitute(R"({"term":{"user":"{{u}}"}})", {{"u", R"(x"},"evil":{")"}});
    const auto v = json::parse(out);
    EXPECT_EQ(v.at("term").at("user"), R"(x"},"evil":{")");
    EXPECT_EQ(v.at("term").as_object().size(), 1u);
}

TEST(QueryTemplate, MissingParameterOrBrokenResultIsAnError) {
    EXPECT_THROW(substitute(R"({"a":"{{nope}}"})", {}), std::invalid_argument);
    EXPECT_THROW(substitute(R"({"a":"{{open"})", {{"open", "x"}}), std::invalid_argument);
    EXPECT_THROW(substitute(R"({"a":{{n}}})", {{"n", "not a number"}}), std::invalid_argument);
    EXPECT_EQ(substitute(R"({"a":"{{x}}-{{x}}"})", {{"x", "1"}}), R"({"a":"1-1"})");
}

TEST(QueryTemplate, ParametersAreDateMathInTheChosenZone) {
    query_config c;
    c.name = "q1";
    c.days = 10;
    auto p = query_parameters(c, "");
    EXPECT_EQ(p.at("from"), "now-9d/d");
    EXPECT_EQ(p.at("to"), "now/d");
    EXPECT_EQ(p.at("tz"), "UTC");
    EXPECT_FALSE(p.contains("user_id"));
    c.from = "2026-03-28";
    c.to = "2026-03-30";
    c.tz = "Europe/Paris";
    p = query_parameters(c, "42");
    EXPECT_EQ(p.at("from"), "2026-03-28||/d");
    EXPECT_EQ(p.at("to"), "2026-03-30||/d");
    EXPECT_EQ(p.at("tz"), "Europe/Paris");
    EXPECT_EQ(p.at("user_id"), "42");
}

TEST(QueryTemplate, EveryStoredQueryFillsToValidJsonWithHostileValues) {
    const query_params hostile = {{"from", "\"}"},
                                  {"to", "\\"},
                                  {"tz", "\n"},
                                  {"user_id", "1\"}]}"},
                                  {"username", "'\"{{x}}"},
                                  {"to_next", "\"+1d"},
                                  {"first_utc_day", "\""},
                                  {"last_utc_day", "}"},
                                  {"start_slot", "\"]"},
                                  {"end_slot", "\\"}};
    for (const auto* q : {"q1", "q2", "q3"}) {
        const auto text = load_query_file(queries_dir(), query_file(q));
        EXPECT_NO_THROW(json::parse(substitute(text, hostile))) << q;
    }
    for (const auto* f : {"q1_days.json", "q1_logged_in_users_per_day_from_events.json",
                          "q2_days.json"})
        EXPECT_NO_THROW(json::parse(substitute(load_query_file(queries_dir(), f), hostile))) << f;
    EXPECT_NO_THROW(json::parse(
        substitute(load_query_file(queries_dir(), "user_id_by_username.json"), hostile)));
}

TEST(QueryTemplate, ConfigValidation) {
    query_config c;
    c.name = "q3";
    EXPECT_THROW(c.validate(), std::invalid_argument);  // q3 needs a user
    c.user = "ada";
    EXPECT_NO_THROW(c.validate());
    c.from = "2026-01-01";
    EXPECT_THROW(c.validate(), std::invalid_argument);  // --from without --to
    c.to = "2025-12-31";
    EXPECT_THROW(c.validate(), std::invalid_argument);  // from after to
    c.to = "2026-01-02";
    c.tz = "Europe/Paris\"";
    EXPECT_THROW(c.validate(), std::invalid_argument);
}

// analytics_rows + render_table: the rows of `bsocial query --json` and of the API.
namespace {
std::string table(std::string_view name, std::string_view response, const post_lookup& lookup = {},
                  const std::string& user_id = {}) {
    query_config c;
    c.tz = "Europe/Paris";
    return render_table(name, analytics_rows(name, response, c, lookup, user_id));
}

/// Knows post 9 only; records what it was asked.
struct fake_lookup {
    std::vector<std::string> asked;
    post_lookup fn() {
        return [this](const std::vector<std::string>& ids) {
            asked.insert(asked.end(), ids.begin(), ids.end());
            return std::map<std::string, post_details>{{"9", {"ada", "Hello…", 5}}};
        };
    }
};
}  // namespace

TEST(AnalyticsRows, OneObjectPerDayAndRankedPostsWithSqlDetails) {
    query_config c;
    c.tz = "Europe/Paris";
    const auto q1 = analytics_rows("q1", R"({"aggregations":{"per_day":{"buckets":[
        {"key_as_string":"2026-03-28","doc_count":2,"users":{"value":1}}]}}})", c, {});
    EXPECT_EQ(json::value(q1), json::parse(R"({"tz":"Europe/Paris","days":[
        {"day":"2026-03-28","logged_in_users":1}]})"));
    fake_lookup sql;
    const auto q2 = analytics_rows("q2", R"({"aggregations":{"per_day":{"buckets":[
        {"key_as_string":"2026-03-28","top_posts":{"buckets":[{"key":"9","doc_count":3},
                                                              {"key":"7","doc_count":1}]}},
        {"key_as_string":"2026-03-29","top_posts":{"buckets":[]}}]}}})", c, sql.fn());
    EXPECT_EQ(json::value(q2), json::parse(R"({"tz":"Europe/Paris","days":[
        {"day":"2026-03-28","posts":[
          {"rank":1,"post_id":"9","comments":3,"author":"ada","excerpt":"Hello…","comment_count":5},
          {"rank":2,"post_id":"7","comments":1,"author":null,"excerpt":null,"comment_count":null}]},
        {"day":"2026-03-29","posts":[]}]})"));
    EXPECT_EQ(sql.asked, (std::vector<std::string>{"9", "7"}));
}

TEST(AnalyticsRows, BestAndWorstPostOrNull) {
    query_config c;
    c.user = "Ada";
    fake_lookup sql;
    const auto q3 = analytics_rows("q3", R"({"aggregations":{
        "top_post":{"buckets":[{"key":"9","comments":{"doc_count":3},
                    "post":{"doc_count":1,
                            "created":{"value":1,"value_as_string":"2026-03-28T00:00:00.000Z"}}}]},
        "worst_post":{"buckets":[]}}})", c, sql.fn(), "42");
    EXPECT_EQ(json::value(q3), json::parse(R"({"user_id":"42","username":"ada",
        "best":{"post_id":"9","comments":3,"created_at":"2026-03-28T00:00:00.000Z",
                "author":"ada","excerpt":"Hello…","comment_count":5},
        "worst":null})"));
}

TEST(QueryReport, RendersTheThreeTables) {
    EXPECT_EQ(table("q1", R"({"aggregations":{"per_day":{"buckets":[
        {"key_as_string":"2026-03-28","doc_count":2,"users":{"value":1}}]}}})"),
              "day          logged-in users\n2026-03-28   1\n");
    fake_lookup sql;
    EXPECT_EQ(table("q2", R"({"aggregations":{"per_day":{"buckets":[
        {"key_as_string":"2026-03-28","top_posts":{"buckets":[{"key":"9","doc_count":3}]}},
        {"key_as_string":"2026-03-29","top_posts":{"buckets":[]}}]}}})", sql.fn()),
              "day          rank  post_id     comments  author\n"
              "2026-03-28   1     9           3         ada\n"
              "2026-03-29   -     (no comments)\n");
    EXPECT_EQ(table("q3", R"({"aggregations":{
        "top_post":{"buckets":[{"key":"9","comments":{"doc_count":3},
                    "post":{"doc_count":1,
                            "created":{"value":1,"value_as_string":"2026-03-28T00:00:00.000Z"}}}]},
        "worst_post":{"buckets":[]}}})", {}, "42"),
              "user_id 42\n"
              "which  post_id     comments  created_at\n"
              "best   9           3         2026-03-28T00:00:00.000Z\n");
    // A bucket without the post's creation (only its comments are indexed) is no answer.
    const auto orphan =
        R"({"key":"7","comments":{"doc_count":2},"post":{"doc_count":0,"created":{"value":null}}})";
    EXPECT_EQ(table("q3", std::string(R"({"aggregations":{"top_post":{"buckets":[)") + orphan +
                              R"(]},"worst_post":{"buckets":[)" + orphan + "]}}}",
                    {}, "42"),
              "user_id 42\nwhich  post_id     comments  created_at\n(this user has no posts)\n");
    EXPECT_THROW(table("q1", R"({"hits":{}})"), std::runtime_error);
}

TEST(QueryConfig, TimeZonesAreOffsetsOrKnownIanaNames) {
    EXPECT_TRUE(is_time_zone("UTC"));
    EXPECT_TRUE(is_time_zone("Europe/Paris"));
    EXPECT_TRUE(is_time_zone("America/Argentina/Buenos_Aires"));
    EXPECT_TRUE(is_time_zone("+02:00"));
    EXPECT_FALSE(is_time_zone(""));
    EXPECT_FALSE(is_time_zone("Europe/../../etc/passwd"));
    EXPECT_FALSE(is_time_zone("posix/Europe/Paris"));
    EXPECT_FALSE(is_time_zone("+2"));
    if (std::filesystem::is_directory("/usr/share/zoneinfo")) {
        EXPECT_FALSE(is_time_zone("Mars/Olympus_Mons"));
        EXPECT_FALSE(is_time_zone("Europe"));  // a directory, not a zone
    }
}

// q3's ranking over composite pages (issue 29): best = most comments, then older, then lower
// id; worst = fewest, then newer, then higher id; a bucket without a live post never wins.
TEST(Q3Ranking, RanksEveryBucketOfEveryPage) {
    const auto bucket = [](std::int64_t id, std::int64_t comments, double created, int posts = 1) {
        return json::parse(R"({"key":{"post":)" + std::to_string(id) + R"(},"post":{"doc_count":)" +
                           std::to_string(posts) + R"(,"created":{"value":)" +
                           std::to_string(created) + R"(,"value_as_string":"t"}},"comments":{"doc_count":)" +
                           std::to_string(comments) + "}}")
            .as_object();
    };
    q3_ranking r;
    r.add(bucket(10, 3, 100));
    r.add(bucket(11, 3, 50));      // same count, older: best
    r.add(bucket(12, 0, 70));
    r.add(bucket(13, 0, 90));      // same count, newer: worst
    r.add(bucket(14, 9, 10, 0));   // comments of a deleted post: never an answer
    const auto out = r.response();
    EXPECT_EQ(out.at("aggregations").at("top_post").at("buckets").at(0).at("key"), "11");
    EXPECT_EQ(out.at("aggregations").at("worst_post").at("buckets").at(0).at("key"), "13");
    EXPECT_TRUE(q3_ranking{}.response().at("aggregations").at("top_post").at("buckets").as_array().empty());
}

TEST(Q1Merge, CountsTheUsersOfEachDayZeroIncluded) {
    const auto merged = q1_merge(json::parse(R"({"aggregations":{"per_day":{"buckets":[
        {"key_as_string":"2026-01-15","doc_count":9},{"key_as_string":"2026-01-16","doc_count":0}]}}})"),
                                 {{"2026-01-15", 60000}});
    query_config c;
    EXPECT_EQ(json::value(analytics_rows("q1", json::serialize(merged), c, {})),
              json::parse(R"({"tz":"UTC","days":[{"day":"2026-01-15","logged_in_users":60000},
                               {"day":"2026-01-16","logged_in_users":0}]})"));
}

TEST(Q1Split, ADayOfAnyZoneIsOneUtcDayOfLoginDocumentsAndTwoSlots) {
    constexpr std::int64_t h = 3'600'000;
    const std::int64_t d = 1'796'083'200'000;      // 2026-12-01T00:00Z
    const std::int64_t oct25 = 1'792'886'400'000;  // 2026-10-25T00:00Z
    struct day_case {
        const char* zone;
        std::int64_t start, end;
        const char* utc_day;
        int start_slot, end_slot;
    };
    const day_case cases[] = {
        // the whole of Dec 1 (b48), nothing of Nov 30 (slot 48)
        {"UTC", d, d + 24 * h, "2026-12-01", 48, 48},
        // +01:00: Dec 1 = [Nov 30 23:00Z, Dec 1 23:00Z)
        {"Paris in winter", d - h, d + 23 * h, "2026-12-01", 46, 46},
        // -05:00: Dec 1 = [Dec 1 05:00Z, Dec 2 05:00Z): the documents of Dec 2
        {"New York", d + 5 * h, d + 29 * h, "2026-12-02", 10, 10},
        {"India (+05:30)", d - 5 * h - h / 2, d + 18 * h + h / 2, "2026-12-01", 37, 37},
        // summer time ends: [Oct 24 22:00Z, Oct 25 23:00Z)
        {"Paris' 25-hour day", oct25 - 2 * h, oct25 + 23 * h, "2026-10-25", 44, 46},
        // [Oct 24 23:00Z, Oct 26 00:00Z): ends at midnight, whole Oct 25
        {"London's 25-hour day", oct25 - h, oct25 + 24 * h, "2026-10-25", 46, 48},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.zone);
        const auto s = split_local_day(c.start, c.end);
        ASSERT_TRUE(s);
        EXPECT_EQ(s->utc_day, c.utc_day);
        EXPECT_EQ(s->start_slot, c.start_slot);
        EXPECT_EQ(s->end_slot, c.end_slot);
    }
    // Nepal (+05:45): not on a half hour -> the events
    EXPECT_FALSE(split_local_day(d - 5 * h - 3 * h / 4, d + 18 * h + h / 4));
    // a day that starts after 00:00Z and ends at the next midnight (Azores in spring)
    EXPECT_FALSE(split_local_day(d + h, d + 24 * h));
    EXPECT_FALSE(split_local_day(d, d));
}

// q2's closed days (serve's cache): only a settled day is kept, for ttl; a deletion empties
// it and keeps nothing new for a while (the engine hears of it a moment after the bus).
TEST(DayCache, KeepsSettledDaysForTheirTtlAndForgetsOnDeletion) {
    day_cache cache({.ttl_ms = 1000, .settle_ms = 100, .hold_ms = 500, .max_entries = 3});
    const json::value a = json::parse(R"({"key_as_string":"2026-03-28"})");
    cache.put("today", a, /*day_end_ms=*/10'000, /*now_ms=*/9'000);  // not over yet
    cache.put("just over", a, 10'000, 10'050);                      // within settle_ms
    EXPECT_FALSE(cache.get("today", 9'001));
    EXPECT_FALSE(cache.get("just over", 10'051));
    cache.put("day", a, 10'000, 10'100);
    ASSERT_TRUE(cache.get("day", 10'500));
    EXPECT_EQ(*cache.get("day", 11'099), a);
    EXPECT_FALSE(cache.get("day", 11'100));  // expired
    EXPECT_EQ(cache.size(), 0u);

    cache.put("day", a, 10'000, 20'000);
    cache.invalidate(20'100);  // post.deleted / comment.deleted
    EXPECT_FALSE(cache.get("day", 20'101));
    cache.put("day", a, 10'000, 20'599);  // within the hold: the engine may not know yet
    EXPECT_FALSE(cache.get("day", 20'600));
    cache.put("day", a, 10'000, 20'600);
    EXPECT_TRUE(cache.get("day", 20'601));

    day_cache off({.ttl_ms = 0});
    off.put("day", a, 10'000, 20'000);
    EXPECT_FALSE(off.get("day", 20'001));
}
