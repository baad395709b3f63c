#pragma once
// What one account may do per minute: posts, comments, follows (and unfollows) and people
// searches, each a token bucket per user id (auth::rate_limiter). Beyond it the action is
// refused with error{rate_limited} (429 + Retry-After), before any SQL runs. The defaults
// are far above what a person does; the bursts are sized so the project's own benchmarks,
// which write as fast as they can through a few accounts, stay below them
// (docs/security.md, "Per-user limits"). Thread-safe; lives as long as the serve process.

#include <cstddef>
#include <cstdint>

#include "bsocial/auth/rate_limiter.hpp"
#include "bsocial/core/clock.hpp"

namespace bsocial::social {

/// Settings (core/settings.hpp). A rate of 0 turns that limit off.
struct user_limit_settings {
    int posts_per_minute = 60;
    int post_burst = 2000;
    int comments_per_minute = 120;
    int comment_burst = 2000;
    int follows_per_minute = 120;
    int follow_burst = 1000;
    int searches_per_minute = 120;
    int search_burst = 300;
    int users_remembered = 65536;

    /// Throws std::invalid_argument naming the bad setting.
    void validate() const;

    template <class Declare>
    void describe(Declare& d) {
        d(posts_per_minute, "posts-per-minute", "BSOCIAL_POSTS_PER_MINUTE",
          "posts one user may publish per minute on average; beyond it 429 (0 = no limit)");
        d(post_burst, "post-burst", "BSOCIAL_POST_BURST",
          "posts one user may publish at once before the per-minute rate applies");
        d(comments_per_minute, "comments-per-minute", "BSOCIAL_COMMENTS_PER_MINUTE",
          "comments one user may write per minute on average; beyond it 429 (0 = no limit)");
        d(comment_burst, "comment-burst", "BSOCIAL_COMMENT_BURST",
          "comments one user may write at once before the per-minute rate applies");
        d(follows_per_minute, "follows-per-minute", "BSOCIAL_FOLLOWS_PER_MINUTE",
          "follows and unfollows one user may make per minute on average; beyond it 429 "
          "(0 = no limit)");
        d(follow_burst, "follow-burst", "BSOCIAL_FOLLOW_BURST",
          "follows and unfollows one user may make at once before the per-minute rate applies");
        d(searches_per_minute, "searches-per-minute", "BSOCIAL_SEARCHES_PER_MINUTE",
          "people searches one user may run per minute on average; beyond it 429 (0 = no limit)");
        d(search_burst, "search-burst", "BSOCIAL_SEARCH_BURST",
          "people searches one user may run at once before the per-minute rate applies");
        d(users_remembered, "user-limit-keys", "BSOCIAL_USER_LIMIT_KEYS",
          "users each per-user limiter remembers (least recently used forgotten)");
    }
};

class user_limits {
  public:
    user_limits(const clock& clock, const user_limit_settings& settings);

    /// Each takes one action of `user_id` from its bucket, or throws error{rate_limited}
    /// with the seconds until the next one is allowed.
    void take_post(std::int64_t user_id);
    void take_comment(std::int64_t user_id);
    void take_follow(std::int64_t user_id);
    void take_search(std::int64_t user_id);

  private:
    auth::rate_limiter posts_;
    auth::rate_limiter comments_;
    auth::rate_limiter follows_;
    auth::rate_limiter searches_;
};

}  // namespace bsocial::social
