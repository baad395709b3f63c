// The in-memory home timelines and posts of the feed on SQLite (social/timeline_cache.hpp,
// social/post_cache.hpp), alone: builds racing new posts and follows, the cap and the
// floor, extension below it, eviction, and comment counts racing reads. The feed through
// them is checked against its definition in tests/integration/test_feed_property.py.

#include "bsocial/social/timeline_cache.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "bsocial/social/post_cache.hpp"

namespace {
using namespace bsocial;
using social::cached_page;
using social::timeline_cache;
using social::time_cursor;
using social::timeline_key;

constexpr time_cursor top{INT64_MAX, INT64_MAX};

std::vector<std::int64_t> ids(const cached_page& p) {
    std::vector<std::int64_t> out;
    for (const auto& k : p.entries) out.push_back(k.id);
    return out;
}

timeline_key key(std::int64_t id) { return {id * 10, id}; }  // time follows the id

std::vector<timeline_key> newest_first(std::int64_t from, std::int64_t to) {
    std::vector<timeline_key> out;
    for (std::int64_t id = from; id >= to; --id) out.push_back(key(id));
    return out;
}

TEST(TimelineCache, NotCachedUntilBuiltAndPostsArrivingDuringTheBuildAreKept) {
    timeline_cache cache(100, 10);
    EXPECT_FALSE(cache.read(1, top, 5));
    const auto generation = cache.begin_build(1);
    ASSERT_NE(generation, 0u);
    EXPECT_EQ(cache.begin_build(1), 0u) << "one build at a time";
    EXPECT_FALSE(cache.read(1, top, 5)) << "not readable while building";
    cache.add({1, 2}, key(7));  // committed after the build's read began
    cache.add({1}, key(6));     // committed before it: in both, kept once
    cache.finish_build(1, generation, newest_first(6, 1), true);
    const auto page = cache.read(1, top, 5);
    ASSERT_TRUE(page);
    EXPECT_EQ(ids(*page), (std::vector<std::int64_t>{7, 6, 5, 4, 3}));
    const auto rest = cache.read(1, {key(3).created_at, 3}, 5);
    EXPECT_EQ(ids(*rest), (std::vector<std::int64_t>{2, 1}));
    EXPECT_FALSE(rest->continue_from) << "complete: the feed ends here";
    EXPECT_FALSE(cache.read(2, top, 5)) << "user 2 was not cached: nothing kept for them";
}

TEST(TimelineCache, AFollowDuringTheBuildDiscardsIt) {
    timeline_cache cache(100, 10);
    const auto generation = cache.begin_build(1);
    cache.forget(1);  // a follow committed while the build read the old graph
    cache.finish_build(1, generation, newest_first(3, 1), true);
    EXPECT_FALSE(cache.read(1, top, 5));
    EXPECT_EQ(cache.stats().users, 0u);
}

TEST(TimelineCache, ACappedTimelineSendsOlderPagesBelowItsFloorAndExtendsWithThem) {
    timeline_cache cache(8, 10);
    const auto generation = cache.begin_build(1);
    cache.finish_build(1, generation, newest_first(5, 3), false);  // more below post 3
    auto page = cache.read(1, top, 5);
    EXPECT_EQ(ids(*page), (std::vector<std::int64_t>{5, 4, 3}));
    ASSERT_TRUE(page->continue_from);
    EXPECT_EQ(page->continue_from->id, 3) << "continue strictly below the oldest cached entry";

    cache.extend(1, *page, newest_first(2, 1), true);  // what the posts said lies below
    page = cache.read(1, top, 10);
    EXPECT_EQ(ids(*page), (std::vector<std::int64_t>{5, 4, 3, 2, 1}));
    EXPECT_FALSE(page->continue_from);

    // New posts beyond the capacity (8, trimmed an eighth at a time) raise the floor.
    for (std::int64_t id = 6; id <= 14; ++id) cache.add({1}, key(id));
    page = cache.read(1, top, 20);
    EXPECT_EQ(ids(*page), (std::vector<std::int64_t>{14, 13, 12, 11, 10, 9, 8, 7}));
    ASSERT_TRUE(page->continue_from);
    EXPECT_EQ(page->continue_from->id, 7);
    // A cursor below the floor reads from the posts, from the cursor itself.
    page = cache.read(1, {key(3).created_at, 3}, 5);
    EXPECT_TRUE(page->entries.empty());
    EXPECT_EQ(page->continue_from->id, 3);
    // A post older than the floor is not cached: the posts below the floor have it.
    cache.add({1}, key(2));
    EXPECT_EQ(cache.read(1, top, 20)->entries.size(), 8u);
}

TEST(TimelineCache, AnExtensionReadBeforeAChangeIsIgnored) {
    timeline_cache cache(100, 10);
    auto generation = cache.begin_build(1);
    cache.finish_build(1, generation, newest_first(5, 4), false);
    const auto stale = cache.read(1, top, 5);
    cache.forget(1);
    generation = cache.begin_build(1);
    cache.finish_build(1, generation, newest_first(9, 8), false);
    cache.extend(1, *stale, newest_first(3, 1), true);
    EXPECT_EQ(ids(*cache.read(1, top, 10)), (std::vector<std::int64_t>{9, 8}));
}

TEST(TimelineCache, TheLeastRecentlyReadTimelinesAreEvicted) {
    timeline_cache cache(100, 2);
    for (std::int64_t user : {1, 2}) {
        const auto g = cache.begin_build(user);
        cache.finish_build(user, g, newest_first(3, 1), true);
    }
    ASSERT_TRUE(cache.read(1, top, 5));  // user 2 is now the least recently read
    const auto g = cache.begin_build(3);
    cache.finish_build(3, g, newest_first(3, 1), true);
    EXPECT_TRUE(cache.read(1, top, 5));
    EXPECT_FALSE(cache.read(2, top, 5));
    EXPECT_TRUE(cache.read(3, top, 5));
    EXPECT_EQ(cache.stats().evictions, 1u);
    EXPECT_EQ(cache.stats().entries, 6u);
}

social::post row(std::int64_t id, std::int64_t comments) {
    social::post p;
    p.id = id;
    p.created_at = id * 10;
    p.comment_count = comments;
    p.content = "post " + std::to_string(id);
    return p;
}

TEST(PostCache, ReturnsCachedPostsAndNamesTheMissingOnes) {
    social::post_cache cache(10);
    cache.put({row(1, 0), row(2, 5)}, cache.epoch());
    std::vector<std::int64_t> missing;
    const auto found = cache.get({2, 3, 1}, missing);
    ASSERT_EQ(found.size(), 2u);
    EXPECT_EQ(found[0].id, 2);
    EXPECT_EQ(found[0].comment_count, 5);
    EXPECT_EQ(found[1].content, "post 1");
    EXPECT_EQ(missing, (std::vector<std::int64_t>{3}));
}

TEST(PostCache, ARowReadBeforeACommentIsNotKeptAndCountsNeverGoBack) {
    social::post_cache cache(10);
    const auto before = cache.epoch();
    cache.comment_added(1, 1);       // committed after the row below was read
    cache.put({row(1, 0)}, before);  // stale count: dropped
    std::vector<std::int64_t> missing;
    EXPECT_TRUE(cache.get({1}, missing).empty());

    cache.put({row(1, 1)}, cache.epoch());
    cache.comment_added(1, 3);
    cache.comment_added(1, 2);  // two comments' updates arriving out of order
    missing.clear();
    EXPECT_EQ(cache.get({1}, missing).at(0).comment_count, 3);
}

TEST(PostCache, KeepsAtMostItsSize) {
    social::post_cache cache(3);
    for (std::int64_t id = 1; id <= 5; ++id) cache.put({row(id, 0)}, cache.epoch());
    EXPECT_EQ(cache.size(), 3u);
    std::vector<std::int64_t> missing;
    cache.get({1, 2, 3, 4, 5}, missing);
    EXPECT_EQ(missing, (std::vector<std::int64_t>{1, 2}));
}

// PostgreSQL: posts announced by their author alone (cluster bus), through the index of
// whom each cached timeline follows.
TEST(TimelineCache, PostsByAuthorReachTheCachedReadersIndexedDuringTheBuild) {
    timeline_cache cache(100, 10);
    const auto g1 = cache.begin_build(1);
    cache.add_by_author(5, key(8));  // before the index: committed before the build's read
    ASSERT_TRUE(cache.index_followees(1, g1, {5, 6, 1}));
    cache.add_by_author(5, key(9));  // during the build: kept aside
    cache.add_by_author(7, key(10)); // not followed: not kept
    cache.finish_build(1, g1, newest_first(4, 1), true);
    const auto g2 = cache.begin_build(2);
    ASSERT_TRUE(cache.index_followees(2, g2, {6}));
    cache.finish_build(2, g2, {}, true);
    cache.add_by_author(6, key(11));  // both follow 6
    cache.add_by_author(1, key(12));  // user 1's own post
    EXPECT_EQ(ids(*cache.read(1, top, 10)), (std::vector<std::int64_t>{12, 11, 9, 4, 3, 2, 1}));
    EXPECT_EQ(ids(*cache.read(2, top, 10)), (std::vector<std::int64_t>{11}));
    // Forgotten (a follow), then built again with other followees: the old index is gone.
    cache.forget(1);
    const auto g3 = cache.begin_build(1);
    ASSERT_TRUE(cache.index_followees(1, g3, {7}));
    cache.finish_build(1, g3, {}, true);
    cache.add_by_author(5, key(13));
    cache.add_by_author(7, key(14));
    EXPECT_EQ(ids(*cache.read(1, top, 10)), (std::vector<std::int64_t>{14}));
    // Without a post's key, every cached reader of its author is forgotten.
    cache.forget_readers_of(6);
    EXPECT_FALSE(cache.read(2, top, 10));
    EXPECT_TRUE(cache.read(1, top, 10)) << "user 1 no longer follows 6";
    cache.clear();
    EXPECT_FALSE(cache.read(1, top, 10));
    EXPECT_EQ(cache.stats().entries, 0u);
}

TEST(TimelineCache, AnIndexForADroppedBuildIsRefusedAndEvictionUnindexes) {
    timeline_cache cache(100, 1);  // room for one timeline
    const auto g1 = cache.begin_build(1);
    cache.forget(1);
    EXPECT_FALSE(cache.index_followees(1, g1, {5}));
    const auto g2 = cache.begin_build(1);
    ASSERT_TRUE(cache.index_followees(1, g2, {5}));
    cache.finish_build(1, g2, {}, true);
    const auto g3 = cache.begin_build(2);  // evicts user 1
    ASSERT_TRUE(cache.index_followees(2, g3, {5}));
    cache.finish_build(2, g3, {}, true);
    cache.add_by_author(5, key(1));
    EXPECT_EQ(ids(*cache.read(2, top, 10)), (std::vector<std::int64_t>{1}));
    EXPECT_EQ(cache.stats().entries, 1u) << "only user 2 took the post";
}

TEST(PostCache, ACountChangedElsewhereDropsThePostAndRefusesOlderReads) {
    social::post_cache cache(10);
    social::post p;
    p.id = 1;
    p.comment_count = 2;
    cache.put({p}, cache.epoch());
    const auto epoch = cache.epoch();  // a read begins
    cache.drop(1);             // a comment on another replica
    p.comment_count = 2;               // what that read saw
    cache.put({p}, epoch);
    std::vector<std::int64_t> missing;
    EXPECT_TRUE(cache.get({1}, missing).empty());
    EXPECT_EQ(missing, (std::vector<std::int64_t>{1}));
    p.comment_count = 3;
    cache.put({p}, cache.epoch());
    cache.clear();
    missing.clear();
    EXPECT_TRUE(cache.get({1}, missing).empty());
}

}  // namespace

TEST(TimelineCache, ADeletedPostLeavesEveryCachedTimelineAndBuildsUnderWayAreDropped) {
    timeline_cache cache(100, 10);
    for (std::int64_t user : {1, 2}) {
        const auto g = cache.begin_build(user);
        cache.finish_build(user, g, newest_first(5, 1), true);
    }
    const auto building = cache.begin_build(3);  // its build may have read post 3
    cache.remove(key(3));
    EXPECT_EQ(ids(*cache.read(1, top, 10)), (std::vector<std::int64_t>{5, 4, 2, 1}));
    EXPECT_EQ(ids(*cache.read(2, top, 10)), (std::vector<std::int64_t>{5, 4, 2, 1}));
    cache.finish_build(3, building, newest_first(5, 1), true);
    EXPECT_FALSE(cache.read(3, top, 10)) << "a build that raced the deletion is not kept";
    EXPECT_EQ(cache.stats().entries, 8u);
    cache.remove(key(3));  // again, or a post nobody has cached: nothing changes
    cache.remove(key(42));
    EXPECT_EQ(cache.stats().entries, 8u);
}

TEST(TimelineCache, AnExtensionReadBeforeADeletionIsIgnored) {
    timeline_cache cache(100, 10);
    const auto g = cache.begin_build(1);
    cache.finish_build(1, g, newest_first(5, 4), false);
    const auto page = cache.read(1, top, 5);  // then the posts below are read: 3, 2, 1
    cache.remove(key(2));                     // and post 2 is deleted meanwhile
    cache.extend(1, *page, newest_first(3, 1), true);
    EXPECT_EQ(ids(*cache.read(1, top, 10)), (std::vector<std::int64_t>{5, 4}));
}

TEST(PostCache, ADroppedPostIsGoneAndARowReadBeforeTheDropIsNotKept) {
    social::post_cache cache(10);
    cache.put({row(1, 2), row(2, 0)}, cache.epoch());
    const auto before = cache.epoch();
    cache.drop(1);  // deleted, or one of its comments deleted (the count went down)
    std::vector<std::int64_t> missing;
    EXPECT_EQ(cache.get({1, 2}, missing).size(), 1u);
    EXPECT_EQ(missing, (std::vector<std::int64_t>{1}));
    cache.put({row(1, 2)}, before);  // read before the drop: stale
    missing.clear();
    EXPECT_TRUE(cache.get({1}, missing).empty());
    cache.put({row(1, 1)}, cache.epoch());
    missing.clear();
    EXPECT_EQ(cache.get({1}, missing).at(0).comment_count, 1) << "a lower count is taken";
}

TEST(TimelineCache, AReadWaitsForTheBuildUnderWayInsteadOfBuildingItTwice) {
    using namespace std::chrono_literals;
    timeline_cache cache(100, 10);
    EXPECT_TRUE(cache.wait_built(1, 0ms)) << "nothing being built: at once";
    const auto generation = cache.begin_build(1);  // a login's warming
    ASSERT_NE(generation, 0u);
    EXPECT_EQ(cache.begin_build(1), 0u);  // the feed read finds it under way
    auto waiter = std::async(std::launch::async, [&] {
        const bool ended = cache.wait_built(1, 5s);
        return std::make_pair(ended, cache.read(1, top, 5));
    });
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(waiter.wait_for(0ms), std::future_status::timeout) << "waits for the build";
    cache.finish_build(1, generation, newest_first(9, 1), true);
    const auto [ended, page] = waiter.get();
    EXPECT_TRUE(ended);
    ASSERT_TRUE(page) << "the build's timeline is read, not built again";
    EXPECT_EQ(ids(*page), (std::vector<std::int64_t>{9, 8, 7, 6, 5}));
    EXPECT_EQ(cache.stats().builds, 1u);
    EXPECT_EQ(cache.stats().waits, 1u);
}

TEST(TimelineCache, AWaitEndsWhenTheBuildIsForgottenOrTimesOut) {
    using namespace std::chrono_literals;
    timeline_cache cache(100, 10);
    ASSERT_NE(cache.begin_build(1), 0u);
    EXPECT_FALSE(cache.wait_built(1, 20ms)) << "a stuck build: the reader goes on without it";
    auto waiter = std::async(std::launch::async, [&] { return cache.wait_built(1, 5s); });
    std::this_thread::sleep_for(20ms);
    cache.forget(1);  // a follow meanwhile
    EXPECT_TRUE(waiter.get());
    EXPECT_FALSE(cache.read(1, top, 5)) << "forgotten: the reader builds it";
    ASSERT_NE(cache.begin_build(2), 0u);
    auto cleared = std::async(std::launch::async, [&] { return cache.wait_built(2, 5s); });
    std::this_thread::sleep_for(20ms);
    cache.clear();  // a bus resync
    EXPECT_TRUE(cleared.get());
}
