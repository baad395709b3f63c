#pragma once
// The SQL database: a SOCI connection pool over SQLite (default) or PostgreSQL.
// Blocking: call only from the blocking-work pool, never from an I/O thread.
// Thread-safe: each caller borrows its own session from the pool.

#include <soci/connection-pool.h>
#include <soci/session.h>

#include <cstddef>
#include <cstdint>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "bsocial/store/statement_cache.hpp"

namespace bsocial::store {

enum class dialect { sqlite, postgresql };

class database {
  public:
    /// `url`: "sqlite:<path>" or "postgresql://user@host:port/db". Throws on failure.
    database(const std::string& url, std::size_t pool_size);
    ~database();
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    dialect kind() const noexcept { return dialect_; }
    soci::connection_pool& pool() noexcept { return *pool_; }
    /// Prepared statements of the hot paths, kept per pooled connection.
    statement_cache& statements() noexcept { return *statements_; }
    std::size_t pool_size() const noexcept { return pool_size_; }

    /// Applies pending migrations (idempotent, safe with several instances starting at once).
    /// Returns how many were applied.
    int migrate();

    /// A cheap round trip, for /readyz. Returns false instead of throwing.
    bool ping() noexcept;

    /// SQLite: write transactions begun by this process so far (0 on PostgreSQL). A
    /// background writer (the fan-out) that sees it move lets the others go first.
    std::int64_t writes_begun() const noexcept { return writes_begun_.load(); }
    /// SQLite: writers of this process waiting for the writer lock right now.
    int writers_waiting() const noexcept { return writers_waiting_.load(); }
    /// SQLite: holds every writer of this process until the lock is released (the WAL
    /// checkpointer's catch-up, wal_checkpointer.hpp). Never while in a write_transaction.
    std::unique_lock<std::mutex> hold_writers() { return std::unique_lock(sqlite_writer_); }

  private:
    friend class write_transaction;

    dialect dialect_;
    std::size_t pool_size_;
    /// SQLite has one writer at a time: writers of this process queue here, in turn,
    /// rather than in SQLite's busy handler, which sleeps up to 100 ms between tries.
    std::mutex sqlite_writer_;
    std::atomic<std::int64_t> writes_begun_{0};
    std::atomic<int> writers_waiting_{0};
    std::unique_ptr<soci::connection_pool> pool_;
    std::unique_ptr<statement_cache> statements_;  // destroyed before the pool
};

/// A write transaction. On SQLite it first takes the database's writer lock (writers of
/// one process wait their turn there), then starts with BEGIN IMMEDIATE so writers of
/// other processes queue on busy_timeout instead of failing on a lock upgrade.
/// Rolls back in the destructor unless commit() was called. Never nest two on one thread.
class write_transaction {
  public:
    write_transaction(soci::session& sql, database& db);
    /// Without the writer lock: migrations, before anything else uses the database.
    write_transaction(soci::session& sql, dialect kind);
    ~write_transaction();
    write_transaction(const write_transaction&) = delete;
    write_transaction& operator=(const write_transaction&) = delete;
    void commit();
    /// Commits, then runs `while_locked` before letting the next writer of this process
    /// in (SQLite): what it does follows this transaction and precedes the next one.
    template <class F>
    void commit(F&& while_locked) {
        commit_keeping_lock();
        std::forward<F>(while_locked)();
        if (writer_.owns_lock()) writer_.unlock();
    }

  private:
    void commit_keeping_lock();

    std::unique_lock<std::mutex> writer_;
    soci::session& sql_;
    bool done_ = false;
};

/// True when the exception says a UNIQUE constraint was violated (both dialects).
bool is_unique_violation(const std::exception& e);

}  // namespace bsocial::store
