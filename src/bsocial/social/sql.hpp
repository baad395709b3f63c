#pragma once
// Every SQL statement of the social module (posts, graph, timelines, fan-out), in one
// place, with one column list per table read into a model (BSOCIAL_POST_COLUMNS,
// BSOCIAL_USER_COLUMNS; bound by post_rows.hpp and user_rows.hpp in that order). The
// code that runs them is in posts.cpp, graph.cpp, timeline.cpp and fanout.cpp. Accounts
// and sessions keep theirs beside them (accounts.cpp).

namespace bsocial::social {

/// posts aliased `p`, their author `u`: what detail::bind_post binds, in order.
#define BSOCIAL_POST_COLUMNS                                                            \
    "p.id, p.user_id, u.username, u.first_name, u.last_name, p.content, p.created_at, " \
    "p.comment_count"
/// users aliased `u`: what detail::bind_user binds, in order.
#define BSOCIAL_USER_COLUMNS "u.id, u.username, u.email, u.first_name, u.last_name, u.created_at"

// ---- accounts: registration and credentials (accounts.cpp) ----
inline constexpr const char* count_username_sql =
    "SELECT COUNT(*) FROM users WHERE username = :u";
inline constexpr const char* count_email_sql = "SELECT COUNT(*) FROM users WHERE email = :e";
inline constexpr const char* insert_user_sql =
    "INSERT INTO users (username, email, first_name, last_name, password_hash, created_at)"
    " VALUES (:username, :email, :first_name, :last_name, :password_hash, :created_at)"
    " RETURNING id";
/// The users column list, then the password hash.
inline constexpr const char* find_login_by_username_sql =
    "SELECT " BSOCIAL_USER_COLUMNS ", u.password_hash FROM users u WHERE u.username = :login";
inline constexpr const char* find_login_by_email_sql =
    "SELECT " BSOCIAL_USER_COLUMNS ", u.password_hash FROM users u WHERE u.email = :login";
inline constexpr const char* find_user_by_username_sql =
    "SELECT " BSOCIAL_USER_COLUMNS " FROM users u WHERE u.username = :u";

// ---- posts and comments (posts.cpp) ----
inline constexpr const char* insert_post_sql =
    "INSERT INTO posts (user_id, content, created_at, comment_count)"
    " VALUES (:user_id, :content, :created_at, 0) RETURNING id";
/// PostgreSQL, timelines in the tables: a new post, its fan-out queue row and its outbox
/// event in one statement (one round trip, autocommitted: atomic like the transaction of
/// three INSERTs it replaces). The event's payload is the envelope written around the id
/// the INSERT gives: :payload_head || id || :payload_tail (posts.cpp). Parameters, in
/// order: user_id, content, created_at, author_id, queued_at, event_id, topic, event_type,
/// payload_head, payload_tail, occurred_at. Returns the id and how many posts wait for the
/// fan-out before it, estimated from ids (the oldest queued post's: one primary-key probe;
/// ids of deleted or parked posts count too), for the backpressure (fanout.hpp relieve).
inline constexpr const char* create_post_postgresql_sql =
    "WITH p AS (INSERT INTO posts (user_id, content, created_at, comment_count)"
    " VALUES (:user_id, :content, :created_at, 0) RETURNING id),"
    " q AS (INSERT INTO timeline_fanout (post_id, author_id, created_at)"
    " SELECT p.id, CAST(:author_id AS BIGINT), CAST(:queued_at AS BIGINT) FROM p),"
    " o AS (INSERT INTO outbox (event_id, topic, event_key, event_type, payload, created_at)"
    " SELECT CAST(:event_id AS TEXT), CAST(:topic AS TEXT), CAST(p.id AS TEXT),"
    " CAST(:event_type AS TEXT),"
    " CAST(:payload_head AS TEXT) || CAST(p.id AS TEXT) || CAST(:payload_tail AS TEXT),"
    " CAST(:occurred_at AS BIGINT) FROM p)"
    " SELECT p.id, p.id - COALESCE((SELECT MIN(post_id) FROM timeline_fanout), p.id) FROM p";
/// The same with the timelines in memory (BSOCIAL_FEED_POSTGRESQL_TIMELINES=memory): no
/// fan-out queue, nothing queued.
inline constexpr const char* create_post_in_memory_postgresql_sql =
    "WITH p AS (INSERT INTO posts (user_id, content, created_at, comment_count)"
    " VALUES (:user_id, :content, :created_at, 0) RETURNING id),"
    " o AS (INSERT INTO outbox (event_id, topic, event_key, event_type, payload, created_at)"
    " SELECT CAST(:event_id AS TEXT), CAST(:topic AS TEXT), CAST(p.id AS TEXT),"
    " CAST(:event_type AS TEXT),"
    " CAST(:payload_head AS TEXT) || CAST(p.id AS TEXT) || CAST(:payload_tail AS TEXT),"
    " CAST(:occurred_at AS BIGINT) FROM p)"
    " SELECT p.id, CAST(0 AS BIGINT) FROM p";
inline constexpr const char* insert_comment_sql =
    "INSERT INTO comments (post_id, user_id, content, created_at)"
    " VALUES (:post_id, :user_id, :content, :created_at) RETURNING id";
inline constexpr const char* bump_comment_count_sql =
    "UPDATE posts SET comment_count = comment_count + 1 WHERE id = :post_id"
    " RETURNING comment_count";

// Visible = I wrote it, or I follow its author now.
inline constexpr const char* select_visible_post_sql =
    "SELECT " BSOCIAL_POST_COLUMNS
    " FROM posts p JOIN users u ON u.id = p.user_id"
    " WHERE p.id = :post_id AND (p.user_id = :me OR EXISTS ("
    "  SELECT 1 FROM follows f WHERE f.follower_id = :me2 AND f.followee_id = p.user_id))";

// Any post by id, whoever may see it: administrators' analytics only (posts_by_ids).
inline constexpr const char* select_post_by_id_sql =
    "SELECT " BSOCIAL_POST_COLUMNS " FROM posts p JOIN users u ON u.id = p.user_id WHERE p.id = :id";

inline constexpr const char* user_posts_page_sql =
    "SELECT " BSOCIAL_POST_COLUMNS
    " FROM posts p JOIN users u ON u.id = p.user_id"
    " WHERE p.user_id = :author_id AND (p.created_at, p.id) < (:before_created_at, :before_id)"
    " ORDER BY p.created_at DESC, p.id DESC LIMIT :limit";

inline constexpr const char* is_following_sql =
    "SELECT COUNT(*) FROM follows WHERE follower_id = :me AND followee_id = :author_id";

inline constexpr const char* comments_page_sql =
    "SELECT c.id, c.post_id, c.user_id, u.username, u.first_name, u.last_name, c.content,"
    " c.created_at FROM comments c JOIN users u ON u.id = c.user_id"
    " WHERE c.post_id = :post_id AND (c.created_at, c.id) > (:after_created_at, :after_id)"
    " ORDER BY c.created_at, c.id LIMIT :limit";
/// The same, newest first (GET .../comments?order=newest: the newest in one request).
inline constexpr const char* comments_newest_page_sql =
    "SELECT c.id, c.post_id, c.user_id, u.username, u.first_name, u.last_name, c.content,"
    " c.created_at FROM comments c JOIN users u ON u.id = c.user_id"
    " WHERE c.post_id = :post_id AND (c.created_at, c.id) < (:before_created_at, :before_id)"
    " ORDER BY c.created_at DESC, c.id DESC LIMIT :limit";
/// One comment by id, whoever may see it (the live pushes: notify::live picks the audience).
inline constexpr const char* select_comment_by_id_sql =
    "SELECT c.id, c.post_id, c.user_id, u.username, u.first_name, u.last_name, c.content,"
    " c.created_at FROM comments c JOIN users u ON u.id = c.user_id WHERE c.id = :id";
/// Who follows an author (index follows_by_followee): the audience of a live post.
inline constexpr const char* select_follower_ids_sql =
    "SELECT follower_id FROM follows WHERE followee_id = :author";

// ---- deletion (posts.cpp; docs/feed.md "Deletion"): hard deletes, in one transaction ----
// The post, if it is mine. PostgreSQL locks its row first: a comment being added (which
// updates the post's count before inserting) waits, then finds no post; a comment being
// deleted locks it in the same order (post row, then comment row).
inline constexpr const char* own_post_sqlite_sql =
    "SELECT created_at FROM posts WHERE id = :id AND user_id = :me";
inline constexpr const char* own_post_postgresql_sql =
    "SELECT created_at FROM posts WHERE id = :id AND user_id = :me FOR UPDATE";
// Out of the fan-out queue. PostgreSQL: when a worker has claimed it, this waits for the
// worker's commit (its timeline entries are then visible to the deletes below).
inline constexpr const char* unqueue_post_sql = "DELETE FROM timeline_fanout WHERE post_id = :id";
inline constexpr const char* unpark_post_sql =
    "DELETE FROM timeline_fanout_parked WHERE post_id = :id";
// Its timeline entries: only its author's and their followers' timelines can hold it (an
// unfollow removes the author's entries), one primary-key probe each.
inline constexpr const char* remove_post_entries_sql =
    "DELETE FROM home_timeline WHERE created_at = :at AND post_id = :id AND user_id IN ("
    " SELECT follower_id FROM follows WHERE followee_id = :author UNION ALL SELECT :author2)";
// The notifications table is notify's (notify/notifications.hpp); its rows name the
// comment and the post, and go with them. All of a post's are its author's
// (notifications_by_post: user_id, post_id); their group is then summarised again by notify
// (posts::refresh_notifications_with).
inline constexpr const char* delete_post_notifications_sql =
    "DELETE FROM notifications WHERE user_id = :author AND post_id = :id";
inline constexpr const char* delete_post_comments_sql = "DELETE FROM comments WHERE post_id = :id";
inline constexpr const char* delete_post_sql = "DELETE FROM posts WHERE id = :id";
// The comment, if it is mine, with its post's author.
inline constexpr const char* own_comment_sql =
    "SELECT c.post_id, p.user_id FROM comments c JOIN posts p ON p.id = c.post_id"
    " WHERE c.id = :id AND c.user_id = :me";
inline constexpr const char* drop_comment_count_sql =
    "UPDATE posts SET comment_count = comment_count - 1 WHERE id = :post_id"
    " RETURNING comment_count";
inline constexpr const char* delete_comment_sql =
    "DELETE FROM comments WHERE id = :id AND user_id = :me RETURNING id";
inline constexpr const char* delete_comment_notification_sql =
    "DELETE FROM notifications WHERE comment_id = :id";

// ---- the follow graph and people search (graph.cpp) ----
inline constexpr const char* insert_follow_sql =
    "INSERT INTO follows (follower_id, followee_id, created_at) VALUES (:follower, :followee, :at)"
    " ON CONFLICT (follower_id, followee_id) DO NOTHING RETURNING follower_id";
inline constexpr const char* delete_follow_sql =
    "DELETE FROM follows WHERE follower_id = :follower AND followee_id = :followee"
    " RETURNING follower_id";
inline constexpr const char* profile_counts_sql =
    "SELECT (SELECT COUNT(*) FROM follows WHERE followee_id = :id1),"
    " (SELECT COUNT(*) FROM follows WHERE follower_id = :id2),"
    " (SELECT COUNT(*) FROM follows WHERE follower_id = :me AND followee_id = :id3)";

// User lists: ordered by username, keyset on username; the caller binds the filter
// parameters, list() appends (:after, :limit).
inline constexpr const char* followers_page_sql =
    "SELECT " BSOCIAL_USER_COLUMNS
    " FROM follows f JOIN users u ON u.id = f.follower_id"
    " WHERE f.followee_id = :user_id AND u.username > :after"
    " ORDER BY u.username LIMIT :limit";
inline constexpr const char* following_page_sql =
    "SELECT " BSOCIAL_USER_COLUMNS
    " FROM follows f JOIN users u ON u.id = f.followee_id"
    " WHERE f.follower_id = :user_id AND u.username > :after"
    " ORDER BY u.username LIMIT :limit";
// A range of the username index, [from, to): `from` is the prefix (or just past the
// cursor's username), `to` the prefix with its last character incremented (graph.cpp).
// Both databases compare usernames byte by byte (SQLite: BINARY; PostgreSQL: the column
// is COLLATE "C" since migration 6), so the range holds exactly the names that start with
// the prefix. (substr() = :prefix, before issue 24, could not use the index: every
// search read every username.) Never LIKE: '_' and '%' in a prefix stay plain characters.
inline constexpr const char* search_page_sql =
    "SELECT " BSOCIAL_USER_COLUMNS
    " FROM users u WHERE u.username >= :from AND u.username < :to"
    " ORDER BY u.username LIMIT :limit";

// ---- home timelines: fan-out on write, horizon, backfill (timeline.cpp) ----
inline constexpr const char* is_celebrity_sql =
    "SELECT COUNT(*) FROM celebrities WHERE user_id = :id";
inline constexpr const char* make_celebrity_sql =
    "INSERT INTO celebrities (user_id, since) VALUES (:id, :at) ON CONFLICT (user_id) DO NOTHING";
inline constexpr const char* followers_up_to_sql =
    "SELECT COUNT(*) FROM (SELECT 1 FROM follows WHERE followee_id = :id LIMIT :most) c";

inline constexpr const char* fan_out_sql =
    "INSERT INTO home_timeline (user_id, created_at, post_id, author_id)"
    " SELECT f.follower_id, :created_at, :post_id, :author_id FROM follows f"
    " WHERE f.followee_id = :author_id2 ON CONFLICT DO NOTHING";
// The fan-out worker's queue (social/fanout.hpp).
// Timelines in memory or in the tables (feed_storage.cpp): while they are in memory,
// home_timeline_stale has a row; back in the tables, they start again from empty, every
// user's horizon at the newest post (as when the tables were created: migration 3).
inline constexpr const char* timelines_stale_sql = "SELECT COUNT(*) FROM home_timeline_stale";
inline constexpr const char* mark_timelines_stale_sql =
    "INSERT INTO home_timeline_stale (since) VALUES (:now)";
inline constexpr const char* reset_timelines_sql[] = {
    "DELETE FROM home_timeline",
    "DELETE FROM timeline_fanout",
    "DELETE FROM home_timeline_state",
    "INSERT INTO home_timeline_state (user_id, horizon_created_at, horizon_post_id)"
    " SELECT u.id, m.created_at, m.id FROM users u,"
    " (SELECT created_at, id FROM posts ORDER BY created_at DESC, id DESC LIMIT 1) m",
    "DELETE FROM home_timeline_stale",
};
// In-memory timelines (timeline_cache.hpp): whose cached timelines a new post goes to.
inline constexpr const char* followers_of_sql =
    "SELECT follower_id FROM follows WHERE followee_id = :author_id";
// Cached timelines over the tables (PostgreSQL): whose posts a cached timeline takes.
inline constexpr const char* followees_of_sql =
    "SELECT followee_id FROM follows WHERE follower_id = :user_id";
/// Startup warming (timelines::warm): whom each of a set of users follows, the list of
/// follower ids appended ("?, ?, ...)" by the caller, padded to a fixed length).
inline constexpr const char* followees_of_users_head_sql =
    "SELECT follower_id, followee_id FROM follows WHERE follower_id IN (";
inline constexpr const char* queue_fan_out_sql =
    "INSERT INTO timeline_fanout (post_id, author_id, created_at)"
    " VALUES (:post_id, :author_id, :created_at)";
// Authors see their own posts in their own timeline.
inline constexpr const char* own_entry_sql =
    "INSERT INTO home_timeline (user_id, created_at, post_id, author_id)"
    " VALUES (:author_id, :created_at, :post_id, :author_id2) ON CONFLICT DO NOTHING";
inline constexpr const char* followers_to_trim_sql =
    "SELECT f.follower_id FROM follows f"
    " WHERE f.followee_id = :author_id AND (f.follower_id + :post_id) % :every = 0";

// The followee's newest posts above the follower's horizon.
inline constexpr const char* backfill_sql =
    "INSERT INTO home_timeline (user_id, created_at, post_id, author_id)"
    " SELECT :follower_id, b.created_at, b.id, b.user_id FROM ("
    "  SELECT r.created_at, r.id, r.user_id FROM posts r WHERE r.user_id = :followee_id"
    "  AND (r.created_at, r.id) > (:h_at, :h_id)"
    "  ORDER BY r.created_at DESC, r.id DESC LIMIT :capacity) b"
    " WHERE true ON CONFLICT DO NOTHING";
// The followee's post just below the ones backfill copied, if any.
inline constexpr const char* backfill_edge_sql =
    "SELECT r.created_at, r.id FROM posts r WHERE r.user_id = :followee_id"
    " AND (r.created_at, r.id) > (:h_at, :h_id)"
    " ORDER BY r.created_at DESC, r.id DESC LIMIT 1 OFFSET :capacity";
inline constexpr const char* remove_author_sql =
    "DELETE FROM home_timeline WHERE user_id = :user_id AND author_id = :author_id";

inline constexpr const char* horizon_sql =
    "SELECT horizon_created_at, horizon_post_id FROM home_timeline_state WHERE user_id = :id";
inline constexpr const char* raise_horizon_sql =
    "INSERT INTO home_timeline_state (user_id, horizon_created_at, horizon_post_id)"
    " VALUES (:id, :at, :post_id) ON CONFLICT (user_id) DO UPDATE"
    " SET horizon_created_at = excluded.horizon_created_at,"
    " horizon_post_id = excluded.horizon_post_id"
    " WHERE (excluded.horizon_created_at, excluded.horizon_post_id) >"
    " (home_timeline_state.horizon_created_at, home_timeline_state.horizon_post_id)";
inline constexpr const char* drop_below_horizon_sql =
    "DELETE FROM home_timeline WHERE user_id = :id AND (created_at, post_id) <= (:at, :post_id)";
// The newest entry beyond the capacity: it and everything older go.
inline constexpr const char* entry_beyond_capacity_sql =
    "SELECT created_at, post_id FROM home_timeline WHERE user_id = :id"
    " ORDER BY created_at DESC, post_id DESC LIMIT 1 OFFSET :capacity";

// Below the horizon (a short page): the horizon, and how many I follow (up to :most), in
// one round trip. No row: the timeline is complete.
inline constexpr const char* horizon_and_followees_sql =
    "SELECT h.horizon_created_at, h.horizon_post_id, (SELECT COUNT(*) FROM (SELECT 1 FROM"
    " follows WHERE follower_id = :id LIMIT :most) c) FROM home_timeline_state h"
    " WHERE h.user_id = :id2";
inline constexpr const char* followees_up_to_sql =
    "SELECT COUNT(*) FROM (SELECT 1 FROM follows WHERE follower_id = :id LIMIT :most) c";
// A stretch of everyone's posts, newest first from `from` (posts_by_time), each marked
// 1 when it is mine or its author is followed by me.
inline constexpr const char* posts_walk_sql =
    "SELECT w.id, w.created_at, CASE WHEN w.user_id = :me OR EXISTS (SELECT 1 FROM follows f"
    " WHERE f.follower_id = :me2 AND f.followee_id = w.user_id) THEN 1 ELSE 0 END"
    " FROM (SELECT id, created_at, user_id FROM posts WHERE (created_at, id) < (:at, :id)"
    " ORDER BY created_at DESC, id DESC LIMIT :n) w";

// PostgreSQL: serialises the posts, follows and fan-out of one author (lock_author).
inline constexpr const char* lock_author_sql = "SELECT pg_advisory_xact_lock(:key)";
// When someone becomes a celebrity: from when their posts are merged at read time.
inline constexpr const char* newest_post_time_sql =
    "SELECT COALESCE(MAX(created_at), 0) FROM posts";

// ---- the feed read (timeline.cpp; docs/feed.md) ----
// Posts by id, newest first: this head, then "?, ?...) ORDER BY p.created_at DESC, p.id DESC".
inline constexpr const char* posts_by_id_head_sql =
    "SELECT " BSOCIAL_POST_COLUMNS " FROM posts p JOIN users u ON u.id = p.user_id WHERE p.id IN (";
// The feed page above the horizon, in one statement: my timeline's entries, followed
// authors' posts still queued for fan-out, and the posts of the celebrities I follow (at
// most :n each, from posts_by_user_time); the :n newest of them are chosen before the
// join, so only :n rows are looked up in posts and users. The horizon is read inline
// ((-1, -1) when there is none).
inline constexpr const char* feed_page_head =
    "SELECT " BSOCIAL_POST_COLUMNS " FROM (SELECT id, created_at FROM (";
#define BSOCIAL_ABOVE_HORIZON(at, id)                                                     \
    "(" at ", " id                                                                        \
    ") > (COALESCE((SELECT horizon_created_at FROM home_timeline_state"                   \
    " WHERE user_id = ?), -1), COALESCE((SELECT horizon_post_id FROM home_timeline_state" \
    " WHERE user_id = ?), -1))"
inline constexpr const char* feed_page_tail =
    ") c ORDER BY created_at DESC, id DESC LIMIT ?) s"
    " JOIN posts p ON p.id = s.id JOIN users u ON u.id = p.user_id"
    " ORDER BY s.created_at DESC, s.id DESC";
// Timeline entries in (horizon, from). No need to check that I still follow each
// author: an unfollow removes the author's entries in its own transaction, and takes
// the author's lock as posts and follows do (lock_author), so no fan-out can slip an
// entry in behind it.
inline constexpr const char* feed_timeline_arm =
    "SELECT id, created_at FROM (SELECT t.post_id AS id, t.created_at FROM home_timeline t"
    " WHERE t.user_id = ? AND (t.created_at, t.post_id) < (?, ?)"
    " AND " BSOCIAL_ABOVE_HORIZON(
        "t.created_at", "t.post_id") " ORDER BY t.created_at DESC, t.post_id DESC LIMIT ?) a0";
// Posts still queued for the fan-out worker, mine or by someone I follow: the worker is
// a few milliseconds behind, and everyone sees a post as soon as it exists. However deep
// the queue (a burst the worker has not caught up with), newest first from the cursor by
// timeline_fanout_by_time, stopping at the page's size: a page never misses a queued post
// (docs/feed.md). The follow check is one primary-key probe per queued post read.
inline constexpr const char* feed_queue_arm =
    "SELECT id, created_at FROM (SELECT q.post_id AS id, q.created_at FROM timeline_fanout q"
    " WHERE (q.created_at, q.post_id) < (?, ?) AND " BSOCIAL_ABOVE_HORIZON("q.created_at", "q.post_id")
    " AND (q.author_id = ? OR EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = ?"
    "  AND f.followee_id = q.author_id))"
    " ORDER BY q.created_at DESC, q.post_id DESC LIMIT ?) a1";
// The followed celebrities' posts in (horizon, from). SQLite has no LATERAL; a
// correlated IN subquery runs once per celebrity instead. On PostgreSQL the follow check
// sits inside the LATERAL, so it is one primary-key probe per celebrity: written as a
// WHERE EXISTS of the outer query it became a semi-join that read all of my follows rows
// (5,000 for a heavy user: 0.6 ms of every page; docs/feed.md), and it takes `me` before
// the limit.
inline constexpr const char* feed_celebrities_arm_sqlite =
    "SELECT r.id, r.created_at FROM celebrities c JOIN posts r ON r.id IN ("
    "  SELECT r2.id FROM posts r2 WHERE r2.user_id = c.user_id"
    "  AND (r2.created_at, r2.id) < (?, ?) AND " BSOCIAL_ABOVE_HORIZON("r2.created_at", "r2.id")
    "  ORDER BY r2.created_at DESC, r2.id DESC LIMIT ?)"
    " WHERE EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = ? AND f.followee_id = c.user_id)";
inline constexpr const char* feed_celebrities_arm_postgresql =
    "SELECT r.id, r.created_at FROM celebrities c CROSS JOIN LATERAL ("
    "  SELECT r2.id, r2.created_at FROM posts r2 WHERE r2.user_id = c.user_id"
    "  AND (r2.created_at, r2.id) < (?, ?) AND " BSOCIAL_ABOVE_HORIZON("r2.created_at", "r2.id")
    "  AND EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = ? AND f.followee_id = c.user_id)"
    "  ORDER BY r2.created_at DESC, r2.id DESC LIMIT ?) r";
// One author's posts before `from`, from posts_by_user_time.
inline constexpr const char* feed_author_arm =
    "SELECT id, created_at FROM (SELECT r.id, r.created_at FROM posts r WHERE r.user_id = ?"
    " AND (r.created_at, r.id) < (?, ?) ORDER BY r.created_at DESC, r.id DESC LIMIT ?) a";
#undef BSOCIAL_ABOVE_HORIZON
// Every followee's newest :n posts before `from` (one index range each), then mine.
// SQLite has no LATERAL; a correlated IN subquery runs once per follows row instead.
inline constexpr const char* feed_followees_arm_sqlite =
    "SELECT q.id, q.created_at FROM follows f JOIN posts q ON q.id IN ("
    "  SELECT r.id FROM posts r WHERE r.user_id = f.followee_id"
    "  AND (r.created_at, r.id) < (?, ?)"
    "  ORDER BY r.created_at DESC, r.id DESC LIMIT ?)"
    " WHERE f.follower_id = ?";
inline constexpr const char* feed_followees_arm_postgresql =
    "SELECT q.id, q.created_at FROM follows f CROSS JOIN LATERAL ("
    "  SELECT r.id, r.created_at FROM posts r WHERE r.user_id = f.followee_id"
    "  AND (r.created_at, r.id) < (?, ?)"
    "  ORDER BY r.created_at DESC, r.id DESC LIMIT ?) q"
    " WHERE f.follower_id = ?";

// ---- the fan-out worker's queue (fanout.cpp) ----
// Oldest first. PostgreSQL: rows claimed by another instance's worker are skipped.
inline constexpr const char* fanout_claim_sqlite_sql =
    "SELECT post_id, author_id, created_at FROM timeline_fanout ORDER BY post_id LIMIT :n";
inline constexpr const char* fanout_claim_postgresql_sql =
    "SELECT post_id, author_id, created_at FROM timeline_fanout ORDER BY post_id LIMIT :n"
    " FOR UPDATE SKIP LOCKED";
// PostgreSQL: a batch in a few statements whatever its size (fanout.cpp,
// fan_out_batch_postgresql). Arrays are bound as text ('{1,2,3}').
// Claims up to :n queued posts and takes them out of the queue (committed with the fan-out;
// a deletion of one of them waits for that commit, as it waited for the claim before).
// (= ANY of an array, not IN: the claimed ids are found through the primary key whatever
// the planner thinks of the queue's size; an IN became a hash join over a seq scan of the
// whole queue, 0.2 s a batch behind a burst.)
inline constexpr const char* fanout_take_postgresql_sql =
    "DELETE FROM timeline_fanout WHERE post_id = ANY(ARRAY(SELECT post_id FROM timeline_fanout"
    " ORDER BY post_id LIMIT :n FOR UPDATE SKIP LOCKED))"
    " RETURNING post_id, author_id, created_at";
// The authors' locks (timelines::lock_author), in the array's order (sorted by the caller:
// two workers never wait for each other), in one round trip.
inline constexpr const char* lock_authors_sql =
    "SELECT COUNT(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS BIGINT[])) AS k";
// Every post of the batch into its author's timeline and, unless the author is a
// celebrity, its followers'; returns the timelines to trim (one in :every per post, chosen
// by ids, as timelines::fan_out does), each once.
#define BSOCIAL_FAN_OUT_BATCH(ON_CONFLICT)                                                     \
    "WITH q AS (SELECT * FROM unnest(CAST(:posts AS BIGINT[]), CAST(:authors AS BIGINT[]),"    \
    " CAST(:times AS BIGINT[])) AS q(post_id, author_id, created_at)),"                        \
    " ins AS (INSERT INTO home_timeline (user_id, created_at, post_id, author_id)"             \
    "  SELECT q.author_id, q.created_at, q.post_id, q.author_id FROM q"                        \
    "  UNION ALL"                                                                               \
    "  SELECT f.follower_id, q.created_at, q.post_id, q.author_id FROM q"                      \
    "  JOIN follows f ON f.followee_id = q.author_id"                                           \
    "  WHERE NOT EXISTS (SELECT 1 FROM celebrities c WHERE c.user_id = q.author_id)"           \
    "  " ON_CONFLICT "RETURNING user_id, post_id)"                                              \
    " SELECT DISTINCT user_id FROM ins WHERE (user_id + post_id) % :every = 0"
// A plain INSERT: 2 WAL records and one check of the primary key per row, where ON
// CONFLICT DO NOTHING (a speculative insertion: a check, the insert, a confirmation) costs
// 3 and two, 1.4-1.7x the statement's time at 1M posts (docs/feed.md, "The fan-out's rows
// and the mixed workload"). An entry can already be there only when a follow's backfill
// copied the post while it was queued (rare: the follow's lock_author orders it before
// this batch); the batch then fails with a unique violation and is run again with
// fan_out_batch_sql.
inline constexpr const char* fan_out_batch_plain_sql = BSOCIAL_FAN_OUT_BATCH("");
inline constexpr const char* fan_out_batch_sql = BSOCIAL_FAN_OUT_BATCH("ON CONFLICT DO NOTHING ");
#undef BSOCIAL_FAN_OUT_BATCH
// timelines::trim for many users at once: each timeline's entry beyond the capacity
// becomes its horizon (raised, never lowered) and it and everything older go.
inline constexpr const char* trim_batch_sql =
    "WITH edge AS (SELECT t.u, e.created_at, e.post_id"
    " FROM unnest(CAST(:users AS BIGINT[])) AS t(u) CROSS JOIN LATERAL ("
    "  SELECT h.created_at, h.post_id FROM home_timeline h WHERE h.user_id = t.u"
    "  ORDER BY h.created_at DESC, h.post_id DESC LIMIT 1 OFFSET :capacity) e),"
    " raised AS (INSERT INTO home_timeline_state (user_id, horizon_created_at, horizon_post_id)"
    "  SELECT u, created_at, post_id FROM edge ON CONFLICT (user_id) DO UPDATE"
    "  SET horizon_created_at = excluded.horizon_created_at,"
    "  horizon_post_id = excluded.horizon_post_id"
    "  WHERE (excluded.horizon_created_at, excluded.horizon_post_id) >"
    "  (home_timeline_state.horizon_created_at, home_timeline_state.horizon_post_id))"
    " DELETE FROM home_timeline h USING edge WHERE h.user_id = edge.u"
    " AND (h.created_at, h.post_id) <= (edge.created_at, edge.post_id)";
inline constexpr const char* fanout_done_sql =
    "DELETE FROM timeline_fanout WHERE post_id = :post_id";
inline constexpr const char* fanout_backlog_sql = "SELECT COUNT(*) FROM timeline_fanout";
// A post the worker gave up on (a permanent database error, retried): out of the queue,
// kept in timeline_fanout_parked for an operator. Binds (:reason, :parked_at, :post_id).
inline constexpr const char* fanout_park_sql =
    "INSERT INTO timeline_fanout_parked (post_id, author_id, created_at, reason, parked_at)"
    " SELECT post_id, author_id, created_at, :reason, :parked_at FROM timeline_fanout"
    " WHERE post_id = :post_id ON CONFLICT (post_id) DO NOTHING";
inline constexpr const char* fanout_backlog_up_to_sql =
    "SELECT COUNT(*) FROM (SELECT 1 FROM timeline_fanout LIMIT :n) q";

}  // namespace bsocial::social
