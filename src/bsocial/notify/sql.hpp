#pragma once
// Every SQL statement of the notify module, in one place: the `notifications` table
// (notifications.cpp) with its one column list, and the check of a comment event
// against the stored comment (consumer.cpp). The open-socket revocation query stays
// with the sessions it reads (hub.cpp).

namespace bsocial::notify {

// ---- notifications (notifications.cpp) ----
inline constexpr const char* insert_notification_sql =
    "INSERT INTO notifications (user_id, comment_id, post_id, actor_id, actor_username, excerpt,"
    " created_at) VALUES (:user_id, :comment_id, :post_id, :actor_id, :actor_username, :excerpt,"
    " :created_at) ON CONFLICT (comment_id) DO NOTHING RETURNING id";

/// The one column list of `notifications`, in the order bind_notification binds it.
#define BSOCIAL_NOTIFICATION_COLUMNS                                                    \
    "id, user_id, comment_id, post_id, actor_id, actor_username, excerpt, created_at, " \
    "delivered_at"

// One UPDATE ... RETURNING: atomic per row on both databases (PostgreSQL re-checks
// delivered_at after waiting for a concurrent claim's row lock; SQLite serialises writers).
inline constexpr const char* claim_sql =
    "UPDATE notifications SET delivered_at = :now"
    " WHERE user_id = :user_id AND delivered_at IS NULL"
    " RETURNING " BSOCIAL_NOTIFICATION_COLUMNS;
inline constexpr const char* undelivered_sql =
    "SELECT " BSOCIAL_NOTIFICATION_COLUMNS
    " FROM notifications"
    " WHERE user_id = :user_id AND delivered_at IS NULL ORDER BY id";
/// Followed by the ids, comma-separated, and ")": integers formatted by the store.
inline constexpr const char* acknowledge_many_sql_head =
    "UPDATE notifications SET delivered_at = :now"
    " WHERE user_id = :user_id AND delivered_at IS NULL AND id IN (";
inline constexpr const char* history_page_sql =
    "SELECT " BSOCIAL_NOTIFICATION_COLUMNS
    " FROM notifications"
    " WHERE user_id = :user_id AND id < :before_id ORDER BY id DESC LIMIT :limit";
inline constexpr const char* undelivered_after_sql =
    "SELECT " BSOCIAL_NOTIFICATION_COLUMNS
    " FROM notifications"
    " WHERE id > :after_id AND delivered_at IS NULL ORDER BY id LIMIT :limit";
inline constexpr const char* undelivered_among_sql_head =
    "SELECT " BSOCIAL_NOTIFICATION_COLUMNS
    " FROM notifications WHERE delivered_at IS NULL AND id IN (";
inline constexpr const char* pg_notify_sql = "SELECT pg_notify(:channel, :payload)";
inline constexpr const char* max_id_sql = "SELECT COALESCE(MAX(id), 0) FROM notifications";

// ---- the comment consumer (consumer.cpp) ----
// The comment as stored, with the author of its post and its commenter's username, when
// that comment, post and commenter exist.
/// No row when the comment was deleted (or never existed): the event is skipped, never
/// parked. PostgreSQL holds the comment's row until the notification commits, so a
/// deletion either comes first (no row here) or waits and then deletes the notification.
#define BSOCIAL_STORED_COMMENT_SQL                                                \
    "SELECT p.user_id, u.username, c.content, c.created_at FROM comments c"       \
    " JOIN posts p ON p.id = c.post_id JOIN users u ON u.id = c.user_id"          \
    " WHERE c.id = :comment_id AND c.post_id = :post_id AND c.user_id = :user_id"
inline constexpr const char* stored_comment_sql = BSOCIAL_STORED_COMMENT_SQL;
inline constexpr const char* stored_comment_postgresql_sql =
    BSOCIAL_STORED_COMMENT_SQL " FOR SHARE OF c";
#undef BSOCIAL_STORED_COMMENT_SQL

// A message given up on after bounded retries of a permanent database error (consumer.cpp).
inline constexpr const char* park_message_sql =
    "INSERT INTO parked_messages (consumer, topic, kafka_partition, kafka_offset, reason, payload,"
    " parked_at) VALUES (:consumer, :topic, :partition, :offset, :reason, :payload, :parked_at)"
    " ON CONFLICT (consumer, topic, kafka_partition, kafka_offset) DO NOTHING";

}  // namespace bsocial::notify
