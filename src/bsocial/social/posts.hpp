#pragma once
// Posts, comments and the feed, with the visibility rule: you see a post only if you
// wrote it or follow its author now. Anything not visible is "not found". Blocking:
// blocking-work pool only. Thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bsocial/core/clock.hpp"
#include "bsocial/social/models.hpp"
#include "bsocial/social/timeline.hpp"
#include "bsocial/store/cluster_bus.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::social {

class posts {
  public:
    /// `bus` (may be null): where "post.created" / "comment.created" are published after
    /// the commit, for the live pushes of every replica (notify::live).
    posts(store::database& db, const timelines& timelines, const clock& clock,
          store::cluster_bus* bus = nullptr);

    /// Throws error{validation_failed}.
    post create_post(const user& me, std::string content);
    /// Throws error{not_found} when missing or not visible.
    post get_post(const user& me, std::int64_t post_id);

    /// My posts and the posts of everyone I follow, newest first (keyset on created_at, id),
    /// read from my home timeline (docs/feed.md).
    page<post> feed(const user& me, const page_request& req);
    /// One author's posts, newest first; error{not_found} unless me or followed.
    page<post> user_posts(const user& me, const std::string& username, const page_request& req);

    /// Throws error{not_found | validation_failed}.
    comment add_comment(const user& me, std::int64_t post_id, std::string content);
    /// Oldest first (`newest_first`: newest first, the cursor then goes back in time);
    /// error{not_found} when the post is not visible.
    page<comment> comments(const user& me, std::int64_t post_id, const page_request& req,
                           bool newest_first = false);

  private:
    store::database& db_;
    const timelines& timelines_;
    const clock& clock_;
    store::cluster_bus* bus_;
};

/// The posts of `ids` that exist, in the order of `ids`, whoever wrote them: no visibility
/// rule, so only for administrators' analytics (src/bsocial/analytics). Blocking.
std::vector<post> posts_by_ids(store::database& db, const std::vector<std::int64_t>& ids);

/// For the live pushes (notify::live), on the caller's connection, no visibility rule (the
/// caller sends to the post's audience only): one post, one comment, an author's followers.
std::optional<post> post_by_id(soci::session& sql, std::int64_t id);
std::optional<comment> comment_by_id(soci::session& sql, std::int64_t id);
std::vector<std::int64_t> follower_ids(soci::session& sql, std::int64_t author_id);
/// The post if `me` may see it (wrote it or follows its author now).
std::optional<post> visible_post(soci::session& sql, std::int64_t me, std::int64_t post_id);

}  // namespace bsocial::social
