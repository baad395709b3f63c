#pragma once
// A synthetic social network for benchmarks and tests, generated in memory from a seed:
// the same options always give the same users, follows, posts and comments.
//
// Shape (docs/benchmarks.md): `users` regular users follow `follows` others each, chosen
// by a power law of popularity (Zipf, s = 1); posts are written by a power law of
// activity over 30 days; comments go to random posts. For the benchmark's user shapes it
// adds `shape_users` accounts of each kind: sparse_NN (follows two quiet_NN accounts that
// wrote one old post each), new_NN (follows nobody), heavy_NN (follows `heavy_follows`
// regular users), fan_NN (follows `star`, who wrote `star_share` of all posts).
// Single-threaded; pure computation, no I/O.

#include <cstdint>
#include <string>
#include <vector>

namespace bsocial::seed {

struct options {
    std::uint64_t seed = 42;
    int users = 10000;
    int follows = 100;
    std::int64_t posts = 1000000;
    std::int64_t comments = 100000;
    int days = 30;
    int shape_users = 20;
    int heavy_follows = 5000;
    double star_share = 0.5;
    std::int64_t end_ms = 0;  ///< newest possible timestamp (required)

    /// Throws std::invalid_argument naming the bad option.
    void validate() const;
    /// Command-line flags only (core/settings.hpp): a data set is chosen per run.
    template <class Declare>
    void describe(Declare& d) {
        d(seed, "seed", nullptr, "random seed");
        d(users, "users", nullptr, "regular users");
        d(follows, "follows", nullptr, "followees per regular user (power law)");
        d(posts, "posts", nullptr, "posts (power law of activity)");
        d(comments, "comments", nullptr, "comments on random posts");
        d(days, "days", nullptr, "posts spread over this many days up to now");
        d(shape_users, "shape-users", nullptr,
          "accounts of each benchmark shape (sparse, new, heavy, fan)");
        d(heavy_follows, "heavy-follows", nullptr, "followees of each heavy_NN");
        d(star_share, "star-share", nullptr, "share of all posts written by `star`");
        d(end_ms, "end-ms", nullptr, "newest timestamp (0: now)");
    }
};

struct dataset {
    // Users: index i has id i + 1.
    std::vector<std::string> usernames;
    std::vector<std::int64_t> user_created_at;
    std::vector<std::vector<std::int32_t>> followees;  ///< by user index, ascending
    // Posts, oldest first: index j has id j + 1, so ids grow with time as on SQLite.
    std::vector<std::int32_t> post_author;
    std::vector<std::int64_t> post_created_at;
    std::vector<std::int32_t> post_comment_count;
    std::vector<std::vector<std::int32_t>> posts_by_author;  ///< post indexes, oldest first
    // Comments: index k has id k + 1.
    std::vector<std::int32_t> comment_post;
    std::vector<std::int32_t> comment_author;
    std::vector<std::int64_t> comment_created_at;

    std::int64_t follow_count() const;
};

dataset generate(const options& opts);

/// Deterministic text of `words` words for item `index` (posts, comments).
std::string sample_text(std::uint64_t seed, std::int64_t index, int min_words, int max_words);

/// The home timeline the API would hold for `user` (docs/feed.md): the newest `capacity`
/// posts of the user and of their followees that are not celebrities, newest first,
/// plus the horizon (the post index just below them) when more exist; -1 when complete.
struct built_timeline {
    std::vector<std::int32_t> posts;
    std::int64_t horizon = -1;
};
built_timeline build_timeline(const dataset& d, std::int32_t user,
                              const std::vector<bool>& celebrity, int capacity);

/// Users with at least `celebrity_followers` followers (their posts are read-merged).
std::vector<bool> celebrities(const dataset& d, int celebrity_followers);

}  // namespace bsocial::seed
