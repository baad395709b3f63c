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
};

/// First 100 code points of a comment, with an ellipsis when cut.
std::string excerpt_of(const std::string& content);

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

    /// The highest id so far (0 when empty).
    std::int64_t max_id();

  private:
    store::database& db_;
    store::session_pool& pool_;
};

}  // namespace bsocial::notify
