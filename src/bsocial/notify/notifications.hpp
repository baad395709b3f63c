#pragma once
// The notifications table: written by the notifier's consumer (one row per comment on
// someone else's post), read and marked delivered by claim, history and WebSocket acks.
// Blocking SQL: call from the blocking-work pool or a consumer thread. Thread-safe.
//
// Wake-ups: a stored notification wakes the pushers (notify::hub) instead of waiting for
// their poll. On PostgreSQL add() sends NOTIFY on `notification_channel` inside the
// storing transaction (delivered to every LISTENing process at commit); the writer calls
// announce_committed() after its commit, which wakes the hubs of this process and, on
// SQLite, those of other processes on the same file (docs/notifications.md).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bsocial/social/models.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::notify {

struct notification {
    std::int64_t id = 0;
    std::int64_t user_id = 0;  ///< the recipient: the post's author
    std::int64_t comment_id = 0;
    std::int64_t post_id = 0;
    std::int64_t actor_id = 0;
    std::string actor_username;
    std::string excerpt;
    std::int64_t created_at = 0;  ///< the comment's time, ms
    std::optional<std::int64_t> delivered_at;
    std::string post_excerpt;  ///< post_excerpt_of(the post's text)
};

/// All notifications of one recipient about one post, summarised (notification_groups).
struct notification_group {
    struct actor {
        std::int64_t id = 0;
        std::string username;
    };
    std::int64_t post_id = 0;
    std::string post_excerpt;
    std::int64_t total = 0;        ///< notifications (comments by others) in the group
    std::int64_t unread = 0;       ///< of those, not read yet
    std::int64_t actor_count = 0;  ///< distinct commenters
    std::vector<actor> recent_actors;  ///< up to 3, newest first
    std::int64_t latest_at = 0;    ///< ms
    std::int64_t latest_id = 0;
};

struct unread_counts {
    std::int64_t groups = 0;         ///< groups with something unread (the web badge)
    std::int64_t notifications = 0;  ///< unread notifications in them
};

/// What a comment.created event says, as far as notifications care.
struct comment_event {
    std::int64_t comment_id = 0;
    std::int64_t post_id = 0;
    std::int64_t post_author_id = 0;
    std::int64_t commenter_id = 0;
    std::string commenter_username;
    std::string content;
    std::int64_t created_at = 0;
    std::string post_content;  ///< the post's text (the consumer reads it with the comment)
};

/// First 100 code points of a comment, with an ellipsis when cut.
std::string excerpt_of(const std::string& content);

/// A post named in one line: whitespace runs become one space, and a text longer than
/// `max_points` code points is cut to at most that many (at a space among the last 20
/// when there is one, never inside a character: combining marks, variation selectors,
/// emoji modifiers, ZWJ sequences and flag pairs stay whole, which may exceed the limit by
/// the few code points of the last one) with "…" appended.
std::string post_excerpt_of(std::string_view content, std::size_t max_points = 80);

/// PostgreSQL channel of the wake-ups; payload "<recipient id>:<notification id>".
inline constexpr const char* notification_channel = "bsocial_notifications";

class notification_store {
  public:
    explicit notification_store(store::database& db);
    /// Over `pool` instead of the request pool (the hub's own connection).
    notification_store(store::database& db, store::session_pool& pool);

    /// Stores the notification for `e` unless the commenter is the post's author. A
    /// redelivered event (same comment id) changes nothing. Returns true when a row was
    /// added. Runs in the caller's session so a consumer can batch in one transaction.
    /// On PostgreSQL, also NOTIFY `notification_channel` (sent when the caller commits).
    static bool add(soci::session& sql, const comment_event& e);

    /// Summarises the group of (recipient `user_id`, `post_id`) again from its
    /// notifications: call it in the transaction that deleted some of them (a deleted
    /// comment or post). No notification left: the group is removed. Unread are those
    /// after the group was last marked read. Costs one range of notifications_by_post.
    static void refresh_group(soci::session& sql, std::int64_t user_id, std::int64_t post_id);

    /// Call after committing a transaction in which add() returned true: wakes every
    /// listener registered in this process (each hub, which on SQLite passes the wake-up on
    /// to the other processes). Cheap, thread-safe, never throws.
    static void announce_committed() noexcept;
    /// Registers a wake-up listener (called from announce_committed()); returns its handle.
    static int listen_committed(std::function<void()> listener);
    static void unlisten_committed(int handle);

    /// Every undelivered notification of `user_id`, oldest first, marked delivered in the
    /// same statement: two concurrent claims never return the same notification.
    std::vector<notification> claim(std::int64_t user_id, std::int64_t now_ms);

    /// Undelivered ones, oldest first, without marking them (what a new socket receives).
    std::vector<notification> undelivered(std::int64_t user_id);

    /// WebSocket acks: marks those of `ids` that are the user's and undelivered as
    /// delivered, in ONE write transaction (the acks a socket sent while its previous
    /// batch was written). At most a few hundred ids. Returns how many rows changed.
    int acknowledge_many(std::int64_t user_id, const std::vector<std::int64_t>& ids,
                         std::int64_t now_ms);

    /// History, newest first, keyset on id.
    social::page<notification> history(std::int64_t user_id, const social::page_request& req);

    /// Undelivered notifications with id > after_id, in id order (the push loop's feed).
    std::vector<notification> undelivered_after(std::int64_t after_id, int limit);

    /// Undelivered ones among `ids` (any order, at most a few hundred), in id order.
    std::vector<notification> undelivered_among(const std::vector<std::int64_t>& ids);

    /// The caller's groups, most recently active first, keyset on (latest_at, post_id):
    /// one range of the index notification_groups_by_latest.
    social::page<notification_group> groups(std::int64_t user_id,
                                            const social::page_request& req);

    /// Marks read the group of `post_id`, or every group when nullopt. Returns how many
    /// groups changed. Reading is not delivery: delivered_at is left alone.
    int mark_read(std::int64_t user_id, std::optional<std::int64_t> post_id);

    unread_counts unread(std::int64_t user_id);

    /// The highest id so far (0 when empty).
    std::int64_t max_id();

  private:
    store::database& db_;
    store::session_pool& pool_;
};

}  // namespace bsocial::notify
