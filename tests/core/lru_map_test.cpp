#include "bsocial/core/lru_map.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using bsocial::lru_map;

TEST(LruMap, FindsWhatWasPutAndNothingElse) {
    lru_map<std::string, int> m(4);
    EXPECT_EQ(m.find("a"), nullptr);
    auto [v, inserted] = m.try_emplace("a", 1);
    EXPECT_TRUE(inserted);
    EXPECT_EQ(*v, 1);
    auto [again, inserted_again] = m.try_emplace("a", 2);
    EXPECT_FALSE(inserted_again);  // the one there is kept
    EXPECT_EQ(*again, 1);
    ASSERT_NE(m.find("a"), nullptr);
    EXPECT_EQ(*m.find("a"), 1);
    EXPECT_TRUE(m.contains("a"));
    EXPECT_FALSE(m.contains("b"));
    EXPECT_EQ(m.size(), 1u);
}

TEST(LruMap, EvictsTheLeastRecentlyUsedAndSaysWhich) {
    lru_map<int, std::string> m(3);
    for (int k = 1; k <= 3; ++k) m.try_emplace(k, std::to_string(k));
    ASSERT_NE(m.find(1), nullptr);  // 1 is now the most recently used; 2 the least
    std::vector<std::pair<int, std::string>> evicted;
    const auto note = [&](const int& k, std::string& v) { evicted.emplace_back(k, v); };
    m.try_emplace_evicting(note, 4, "4");
    ASSERT_EQ(evicted.size(), 1u);
    EXPECT_EQ(evicted[0], std::make_pair(2, std::string("2")));
    EXPECT_FALSE(m.contains(2));
    EXPECT_EQ(m.size(), 3u);
    m.try_emplace_evicting(note, 5, "5");
    EXPECT_EQ(evicted.back().first, 3);
}

TEST(LruMap, PeekAndContainsLeaveTheOrderAlone) {
    lru_map<int, int> m(2);
    m.try_emplace(1, 10);
    m.try_emplace(2, 20);
    ASSERT_NE(m.peek(1), nullptr);  // does not save 1
    EXPECT_TRUE(m.contains(1));
    m.try_emplace(3, 30);
    EXPECT_FALSE(m.contains(1));
    EXPECT_TRUE(m.contains(2));
    EXPECT_EQ(m.peek(1), nullptr);
}

TEST(LruMap, EraseAndReinsert) {
    lru_map<std::string, int> m(2);
    m.try_emplace("x", 1);
    EXPECT_TRUE(m.erase("x"));
    EXPECT_FALSE(m.erase("x"));
    EXPECT_EQ(m.size(), 0u);
    m.try_emplace("x", 2);
    EXPECT_EQ(*m.find("x"), 2);
}

TEST(LruMap, CapacityZeroKeepsOne) {
    lru_map<int, int> m(0);
    EXPECT_EQ(m.capacity(), 1u);
    m.try_emplace(1, 1);
    m.try_emplace(2, 2);
    EXPECT_EQ(m.size(), 1u);
    EXPECT_TRUE(m.contains(2));
}

TEST(LruMap, StaysWithinCapacityUnderChurn) {
    lru_map<std::string, int> m(100);
    for (int i = 0; i < 10'000; ++i) {
        m.try_emplace("key" + std::to_string(i), i);
        if (i % 3 == 0) m.find("key" + std::to_string(i / 2));
        if (i % 7 == 0) m.erase("key" + std::to_string(i - 1));
        ASSERT_LE(m.size(), 100u);
    }
    EXPECT_EQ(*m.find("key9999"), 9999);
}
