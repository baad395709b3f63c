#pragma once
// The SQL database: pools of SOCI connections over SQLite (default) or PostgreSQL that
// reconnect after the database went away (session_pool.hpp).
// Blocking: call only from the blocking-work pool, never from an I/O thread.
// Thread-safe: each caller borrows its own connection (store::lease).

#include <soci/session.h>

#include <chrono>
#include <exception>
#include <cstddef>
#include <cstdint>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "bsocial/core/error.hpp"
#include "bsocial/store/session_pool.hpp"
#include "bsocial/store/statement_cache.hpp"

namespace bsocial::store {

enum class dialect { sqlite, postgresql };

class database {
  public:
    /// `url`: "sqlite:<path>" or "postgresql://user@host:port/db". Throws on failure.
    /// `pool_size`: connections of the request pool.
    database(const std::string& url, std::size_t pool_size);
    ~database();
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    dialect kind() const noexcept { return dialect_; }
    /// The request path's connections (`store::lease sql(db)` borrows one).
    session_pool& requests() noexcept { return *requests_; }
    /// A pool of its own for a background worker: it never takes a request's connection.
    std::unique_ptr<session_pool> make_pool(std::size_t size, std::string name);
    /// Prepared statements of the hot paths, kept per pooled connection (every pool's).
    statement_cache& statements() noexcept { return *statements_; }
    std::size_t pool_size() const noexcept { return pool_size_; }

    /// Opens `sql` on this database (connection string, SQLite pragmas). Throws.
    void open_connection(soci::session& sql);
    /// SQLite: connections opened from now on leave WAL checkpoints to the checkpointer
    /// (wal_checkpointer.hpp), like the request pool's: a worker's commit never runs one.
    void leave_checkpoints_to_checkpointer() noexcept { manual_checkpoints_ = true; }

    /// PostgreSQL: a pooled connection was found broken. Moves the outage epoch on, so
    /// every connection is checked once before its next use.
    void note_lost_connection() noexcept;
    std::uint64_t outage_epoch() const noexcept { return outage_epoch_.load(); }
    /// True when `e` says the database connection was lost or could not be made (the
    /// request answers 503, not 500): a PostgreSQL connection-class SQLSTATE (08xxx,
    /// 57P01-57P03), libpq's words for a closed connection, or any PostgreSQL error within
    /// 2 s of a connection found broken (says_connection_lost, sql_error.hpp). Never true on
    /// SQLite.
    bool connection_lost(const std::exception& e) const noexcept;

    /// True when a worker should try `e`'s work again as it is, without limit: the
    /// connection was lost (connection_lost), no connection could be leased
    /// (error{unavailable}), or the error passes by itself (says_transient: busy, deadlock).
    /// Anything else is permanent for that piece of work: the notifier and the fan-out retry
    /// it a few times, then park it (docs/security.md, "Poison messages").
    bool transient(const std::exception& e) const noexcept;

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
    std::string connect_string_;  // SOCI connect string of the backend (never logged)
    std::atomic<std::uint64_t> outage_epoch_{1};
    std::atomic<bool> manual_checkpoints_{false};
    std::atomic<std::int64_t> last_lost_ms_{0};  // steady clock, ms
    std::unique_ptr<statement_cache> statements_;  // outlives every pool (pools forget first)
    std::unique_ptr<session_pool> requests_;
};

/// The error a request gets while the database cannot be reached: unavailable, Retry-After.
error database_unavailable();

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

/// A database URL safe to log: the password of `user:password@` and the value of any
/// `password=` parameter are masked ("***").
std::string describe_url(const std::string& url);

}  // namespace bsocial::store
