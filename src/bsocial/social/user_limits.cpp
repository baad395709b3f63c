#include "bsocial/social/user_limits.hpp"

#include <stdexcept>
#include <string>

#include "bsocial/core/error.hpp"

namespace bsocial::social {

namespace {
void take(auth::rate_limiter& limiter, std::int64_t user_id, const char* message) {
    if (auto wait = limiter.try_take(std::to_string(user_id))) {
        error e(error_code::rate_limited, message);
        e.retry_after_seconds = *wait;
        throw e;
    }
}

void require_not_negative(int value, const char* name) {
    if (value < 0) throw std::invalid_argument(std::string(name) + " must not be negative");
}
}  // namespace

void user_limit_settings::validate() const {
    require_not_negative(posts_per_minute, "--posts-per-minute");
    require_not_negative(post_burst, "--post-burst");
    require_not_negative(comments_per_minute, "--comments-per-minute");
    require_not_negative(comment_burst, "--comment-burst");
    require_not_negative(follows_per_minute, "--follows-per-minute");
    require_not_negative(follow_burst, "--follow-burst");
    require_not_negative(searches_per_minute, "--searches-per-minute");
    require_not_negative(search_burst, "--search-burst");
    if (users_remembered < 1) throw std::invalid_argument("--user-limit-keys must be at least 1");
}

user_limits::user_limits(const clock& clock, const user_limit_settings& s)
    : posts_(clock, s.posts_per_minute, s.post_burst, static_cast<std::size_t>(s.users_remembered)),
      comments_(clock, s.comments_per_minute, s.comment_burst,
                static_cast<std::size_t>(s.users_remembered)),
      follows_(clock, s.follows_per_minute, s.follow_burst,
               static_cast<std::size_t>(s.users_remembered)),
      searches_(clock, s.searches_per_minute, s.search_burst,
                static_cast<std::size_t>(s.users_remembered)) {}

void user_limits::take_post(std::int64_t user_id) {
    take(posts_, user_id, "too many posts; try again later");
}
void user_limits::take_comment(std::int64_t user_id) {
    take(comments_, user_id, "too many comments; try again later");
}
void user_limits::take_follow(std::int64_t user_id) {
    take(follows_, user_id, "too many follows; try again later");
}
void user_limits::take_search(std::int64_t user_id) {
    take(searches_, user_id, "too many searches; try again later");
}

}  // namespace bsocial::social
