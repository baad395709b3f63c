#pragma once
// Posts, comments and the feed, with the visibility rule: you see a post only if you
// wrote it or follow its author now. Anything not visible is "not found". Blocking:
// blocking-work pool only. Thread-safe.

#include <boost/json/object.hpp>
#include <optional>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bsocial/core/clock.hpp"
#include "bsocial/social/comment_cache.hpp"
#include "bsocial/social/models.hpp"
#include "bsocial/social/timeline.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::social {

class posts {
  public:
    /// New posts and comments, and deletions, are announced after their commit through
    /// announce_with() (serve: the cluster bus, for every replica's feed caches,
    /// social/feed_bus.hpp, and live pushes, notify::live).
    posts(store::database& db, const timelines& timelines, const clock& clock);

    /// Throws error{validation_failed}.
    post create_post(const user& me, std::string content);
    /// Throws error{not_found} when missing or not visible.
    post get_post(const user& me, std::int64_t post_id);

    /// My posts and the posts of everyone I follow, newest first (keyset on created_at, id),
    /// read from my home timeline (docs/feed.md).
    page<post> feed(const user& me, const page_request& req);
    /// The same page when memory holds all of it (the timeline and its posts cached; on
    /// PostgreSQL the caches kept right by the cluster bus): never blocks, no SQL; nullopt
    /// when the page needs SQL (then call feed()).
    std::optional<page<post>> feed_in_memory(const user& me, const page_request& req) const;
    /// One author's posts, newest first; error{not_found} unless me or followed.
    page<post> user_posts(const user& me, const std::string& username, const page_request& req);

    /// Throws error{not_found | validation_failed}.
    comment add_comment(const user& me, std::int64_t post_id, std::string content);
    /// Oldest first (`newest_first`: newest first, the cursor then goes back in time);
    /// error{not_found} when the post is not visible.
    page<comment> comments(const user& me, std::int64_t post_id, const page_request& req,
                           bool newest_first = false);
    /// The same page when memory holds it (the post's list in `comments`, see
    /// cache_comments_in(), and `me`'s cached timeline says `me` may see the post): never
    /// blocks, no SQL; nullopt when the page needs SQL (then call comments()).
    std::optional<page<comment>> comments_in_memory(const user& me, std::int64_t post_id,
                                                    const page_request& req,
                                                    bool newest_first = false) const;
    /// Keep the comment lists read in `cache` (serve; dropped after each commit that changes
    /// one, and on PostgreSQL across replicas by the cluster bus: social/feed_bus.hpp). None
    /// by default: every list from SQL.
    void cache_comments_in(comment_cache* cache) { comments_ = cache; }

    /// Deletes my post with its comments, their notifications, its timeline entries and
    /// its place in the fan-out queue, and writes post.deleted to the outbox, in one
    /// transaction; then drops it from the caches and announces it. error{not_found} when
    /// it does not exist or is not mine (a second delete too).
    void delete_post(const user& me, std::int64_t post_id);
    /// Deletes my comment and its notification, lowers the post's count, writes
    /// comment.deleted to the outbox; error{not_found} when missing or not mine.
    void delete_comment(const user& me, std::int64_t comment_id);

    /// Called after a deletion commits, with a cluster-bus topic ("post.deleted",
    /// "comment.deleted", also "post.created", "comment.created") and its JSON payload:
    /// serve publishes it to every replica, where the feed caches' subscribers
    /// (social/feed_bus.hpp) and the live pushes (notify::live) take it. Set before
    /// serving; none by default.
    using announcer = std::function<void(std::string_view topic, const std::string& payload)>;
    void announce_with(announcer a) { announce_ = std::move(a); }
    /// Called in a deletion's transaction after notifications of (recipient, post) were
    /// deleted: serve passes notify::notification_store::refresh_group, which summarises
    /// that notification group again (or removes it). None by default (unit tests).
    using notification_refresher =
        std::function<void(soci::session& sql, std::int64_t user_id, std::int64_t post_id)>;
    void refresh_notifications_with(notification_refresher f) {
        refresh_notifications_ = std::move(f);
    }

    /// PostgreSQL, timelines in the tables: called after a post's statement, on its
    /// connection, with how many posts wait for the fan-out (an estimate): serve passes
    /// timeline_fanout::relieve (backpressure: over the max backlog, the request fans out a
    /// batch before its 201). Must not throw. None by default.
    using backlog_reliever = std::function<void(soci::session& sql, std::int64_t queued)>;
    void relieve_backlog_with(backlog_reliever f) { relieve_backlog_ = std::move(f); }

  private:
    void announce(std::string_view topic, const boost::json::object& payload) const;
    void announce(std::string_view topic, const std::string& payload) const;

    store::database& db_;
    const timelines& timelines_;
    const clock& clock_;
    announcer announce_;
    notification_refresher refresh_notifications_;
    backlog_reliever relieve_backlog_;
    comment_cache* comments_ = nullptr;
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
