#include "bsocial/seed/dataset.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace bsocial::seed {
namespace {

options small() {
    options o;
    o.users = 300;
    o.follows = 20;
    o.posts = 20000;
    o.comments = 2000;
    o.shape_users = 3;
    o.heavy_follows = 150;
    o.end_ms = 1'800'000'000'000;
    return o;
}

std::int32_t index_of(const dataset& d, const std::string& name) {
    const auto it = std::find(d.usernames.begin(), d.usernames.end(), name);
    EXPECT_NE(it, d.usernames.end()) << name;
    return static_cast<std::int32_t>(it - d.usernames.begin());
}

TEST(SeedDataset, SameSeedSameNetworkOtherSeedAnother) {
    const dataset a = generate(small());
    const dataset b = generate(small());
    EXPECT_EQ(a.usernames, b.usernames);
    EXPECT_EQ(a.followees, b.followees);
    EXPECT_EQ(a.post_author, b.post_author);
    EXPECT_EQ(a.post_created_at, b.post_created_at);
    EXPECT_EQ(a.comment_post, b.comment_post);
    options other = small();
    other.seed = 43;
    EXPECT_NE(generate(other).post_author, a.post_author);
    EXPECT_EQ(sample_text(42, 7, 4, 24), sample_text(42, 7, 4, 24));
}

TEST(SeedDataset, SizesShapesAndOrder) {
    const options o = small();
    const dataset d = generate(o);
    ASSERT_EQ(d.post_author.size(), static_cast<std::size_t>(o.posts));
    ASSERT_EQ(d.comment_post.size(), static_cast<std::size_t>(o.comments));
    // Ids grow with time, as on SQLite.
    EXPECT_TRUE(std::is_sorted(d.post_created_at.begin(), d.post_created_at.end()));
    EXPECT_GE(d.post_created_at.front(), o.end_ms - std::int64_t{o.days} * 86'400'000);
    EXPECT_LE(d.post_created_at.back(), o.end_ms);
    for (int u = 0; u < o.users; ++u) {
        EXPECT_EQ(d.followees[u].size(), static_cast<std::size_t>(o.follows));
        EXPECT_FALSE(std::binary_search(d.followees[u].begin(), d.followees[u].end(), u));
    }
    const auto star = index_of(d, "star");
    EXPECT_NEAR(static_cast<double>(d.posts_by_author[star].size()) / o.posts, o.star_share, 0.01);
    for (int i = 0; i < o.shape_users; ++i) {
        const auto n = std::to_string(100 + i).substr(1);
        EXPECT_TRUE(d.followees[index_of(d, "new_" + n)].empty());
        EXPECT_EQ(d.followees[index_of(d, "heavy_" + n)].size(),
                  static_cast<std::size_t>(o.heavy_follows));
        EXPECT_EQ(d.followees[index_of(d, "fan_" + n)], std::vector<std::int32_t>{star});
        const auto& sparse = d.followees[index_of(d, "sparse_" + n)];
        ASSERT_EQ(sparse.size(), 2u);
        for (const auto q : sparse) EXPECT_EQ(d.posts_by_author[q].size(), 1u);
    }
    // Comment counts add up.
    std::int64_t counted = 0;
    for (const auto c : d.post_comment_count) counted += c;
    EXPECT_EQ(counted, o.comments);
}

TEST(SeedDataset, TimelineIsTheNewestPostsOfMeAndMyNonCelebrityFollowees) {
    const dataset d = generate(small());
    const auto celebrity = celebrities(d, 40);
    ASSERT_GT(std::count(celebrity.begin(), celebrity.end(), true), 0);
    const int capacity = 50;
    for (std::int32_t u = 0; u < static_cast<std::int32_t>(d.usernames.size()); u += 7) {
        std::set<std::int32_t> authors{u};
        for (const auto v : d.followees[u])
            if (!celebrity[v]) authors.insert(v);
        std::vector<std::int32_t> all;  // newest first
        for (std::int32_t j = static_cast<std::int32_t>(d.post_author.size()) - 1; j >= 0; --j)
            if (authors.count(d.post_author[j])) all.push_back(j);
        const built_timeline t = build_timeline(d, u, celebrity, capacity);
        const std::size_t kept = std::min<std::size_t>(all.size(), capacity);
        EXPECT_EQ(t.posts, std::vector<std::int32_t>(all.begin(), all.begin() + kept)) << u;
        EXPECT_EQ(t.horizon, all.size() > kept ? all[kept] : -1) << u;
    }
}

TEST(SeedOptions, BadValuesAreRefused) {
    options o = small();
    o.follows = o.users;
    EXPECT_THROW(o.validate(), std::invalid_argument);
    o = small();
    o.star_share = 1.0;
    EXPECT_THROW(o.validate(), std::invalid_argument);
    o = small();
    o.end_ms = 0;
    EXPECT_THROW(o.validate(), std::invalid_argument);
}

}  // namespace
}  // namespace bsocial::seed
