#pragma once
// Posts, comments and the feed, with the visibility rule: you see a post only if you
// wrote it or follow its author now. Anything not visible is "not found". Blocking:
// blocking-work pool only. Thread-safe.

#include <cstdint>
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
    /// With `bus`, new posts and comments are announced to the other replicas' feed
    /// caches (social/feed_bus.hpp).
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
    /// Oldest first; error{not_found} when the post is not visible.
    page<comment> comments(const user& me, std::int64_t post_id, const page_request& req);

  private:
    store::database& db_;
    const timelines& timelines_;
    const clock& clock_;
    store::cluster_bus* bus_;
};

/// The posts of `ids` that exist, in the order of `ids`, whoever wrote them: no visibility
/// rule, so only for administrators' analytics (src/bsocial/analytics). Blocking.
std::vector<post> posts_by_ids(store::database& db, const std::vector<std::int64_t>& ids);

}  // namespace bsocial::social
