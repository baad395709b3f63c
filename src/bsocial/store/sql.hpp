#pragma once
// The store's own SQL, in one place: connection settings, write transactions, the health
// check and the bookkeeping of migrations. The schema itself (every table and index, by
// version) is the migration list in migrations.cpp; each module's queries are in its own
// sql.hpp (social, notify, outbox, seed).

namespace bsocial::store {

/// Every SQLite connection: foreign keys, a busy wait instead of SQLITE_BUSY, and a larger
/// page cache (64 MiB; the default is 2 MiB). Not mmap_size: SQLite maps its temporary
/// tables too, and a feed page query then spends more time in mmap/munmap than in reading
/// (docs/feed.md).
inline constexpr const char* sqlite_session_pragmas[] = {
    "PRAGMA foreign_keys = ON", "PRAGMA busy_timeout = 10000", "PRAGMA synchronous = NORMAL",
    "PRAGMA cache_size = -65536"};
/// Once per database file (the first connection).
inline constexpr const char* sqlite_wal_pragma = "PRAGMA journal_mode = WAL";

/// The WAL checkpointer (wal_checkpointer.hpp): the pool's connections never checkpoint in
/// a COMMIT; its own connection does, in the background. A checkpoint answers one row:
/// (busy, pages in the WAL, pages copied back into the database file).
inline constexpr const char* sqlite_no_autocheckpoint_pragma = "PRAGMA wal_autocheckpoint = 0";
inline constexpr const char* sqlite_page_size_sql = "PRAGMA page_size";
inline constexpr const char* wal_checkpoint_passive_sql = "PRAGMA wal_checkpoint(PASSIVE)";

inline constexpr const char* ping_sql = "SELECT 1";

/// SQLite takes the write lock at BEGIN, so a transaction never fails to upgrade later.
inline constexpr const char* begin_write_sqlite_sql = "BEGIN IMMEDIATE";
inline constexpr const char* begin_write_postgresql_sql = "BEGIN";
inline constexpr const char* commit_sql = "COMMIT";
inline constexpr const char* rollback_sql = "ROLLBACK";

inline constexpr const char* create_schema_migrations_sql =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";
/// PostgreSQL: instances starting together apply migrations one at a time.
inline constexpr const char* lock_migrations_sql = "SELECT pg_advisory_xact_lock(4242001)";
inline constexpr const char* migration_applied_sql =
    "SELECT COUNT(*) FROM schema_migrations WHERE version = :v";
inline constexpr const char* record_migration_sql =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (:v, :n, :a)";

}  // namespace bsocial::store
