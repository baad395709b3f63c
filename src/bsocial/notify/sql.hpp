#pragma once
// Every SQL statement of the notify module, in one place: the `notifications` table
// (notifications.cpp) with its one column list, and the check of a comment event
// against the stored comment (consumer.cpp). The open-socket revocation query stays
// with the sessions it reads (hub.cpp).

namespace bsocial::notify {

// ---- notifications (notifications.cpp) ----
inline constexpr const char* insert_notification_sql =
    "INSERT INTO notifications (user_id, comment_id, post_id, actor_id, actor_username, excerpt,"
    " created_at, post_excerpt) VALUES (:user_id, :comment_id, :post_id, :actor_id,"
    " :actor_username, :excerpt, :created_at, :post_excerpt)"
    " ON CONFLICT (comment_id) DO NOTHING RETURNING id";

/// The one column list of `notifications`, in the order bind_notification binds it.
#define BSOCIAL_NOTIFICATION_COLUMNS                                                    \
    "id, user_id, comment_id, post_id, actor_id, actor_username, excerpt, created_at, " \
    "delivered_at, post_excerpt"

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
// ---- notification groups: one summary row per (recipient, post) (notifications.cpp) ----
// Written with each stored notification, in the same transaction; the grouped listing
// reads one range of notification_groups_by_latest and nothing else.
inline constexpr const char* insert_group_actor_sql =
    "INSERT INTO notification_group_actors (user_id, post_id, actor_id)"
    " VALUES (:user_id, :post_id, :actor_id) ON CONFLICT (user_id, post_id, actor_id) DO NOTHING";
inline constexpr const char* upsert_group_sql =
    "INSERT INTO notification_groups (user_id, post_id, post_excerpt, total, unread, actor_count,"
    " recent_actors, latest_at, latest_id)"
    " VALUES (:user_id, :post_id, :post_excerpt, 1, 1, 1, :recent_actors, :latest_at, :latest_id)"
    " ON CONFLICT (user_id, post_id) DO UPDATE SET"
    " total = notification_groups.total + 1,"
    " unread = notification_groups.unread + 1,"
    " actor_count = notification_groups.actor_count + :new_actor,"
    " latest_at = CASE WHEN excluded.latest_at > notification_groups.latest_at"
    " THEN excluded.latest_at ELSE notification_groups.latest_at END,"
    " latest_id = CASE WHEN excluded.latest_id > notification_groups.latest_id"
    " THEN excluded.latest_id ELSE notification_groups.latest_id END";
// After the upsert (which holds the row's lock on PostgreSQL until commit).
inline constexpr const char* group_recent_actors_sql =
    "SELECT recent_actors FROM notification_groups WHERE user_id = :user_id AND post_id = :post_id";
inline constexpr const char* set_group_recent_actors_sql =
    "UPDATE notification_groups SET recent_actors = :recent_actors"
    " WHERE user_id = :user_id AND post_id = :post_id";

#define BSOCIAL_GROUP_COLUMNS                                                        \
    "post_id, post_excerpt, total, unread, actor_count, recent_actors, latest_at, " \
    "latest_id"
// Keyset (latest_at, post_id) descending: one range of notification_groups_by_latest.
inline constexpr const char* groups_page_sql =
    "SELECT " BSOCIAL_GROUP_COLUMNS
    " FROM notification_groups WHERE user_id = :user_id"
    " AND (latest_at, post_id) < (:before_at, :before_post)"
    " ORDER BY latest_at DESC, post_id DESC LIMIT :limit";
inline constexpr const char* mark_group_read_sql =
    "UPDATE notification_groups SET unread = 0, read_up_to = latest_id"
    " WHERE user_id = :user_id AND post_id = :post_id AND unread > 0";
inline constexpr const char* mark_all_read_sql =
    "UPDATE notification_groups SET unread = 0, read_up_to = latest_id"
    " WHERE user_id = :user_id AND unread > 0";
// refresh_group: one group summarised again from its notifications (notifications_by_post).
inline constexpr const char* group_read_up_to_sql =
    "SELECT read_up_to FROM notification_groups WHERE user_id = :user_id AND post_id = :post_id";
inline constexpr const char* group_recount_sql =
    "SELECT COUNT(*), COUNT(DISTINCT actor_id), COALESCE(MAX(created_at), 0),"
    " COALESCE(MAX(id), 0), CAST(COALESCE(SUM(CASE WHEN id > :read_up_to THEN 1 ELSE 0 END), 0)"
    " AS BIGINT) FROM notifications WHERE user_id = :user_id AND post_id = :post_id";
inline constexpr const char* group_recent_actors_recount_sql =
    "SELECT actor_id, actor_username FROM notifications"
    " WHERE user_id = :user_id AND post_id = :post_id"
    " GROUP BY actor_id, actor_username ORDER BY MAX(id) DESC LIMIT 3";
inline constexpr const char* delete_group_sql =
    "DELETE FROM notification_groups WHERE user_id = :user_id AND post_id = :post_id";
inline constexpr const char* delete_group_actors_sql =
    "DELETE FROM notification_group_actors WHERE user_id = :user_id AND post_id = :post_id";
inline constexpr const char* refill_group_actors_sql =
    "INSERT INTO notification_group_actors (user_id, post_id, actor_id)"
    " SELECT DISTINCT user_id, post_id, actor_id FROM notifications"
    " WHERE user_id = :user_id AND post_id = :post_id";
inline constexpr const char* update_group_sql =
    "UPDATE notification_groups SET total = :total, unread = :unread, actor_count = :actors,"
    " recent_actors = :recent, latest_at = :latest_at, latest_id = :latest_id"
    " WHERE user_id = :user_id AND post_id = :post_id";
// notification_groups_unread is partial (unread > 0): this reads the unread groups only,
// at most 1,000 of them (a badge says "99+" long before; docs/notifications.md).
inline constexpr const char* unread_counts_sql =
    "SELECT COUNT(*), CAST(COALESCE(SUM(unread), 0) AS BIGINT) FROM (SELECT unread"
    " FROM notification_groups WHERE user_id = :user_id AND unread > 0 LIMIT 1000) u";

inline constexpr const char* pg_notify_sql = "SELECT pg_notify(:channel, :payload)";
inline constexpr const char* max_id_sql = "SELECT COALESCE(MAX(id), 0) FROM notifications";

// ---- the comment consumer (consumer.cpp) ----
// The comment as stored, with the author of its post and its commenter's username, when
// that comment, post and commenter exist.
inline constexpr const char* stored_comment_sql =
    "SELECT p.user_id, u.username, c.content, c.created_at, p.content FROM comments c"
    " JOIN posts p ON p.id = c.post_id JOIN users u ON u.id = c.user_id"
    " WHERE c.id = :comment_id AND c.post_id = :post_id AND c.user_id = :user_id";

// A message given up on after bounded retries of a permanent database error (consumer.cpp).
inline constexpr const char* park_message_sql =
    "INSERT INTO parked_messages (consumer, topic, kafka_partition, kafka_offset, reason, payload,"
    " parked_at) VALUES (:consumer, :topic, :partition, :offset, :reason, :payload, :parked_at)"
    " ON CONFLICT (consumer, topic, kafka_partition, kafka_offset) DO NOTHING";

}  // namespace bsocial::notify
