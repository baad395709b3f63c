#pragma once
// Every SQL statement of the seed loader (loader.cpp), in one place, with one column list
// per table it fills (the order in which loader.cpp writes each row's fields).

#include <string>

namespace bsocial::seed {

/// A table and the columns the loader writes, in order.
struct table_rows {
    const char* table;
    const char* columns;
};

inline constexpr table_rows users_rows{
    "users", "id, username, email, first_name, last_name, password_hash, created_at"};
inline constexpr table_rows follows_rows{"follows", "follower_id, followee_id, created_at"};
inline constexpr table_rows posts_rows{"posts", "id, user_id, content, created_at, comment_count"};
inline constexpr table_rows comments_rows{"comments", "id, post_id, user_id, content, created_at"};
inline constexpr table_rows home_timeline_rows{"home_timeline",
                                               "user_id, created_at, post_id, author_id"};
inline constexpr table_rows home_timeline_state_rows{
    "home_timeline_state", "user_id, horizon_created_at, horizon_post_id"};
inline constexpr table_rows celebrities_rows{"celebrities", "user_id, since"};
/// People search's keys (social/search_keys.hpp), written here so `serve` has none to
/// backfill at start; the marker then says every seeded account has its keys.
inline constexpr table_rows search_keys_rows{"user_search_keys", "search_key, user_id"};
inline constexpr const char* search_keys_done_sql =
    "UPDATE search_keys_backfill SET done_up_to = :users";

/// Seeding needs an empty database.
inline constexpr const char* count_users_sql = "SELECT COUNT(*) FROM users";

/// SQLite, a throw-away load: no journal, no fsync, a large cache...
inline constexpr const char* sqlite_fast_load_sql[] = {
    "PRAGMA foreign_keys = OFF", "PRAGMA journal_mode = OFF", "PRAGMA synchronous = OFF",
    "PRAGMA cache_size = -1048576"};
/// ...and WAL and foreign keys again at the end.
inline constexpr const char* sqlite_after_load_sql[] = {"PRAGMA journal_mode = WAL",
                                                        "PRAGMA foreign_keys = ON"};

/// PostgreSQL: explicit ids leave a table's identity sequence behind; this moves it past
/// the seeded rows. `table` is one of the loader's constants, never input.
inline std::string reset_sequence_sql(const std::string& table) {
    return "SELECT setval(pg_get_serial_sequence('" + table +
           "', 'id'), GREATEST((SELECT MAX(id) FROM " + table + "), 1))";
}

}  // namespace bsocial::seed
