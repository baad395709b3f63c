// serve's cache of q2's closed days (src/bsocial/analytics/closed_days.hpp): a deletion drops
// only the days that rank its post; an answer that may predate a deletion is not kept.
#include "bsocial/analytics/closed_days.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace {

using bsocial::analytics::closed_days;
namespace json = boost::json;

/// A day's bucket as the search engine answers it (numeric keys: terms on post_id.num).
json::value day(const char* label, std::initializer_list<std::int64_t> posts) {
    json::array buckets;
    for (auto p : posts) buckets.push_back(json::object{{"key", p}, {"doc_count", 3}});
    return json::object{{"key_as_string", label}, {"top_posts", {{"buckets", buckets}}}};
}

constexpr std::int64_t t0 = 1'800'000'000'000;
const std::string utc = closed_days::prefix("bsocial-events-entities", "UTC");

TEST(ClosedDays, ADeletionDropsOnlyTheDaysThatRankItsPost) {
    closed_days c({.ttl_ms = 300'000, .hold_ms = 30'000});
    ASSERT_TRUE(c.keep(utc + "2026-12-01", day("2026-12-01", {5, 7}), t0));
    ASSERT_TRUE(c.keep(utc + "2026-12-02", day("2026-12-02", {7, 9}), t0));
    ASSERT_TRUE(c.keep(utc + "2026-12-03", day("2026-12-03", {9, 5}), t0));
    ASSERT_TRUE(c.keep(utc + "2026-12-04", day("2026-12-04", {}), t0));  // no comment that day
    // post 5 (or one of its comments) deleted: 12-01 and 12-03 rank it; 12-02, 12-04 cannot change
    EXPECT_EQ(c.forget_post("5", t0 + 1000), 2u);
    EXPECT_FALSE(c.holds(utc + "2026-12-01", t0 + 1000));
    EXPECT_TRUE(c.holds(utc + "2026-12-02", t0 + 1000));
    EXPECT_FALSE(c.holds(utc + "2026-12-03", t0 + 1000));
    EXPECT_TRUE(c.holds(utc + "2026-12-04", t0 + 1000));
    EXPECT_EQ(c.forget_post("42", t0 + 1000), 0u);  // ranked nowhere: nothing goes
    EXPECT_EQ(c.size(), 2u);
}

TEST(ClosedDays, AnAnswerRankingARecentlyDeletedPostIsNotKeptDuringTheHold) {
    closed_days c({.ttl_ms = 300'000, .hold_ms = 30'000});
    c.forget_post("5", t0);
    // the search engine may not know yet: an answer that ranks 5 may be from before
    EXPECT_FALSE(c.keep(utc + "2026-12-01", day("2026-12-01", {5, 7}), t0 + 29'000));
    EXPECT_TRUE(c.keep(utc + "2026-12-02", day("2026-12-02", {7, 9}), t0 + 29'000));
    EXPECT_TRUE(c.keep(utc + "2026-12-01", day("2026-12-01", {5, 7}), t0 + 30'001));
}

TEST(ClosedDays, AReconnectDropsEverythingAndKeepsNothingDuringTheHold) {
    closed_days c({.ttl_ms = 300'000, .hold_ms = 30'000});
    ASSERT_TRUE(c.keep(utc + "2026-12-02", day("2026-12-02", {7}), t0));
    c.forget_all(t0 + 1);
    EXPECT_EQ(c.size(), 0u);
    EXPECT_FALSE(c.keep(utc + "2026-12-02", day("2026-12-02", {7}), t0 + 10'000));
    EXPECT_TRUE(c.keep(utc + "2026-12-02", day("2026-12-02", {7}), t0 + 30'002));
}

TEST(ClosedDays, LendsOnlyThisZonesDaysThatLastTheMargin) {
    closed_days c({.ttl_ms = 300'000, .hold_ms = 30'000});
    const auto paris = closed_days::prefix("bsocial-events-entities", "Europe/Paris");
    ASSERT_TRUE(c.keep(utc + "2026-12-01", day("2026-12-01", {5}), t0));
    ASSERT_TRUE(c.keep(utc + "2026-12-02", day("2026-12-02", {6}), t0 + 200'000));
    ASSERT_TRUE(c.keep(paris + "2026-12-01", day("2026-12-01", {7}), t0));
    bsocial::telemetry::day_cache run({.ttl_ms = 86'400'000, .settle_ms = 60'000, .hold_ms = 0});
    const auto lent = c.lend(run, utc, t0 + 250'000, 100'000);  // 12-01 ends at t0+300 s
    EXPECT_EQ(lent, (std::set<std::string>{utc + "2026-12-02"}));
    EXPECT_TRUE(run.get(utc + "2026-12-02", t0 + 250'000));
    EXPECT_FALSE(run.get(paris + "2026-12-01", t0 + 250'000));
    EXPECT_EQ(closed_days::ranked(day("x", {5, 6})), (std::vector<std::string>{"5", "6"}));
    // expired: neither lent nor held
    EXPECT_FALSE(c.holds(utc + "2026-12-01", t0 + 300'000));
}

TEST(ClosedDays, OffKeepsNothing) {
    closed_days c({.ttl_ms = 0});
    EXPECT_FALSE(c.keep(utc + "2026-12-01", day("2026-12-01", {5}), t0));
}

}  // namespace
