// The comment lists kept in memory (social/comment_cache.hpp), alone: pages
// cut from a kept list as the SQL would give them, reads racing drops (the epoch), long
// lists, eviction beyond the comment budget, and a timeline's followees answering who may
// read. Across replicas: tests/integration/test_feed_property.py.

#include "bsocial/social/comment_cache.hpp"

#include <gtest/gtest.h>

#include "bsocial/social/timeline_cache.hpp"

namespace {
using namespace bsocial;
using social::comment;
using social::comment_cache;
using social::time_cursor;

constexpr time_cursor oldest{-1, 0};
constexpr time_cursor newest{INT64_MAX, INT64_MAX};

/// Comments 1..n of post 7; two share each created_at (the id decides their order).
std::vector<comment> list(int n) {
    std::vector<comment> out;
    for (int i = 1; i <= n; ++i) out.push_back(comment{i, 7, {}, "c", (i + 1) / 2 * 100});
    return out;
}

std::vector<std::int64_t> ids(const std::vector<comment>& rows) {
    std::vector<std::int64_t> out;
    for (const auto& c : rows) out.push_back(c.id);
    return out;
}

TEST(CommentCache, PagesFromAKeptListAreTheKeysetPagesOfTheSql) {
    comment_cache cache(1000);
    EXPECT_FALSE(cache.read(7, oldest, 3, false));
    cache.put(7, 42, list(5), cache.epoch());
    const auto first = cache.read(7, oldest, 3, false);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->post_author_id, 42);
    EXPECT_EQ(ids(first->rows), (std::vector<std::int64_t>{1, 2, 3}));
    // after (created_at 200, id 3): 4 (same time, higher id), 5
    EXPECT_EQ(ids(cache.read(7, {200, 3}, 3, false)->rows), (std::vector<std::int64_t>{4, 5}));
    EXPECT_EQ(ids(cache.read(7, newest, 2, true)->rows), (std::vector<std::int64_t>{5, 4}));
    // before (created_at 200, id 4): 3 (same time, lower id), 2, 1
    EXPECT_EQ(ids(cache.read(7, {200, 4}, 5, true)->rows), (std::vector<std::int64_t>{3, 2, 1}));
    EXPECT_TRUE(cache.read(7, {300, 5}, 5, false)->rows.empty());
    EXPECT_TRUE(cache.read(7, {100, 1}, 5, true)->rows.empty());
    // an empty list is kept too
    cache.put(8, 42, {}, cache.epoch());
    ASSERT_TRUE(cache.read(8, oldest, 3, false));
    EXPECT_TRUE(cache.read(8, oldest, 3, false)->rows.empty());
}

TEST(CommentCache, AListReadBeforeADropIsNotKept) {
    comment_cache cache(1000);
    const auto before = cache.epoch();
    cache.drop(99);  // any post's comments changed meanwhile (this replica or the bus)
    cache.put(7, 42, list(2), before);
    EXPECT_FALSE(cache.read(7, oldest, 5, false));
    cache.put(7, 42, list(2), cache.epoch());
    ASSERT_TRUE(cache.read(7, oldest, 5, false));
    cache.drop(7);
    EXPECT_FALSE(cache.read(7, oldest, 5, false));
    cache.put(7, 42, list(2), cache.epoch());
    cache.clear();
    EXPECT_FALSE(cache.read(7, oldest, 5, false));
}

TEST(CommentCache, LongListsAreRememberedAsLongAndReadFromSql) {
    comment_cache cache(100000);
    const auto longest = static_cast<int>(cache.max_per_post());
    cache.put(7, 42, list(longest + 1), cache.epoch());
    EXPECT_TRUE(cache.too_long(7));
    EXPECT_FALSE(cache.read(7, oldest, 5, false));
    cache.drop(7);  // a comment deleted: perhaps short now
    EXPECT_FALSE(cache.too_long(7));
    cache.put(7, 42, list(longest), cache.epoch());
    EXPECT_FALSE(cache.too_long(7));
    EXPECT_EQ(cache.read(7, oldest, longest + 1, false)->rows.size(),
              static_cast<std::size_t>(longest));
}

TEST(CommentCache, TheLeastRecentlyReadListsGoBeyondTheBudget) {
    comment_cache cache(10);
    cache.put(1, 42, list(4), cache.epoch());
    cache.put(2, 42, list(4), cache.epoch());
    ASSERT_TRUE(cache.read(1, oldest, 1, false));  // 1 read last: 2 goes first
    cache.put(3, 42, list(4), cache.epoch());
    EXPECT_TRUE(cache.read(1, oldest, 1, false));
    EXPECT_FALSE(cache.read(2, oldest, 1, false));
    EXPECT_TRUE(cache.read(3, oldest, 1, false));
    EXPECT_NE(cache.metrics().find("bsocial_comment_cache_comments 8"), std::string::npos)
        << cache.metrics();
}

TEST(CommentCache, ATimelinesFolloweesSayWhoMayReadUntilAFollowChangesThem) {
    social::timeline_cache timelines(10, 10);
    EXPECT_FALSE(timelines.follows(1, 5));  // not cached: unknown
    const auto g = timelines.begin_build(1);
    EXPECT_FALSE(timelines.follows(1, 5));  // being built: unknown
    ASSERT_TRUE(timelines.index_followees(1, g, {5, 3}));
    timelines.finish_build(1, g, {}, true);
    EXPECT_EQ(timelines.follows(1, 5), std::optional<bool>(true));
    EXPECT_EQ(timelines.follows(1, 4), std::optional<bool>(false));
    timelines.forget(1);  // a follow or unfollow
    EXPECT_FALSE(timelines.follows(1, 5));
}

}  // namespace
