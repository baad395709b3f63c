#pragma once
// Pooled database connections that come back after the database went away (issue 22).
//
// A `session_pool` owns N connections of one database; `lease` borrows one for a scope.
// The request path has one pool (database::requests()); each background worker (relay,
// fan-out, notification hub, notifier consumer) owns a pool of its own
// (database::make_pool), so a worker never holds a connection that a request could use.
//
// PostgreSQL: a connection whose libpq status is CONNECTION_BAD when it is given back
// (a query failed because the server went away) is marked broken and the database's
// outage epoch moves on. Taking a connection then
//   - reconnects a broken one, at most once per backoff delay (reconnect_backoff: 100 ms
//     doubling to 1 s), first dropping its prepared statements (statement_cache::forget);
//     while it cannot connect the lease throws error{unavailable} (503 + Retry-After) at
//     once instead of waiting;
//   - checks a connection not verified since the last outage with one empty-query round
//     trip, so idle connections killed by a restart are replaced before a request uses them.
// Nothing is ever retried: a statement that failed on a broken connection failed (its
// caller reports it, e.g. 503), since a write whose COMMIT was lost may have committed.
// SQLite connections are never checked (a file does not go away).
//
// Thread-safe: take/give back under a mutex; a connection's own state is touched only by
// the thread holding its lease.

#include <soci/session.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bsocial/store/reconnect_backoff.hpp"

namespace bsocial::store {

class database;

class session_pool {
  public:
    /// Opens `size` connections. `name` appears in logs ("requests", "relay", ...). A
    /// connection that cannot be opened now is opened by the first lease that takes it,
    /// so a worker pool can be made while the database is away.
    session_pool(database& db, std::size_t size, std::string name);
    ~session_pool();
    session_pool(const session_pool&) = delete;
    session_pool& operator=(const session_pool&) = delete;

    std::size_t size() const noexcept { return slots_.size(); }
    database& db() noexcept { return db_; }
    const std::string& name() const noexcept { return name_; }
    /// Reconnects made so far (successful ones).
    std::int64_t reconnects() const noexcept;

    /// The connection at `i`, for set-up before the pool is in use (SQLite hooks).
    soci::session& at(std::size_t i) { return *slots_.at(i).sql; }

  private:
    friend class lease;
    struct slot {
        std::unique_ptr<soci::session> sql;
        reconnect_backoff backoff;
        bool broken = false;
        std::uint64_t verified_epoch = 0;
    };
    std::size_t take();
    void give_back(std::size_t i) noexcept;
    /// Makes slot `i` usable (see above) or throws error{unavailable}. Holder of `i` only.
    void make_usable(std::size_t i);
    void reconnect(slot& s);

    database& db_;
    std::string name_;
    std::vector<slot> slots_;
    mutable std::mutex mutex_;
    std::condition_variable freed_;
    std::vector<std::size_t> free_;
    std::int64_t reconnects_ = 0;  // under mutex_
};

/// One connection of a pool for the lifetime of the lease, usable (see session_pool) when
/// the constructor returns; throws error{unavailable} when the database cannot be reached.
/// Blocking (waits for a free connection): call from the blocking-work pool or a worker.
class lease {
  public:
    /// A connection of the request pool.
    explicit lease(database& db);
    explicit lease(session_pool& pool);
    ~lease();
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;

    soci::session& operator*() const noexcept { return *sql_; }
    soci::session* operator->() const noexcept { return sql_; }

  private:
    session_pool* pool_;
    std::size_t index_;
    soci::session* sql_;
};

}  // namespace bsocial::store
