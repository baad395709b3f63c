#include "bsocial/store/migrations.hpp"

#include <soci/soci.h>

#include <chrono>
#include <string>
#include <vector>

#include "bsocial/store/sql.hpp"

namespace bsocial::store {

namespace {

struct migration {
    int version;
    const char* name;
    std::vector<std::string> sqlite;
    std::vector<std::string> postgresql;
};

// Ids: INTEGER PRIMARY KEY is SQLite's 64-bit rowid; PostgreSQL uses an identity bigint.
// Times: BIGINT milliseconds since the epoch (UTC) on both, so keyset comparisons and
// the (created_at, id) indexes behave identically.
std::vector<std::string> core_tables(const std::string& id_column) {
    return {
        "CREATE TABLE users ("
        " id " +
            id_column +
            ","
            " username TEXT NOT NULL UNIQUE,"
            " email TEXT NOT NULL UNIQUE,"
            " first_name TEXT NOT NULL,"
            " last_name TEXT NOT NULL,"
            " password_hash TEXT NOT NULL,"
            " created_at BIGINT NOT NULL)",

        "CREATE TABLE follows ("
        " follower_id BIGINT NOT NULL REFERENCES users(id),"
        " followee_id BIGINT NOT NULL REFERENCES users(id),"
        " created_at BIGINT NOT NULL,"
        " PRIMARY KEY (follower_id, followee_id))",
        "CREATE INDEX follows_by_followee ON follows (followee_id, follower_id)",

        "CREATE TABLE posts ("
        " id " +
            id_column +
            ","
            " user_id BIGINT NOT NULL REFERENCES users(id),"
            " content TEXT NOT NULL,"
            " created_at BIGINT NOT NULL,"
            " comment_count BIGINT NOT NULL DEFAULT 0)",
        // The feed and a user's posts: newest first per author, keyset (created_at, id).
        "CREATE INDEX posts_by_user_time ON posts (user_id, created_at DESC, id DESC)",
        "CREATE INDEX posts_by_time ON posts (created_at DESC, id DESC)",

        "CREATE TABLE comments ("
        " id " +
            id_column +
            ","
            " post_id BIGINT NOT NULL REFERENCES posts(id),"
            " user_id BIGINT NOT NULL REFERENCES users(id),"
            " content TEXT NOT NULL,"
            " created_at BIGINT NOT NULL)",
        "CREATE INDEX comments_by_post_time ON comments (post_id, created_at, id)",

        "CREATE TABLE revoked_tokens ("
        " jti TEXT PRIMARY KEY,"
        " expires_at BIGINT NOT NULL)",
        "CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at)",

        // Transactional outbox: written in the same transaction as the change it reports.
        "CREATE TABLE outbox ("
        " id " +
            id_column +
            ","
            " event_id TEXT NOT NULL UNIQUE,"
            " topic TEXT NOT NULL,"
            " event_key TEXT NOT NULL,"
            " event_type TEXT NOT NULL,"
            " payload TEXT NOT NULL,"
            " created_at BIGINT NOT NULL,"
            " sent_at BIGINT)",
        "CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL",
    };
}

// Notifications written by `bsocial notifier`, one per comment (the UNIQUE comment_id
// makes a redelivered event a no-op), delivered by claim or by a WebSocket ack.
std::vector<std::string> notification_tables(const std::string& id_column) {
    return {
        "CREATE TABLE notifications ("
        " id " +
            id_column +
            ","
            " user_id BIGINT NOT NULL,"
            " comment_id BIGINT NOT NULL UNIQUE,"
            " post_id BIGINT NOT NULL,"
            " actor_id BIGINT NOT NULL,"
            " actor_username TEXT NOT NULL,"
            " excerpt TEXT NOT NULL,"
            " created_at BIGINT NOT NULL,"
            " delivered_at BIGINT)",
        "CREATE INDEX notifications_undelivered ON notifications (user_id, id)"
        " WHERE delivered_at IS NULL",
        "CREATE INDEX notifications_by_user ON notifications (user_id, id DESC)",
    };
}

// Home timelines (docs/feed.md): each user's own newest posts and those of the people
// they follow, written when a post is created (fan-out on write) and capped per user. Entries older
// than a user's horizon were trimmed (or never materialised): the feed reads those from
// the posts themselves. Authors in `celebrities` are never fanned out; their posts are
// merged at read time.
std::vector<std::string> timeline_tables(bool sqlite) {
    const std::string without_rowid = sqlite ? " WITHOUT ROWID" : "";
    return {
        "CREATE TABLE home_timeline ("
        " user_id BIGINT NOT NULL,"
        " created_at BIGINT NOT NULL,"
        " post_id BIGINT NOT NULL,"
        " author_id BIGINT NOT NULL,"
        " PRIMARY KEY (user_id, created_at, post_id))" +
            without_rowid,
        "CREATE TABLE home_timeline_state ("
        " user_id BIGINT PRIMARY KEY,"
        " horizon_created_at BIGINT NOT NULL,"
        " horizon_post_id BIGINT NOT NULL)",
        "CREATE TABLE celebrities ("
        " user_id BIGINT PRIMARY KEY,"
        " since BIGINT NOT NULL)",
        // Posts waiting for the fan-out worker (social/fanout.hpp).
        "CREATE TABLE timeline_fanout ("
        " post_id BIGINT PRIMARY KEY,"
        " author_id BIGINT NOT NULL,"
        " created_at BIGINT NOT NULL)",
        // Existing accounts start with an empty timeline that is complete only above the
        // newest post: anything older is read from the posts (the feed's fallback).
        "INSERT INTO home_timeline_state (user_id, horizon_created_at, horizon_post_id)"
        " SELECT u.id, m.created_at, m.id FROM users u,"
        " (SELECT created_at, id FROM posts ORDER BY created_at DESC, id DESC LIMIT 1) m",
    };
}

std::vector<std::string> account_role_tables() {
    return {
        "CREATE TABLE account_roles ("
        " user_id BIGINT NOT NULL REFERENCES users(id),"
        " role TEXT NOT NULL CHECK (role IN ('admin')),"
        " granted_at BIGINT NOT NULL,"
        " PRIMARY KEY (user_id, role))",
        "CREATE TABLE admin_bootstrap ("
        " username TEXT PRIMARY KEY,"
        " user_id BIGINT REFERENCES users(id),"
        " decided_at BIGINT NOT NULL)",
    };
}

std::vector<std::string> parked_tables() {
    return {
        "CREATE TABLE parked_messages ("
        " consumer TEXT NOT NULL,"
        " topic TEXT NOT NULL,"
        " kafka_partition INTEGER NOT NULL,"
        " kafka_offset BIGINT NOT NULL,"
        " reason TEXT NOT NULL,"
        " payload TEXT NOT NULL,"
        " parked_at BIGINT NOT NULL,"
        " PRIMARY KEY (consumer, topic, kafka_partition, kafka_offset))",
        "CREATE TABLE timeline_fanout_parked ("
        " post_id BIGINT PRIMARY KEY,"
        " author_id BIGINT NOT NULL,"
        " created_at BIGINT NOT NULL,"
        " reason TEXT NOT NULL,"
        " parked_at BIGINT NOT NULL)",
    };
}

// Deletion (issue 27). SQLite gives a new row the largest rowid + 1, so deleting the newest
// post or comment would hand its id to the next one: a URL, a cached page or a Kafka
// consumer that saw "post 42 deleted" would then take the new post 42 for the old. Posts and
// comments are rebuilt with AUTOINCREMENT (ids only grow; foreign keys are not enforced on
// SQLite here, so the copy keeps every id and reference). PostgreSQL identities never reuse.
std::vector<std::string> deletion_tables(bool sqlite) {
    std::vector<std::string> ddl;
    if (sqlite) {
        ddl = {
            "CREATE TABLE posts_v9 (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " user_id BIGINT NOT NULL REFERENCES users(id), content TEXT NOT NULL,"
            " created_at BIGINT NOT NULL, comment_count BIGINT NOT NULL DEFAULT 0)",
            "INSERT INTO posts_v9 (id, user_id, content, created_at, comment_count)"
            " SELECT id, user_id, content, created_at, comment_count FROM posts",
            "DROP TABLE posts",
            "ALTER TABLE posts_v9 RENAME TO posts",
            "CREATE INDEX posts_by_user_time ON posts (user_id, created_at DESC, id DESC)",
            "CREATE INDEX posts_by_time ON posts (created_at DESC, id DESC)",
            "CREATE TABLE comments_v9 (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " post_id BIGINT NOT NULL REFERENCES posts(id),"
            " user_id BIGINT NOT NULL REFERENCES users(id), content TEXT NOT NULL,"
            " created_at BIGINT NOT NULL)",
            "INSERT INTO comments_v9 (id, post_id, user_id, content, created_at)"
            " SELECT id, post_id, user_id, content, created_at FROM comments",
            "DROP TABLE comments",
            "ALTER TABLE comments_v9 RENAME TO comments",
            "CREATE INDEX comments_by_post_time ON comments (post_id, created_at, id)",
        };
    }
    // A deleted post's notifications are found by (its author, post):
    // notifications_by_post (migration 11).
    return ddl;
}

// Notifications grouped by post (issue 27): one summary row per (recipient, post), kept
// with each stored notification (notify/sql.hpp), so the grouped list is one index range;
// the distinct commenters of a group; the post's excerpt in every notification. Existing
// notifications are summarised here (the excerpt cut by SQL: 80 code points, no grapheme
// care; new ones are cut by notify::post_excerpt_of); they count as read (the web app had
// shown them: its "seen" marker lived in the browser).
std::vector<std::string> notification_group_tables() {
    return {
        "ALTER TABLE notifications ADD COLUMN post_excerpt TEXT NOT NULL DEFAULT ''",
        "UPDATE notifications SET post_excerpt = COALESCE((SELECT CASE WHEN LENGTH(p.content) > 80"
        " THEN SUBSTR(p.content, 1, 80) || '…' ELSE p.content END FROM posts p"
        " WHERE p.id = notifications.post_id), '')",
        "CREATE TABLE notification_groups ("
        " user_id BIGINT NOT NULL,"
        " post_id BIGINT NOT NULL,"
        " post_excerpt TEXT NOT NULL,"
        " total BIGINT NOT NULL,"         // notifications in the group
        " unread BIGINT NOT NULL,"        // of which not read (0 once marked read)
        " actor_count BIGINT NOT NULL,"   // distinct commenters
        " recent_actors TEXT NOT NULL,"   // up to 3 'id:username', newest first, space-separated
        " latest_at BIGINT NOT NULL,"     // the newest notification's time (ms)
        " latest_id BIGINT NOT NULL,"
        " read_up_to BIGINT NOT NULL DEFAULT 0,"  // latest_id when last marked read
        " PRIMARY KEY (user_id, post_id))",
        "CREATE INDEX notification_groups_by_latest"
        " ON notification_groups (user_id, latest_at DESC, post_id DESC)",
        "CREATE INDEX notification_groups_unread ON notification_groups (user_id) WHERE unread > 0",
        "CREATE TABLE notification_group_actors ("
        " user_id BIGINT NOT NULL,"
        " post_id BIGINT NOT NULL,"
        " actor_id BIGINT NOT NULL,"
        " PRIMARY KEY (user_id, post_id, actor_id))",
        "INSERT INTO notification_group_actors (user_id, post_id, actor_id)"
        " SELECT DISTINCT user_id, post_id, actor_id FROM notifications",
        "INSERT INTO notification_groups (user_id, post_id, post_excerpt, total, unread,"
        " actor_count, recent_actors, latest_at, latest_id, read_up_to)"
        " SELECT user_id, post_id, MAX(post_excerpt), COUNT(*), 0, COUNT(DISTINCT actor_id), '',"
        " MAX(created_at), MAX(id), MAX(id) FROM notifications GROUP BY user_id, post_id",
        // One group's notifications (notify::notification_store::refresh_group, after a
        // deletion).
        "CREATE INDEX notifications_by_post ON notifications (user_id, post_id, id)",
        "UPDATE notification_groups SET recent_actors = (SELECT CAST(n.actor_id AS TEXT) || ':' ||"
        " n.actor_username FROM notifications n WHERE n.id = notification_groups.latest_id)",
    };
}

// People search and sessions (issue 28). user_search_keys: the folded keys of every
// account (social/search_keys.hpp: username, each token of first and last name); a search
// reads a range of its primary key, in byte order (PostgreSQL: COLLATE "C", as usernames
// since migration 6), and each hit's other keys through user_search_keys_by_user.
// search_keys_backfill: the accounts up to done_up_to (id) have keys; serve fills the rest
// at start (social/people.hpp: folding is C++, not SQL). user_sessions: one row per login
// (sessions/session_service.hpp): GET /api/v1/sessions lists them, DELETE ends them;
// last_used_at is written at most once a minute per session and instance.
std::vector<std::string> people_tables(bool sqlite) {
    const std::string without_rowid = sqlite ? " WITHOUT ROWID" : "";
    const std::string byte_order = sqlite ? "" : " COLLATE \"C\"";
    return {
        "CREATE TABLE user_search_keys ("
        " search_key TEXT" + byte_order + " NOT NULL,"
        " user_id BIGINT NOT NULL REFERENCES users(id),"
        " PRIMARY KEY (search_key, user_id))" + without_rowid,
        "CREATE INDEX user_search_keys_by_user ON user_search_keys (user_id, search_key)",
        "CREATE TABLE search_keys_backfill (done_up_to BIGINT NOT NULL)",
        "INSERT INTO search_keys_backfill (done_up_to) VALUES (0)",
        "CREATE TABLE user_sessions ("
        " jti TEXT PRIMARY KEY,"
        " user_id BIGINT NOT NULL REFERENCES users(id),"
        " created_at BIGINT NOT NULL,"
        " last_used_at BIGINT NOT NULL,"
        " expires_at BIGINT NOT NULL,"
        " user_agent TEXT NOT NULL,"
        " ip TEXT NOT NULL)",
        "CREATE INDEX user_sessions_by_user ON user_sessions (user_id, created_at)",
    };
}

const std::vector<migration>& all_migrations() {
    static const std::vector<migration> list = {
        {1, "core tables", core_tables("INTEGER PRIMARY KEY"),
         core_tables("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")},
        {2, "notifications", notification_tables("INTEGER PRIMARY KEY"),
         notification_tables("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")},
        {3, "home timelines", timeline_tables(true), timeline_tables(false)},
        // A row while the timelines live in memory (SQLite): the tables are not kept then.
        {4, "home timelines in memory", {"CREATE TABLE home_timeline_stale (since BIGINT NOT NULL)"},
         {"CREATE TABLE home_timeline_stale (since BIGINT NOT NULL)"}},
        // The relay claims a batch in a short transaction and publishes without holding a
        // connection; a claim is a lease that ends at claimed_until (ms), so a relay that
        // died mid-batch leaves its rows to the others once it ends (issue 22).
        {5, "outbox claims", {"ALTER TABLE outbox ADD COLUMN claimed_until BIGINT"},
         {"ALTER TABLE outbox ADD COLUMN claimed_until BIGINT"}},
        // People search reads a range of the username index (social/sql.hpp): that range is
        // the names starting with a prefix only in byte order. SQLite compares text BINARY
        // already; PostgreSQL used the database's collation (en_US and the like sort '_'
        // aside), so the column and its unique index become "C" (rebuilt here, issue 24).
        {6, "usernames in byte order", {},
         {"ALTER TABLE users ALTER COLUMN username TYPE TEXT COLLATE \"C\""}},
        // Administrators are accounts (issue 24, item 1): roles by account id, and the names
        // BSOCIAL_ADMINS listed, each decided once (user_id NULL: nobody held it then).
        {7, "account roles", account_role_tables(), account_role_tables()},
        // Work a worker gave up on after bounded retries of a permanent error (issue 24,
        // item 6): the notifier's Kafka messages, the fan-out's posts. Kept for an operator.
        {8, "parked work", parked_tables(), parked_tables()},
        // Deletion (issue 27): on SQLite, ids are never given again (see deletion_tables).
        {9, "deletion", deletion_tables(true), deletion_tables(false)},
        // People search keys and sessions (issue 28): see people_tables.
        {10, "people search keys and sessions", people_tables(true), people_tables(false)},
        // Notifications grouped by post (issue 27): see notification_group_tables.
        {11, "notification groups", notification_group_tables(), notification_group_tables()},
        // The feed reads the posts queued for fan-out by time, however deep the queue (a
        // burst): newest first from where the page starts, stopping at the page's size
        // (issue 25; social/sql.hpp, feed_queue_arm).
        {12, "fan-out queue by time",
         {"CREATE INDEX timeline_fanout_by_time ON timeline_fanout (created_at, post_id)"},
         {"CREATE INDEX timeline_fanout_by_time ON timeline_fanout (created_at, post_id)"}},
    };
    return list;
}

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

int latest_schema_version() { return all_migrations().back().version; }

int apply_migrations(soci::session& sql, dialect kind) {
    sql << create_schema_migrations_sql;
    int applied = 0;
    for (const auto& m : all_migrations()) {
        write_transaction tx(sql, kind);
        // Several instances may start together: serialise them (SQLite's BEGIN IMMEDIATE
        // already does; PostgreSQL needs a transaction-scoped advisory lock).
        if (kind == dialect::postgresql) sql << lock_migrations_sql;
        int count = 0;
        const int version = m.version;
        sql << migration_applied_sql, soci::into(count), soci::use(version);
        if (count > 0) continue;  // tx rolls back: nothing was changed
        for (const auto& ddl : kind == dialect::sqlite ? m.sqlite : m.postgresql) sql << ddl;
        const std::string name = m.name;
        const std::int64_t at = now_ms();
        sql << record_migration_sql, soci::use(version), soci::use(name), soci::use(at);
        tx.commit();
        ++applied;
    }
    return applied;
}

}  // namespace bsocial::store
