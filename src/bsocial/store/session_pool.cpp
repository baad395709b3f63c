#include "bsocial/store/session_pool.hpp"

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "bsocial/store/database.hpp"
#include "bsocial/store/sql_error.hpp"

namespace bsocial::store {

namespace {
PGconn* pg_connection_of(soci::session& sql) {
    auto* backend = static_cast<soci::postgresql_session_backend*>(sql.get_backend());
    return backend ? backend->conn_ : nullptr;
}

/// libpq's own view, no round trip: CONNECTION_BAD once a query found the server gone.
bool pg_status_ok(soci::session& sql) {
    PGconn* conn = pg_connection_of(sql);
    return conn && PQstatus(conn) == CONNECTION_OK;
}

/// One round trip (an empty query), outside any transaction.
bool pg_alive(soci::session& sql) {
    PGconn* conn = pg_connection_of(sql);
    if (!conn || PQstatus(conn) != CONNECTION_OK) return false;
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) return false;
    PGresult* r = PQexec(conn, "");
    const bool ok = r && PQresultStatus(r) == PGRES_EMPTY_QUERY;
    PQclear(r);
    return ok && PQstatus(conn) == CONNECTION_OK;
}
}  // namespace

session_pool::session_pool(database& db, std::size_t size, std::string name)
    : db_(db), name_(std::move(name)), slots_(size) {
    if (size == 0) throw std::invalid_argument("a session pool needs at least one connection");
    for (std::size_t i = 0; i < size; ++i) {
        slot& s = slots_[i];
        s.sql = std::make_unique<soci::session>();
        db_.statements().add(s.sql.get());
        s.verified_epoch = db_.outage_epoch();
        try {
            db_.open_connection(*s.sql);
        } catch (const std::exception& e) {
            if (db_.kind() == dialect::sqlite) throw;
            spdlog::warn("module=store event=connect_failed pool={} error=\"{}\"", name_,
                         describe_error(e));
            s.broken = true;
        }
        free_.push_back(size - 1 - i);  // lend connection 0 first
    }
}

session_pool::~session_pool() {
    for (auto& s : slots_) db_.statements().remove(s.sql.get());  // before the sessions go
}

std::int64_t session_pool::reconnects() const noexcept {
    std::lock_guard lock(mutex_);
    return reconnects_;
}

std::size_t session_pool::take() {
    std::unique_lock lock(mutex_);
    freed_.wait(lock, [this] { return !free_.empty(); });
    const std::size_t i = free_.back();
    free_.pop_back();
    return i;
}

void session_pool::give_back(std::size_t i) noexcept {
    slot& s = slots_[i];
    if (db_.kind() == dialect::postgresql && !s.broken && !pg_status_ok(*s.sql)) {
        s.broken = true;
        db_.note_lost_connection();
        spdlog::warn("module=store event=connection_lost pool={}", name_);
    }
    {
        std::lock_guard lock(mutex_);
        free_.push_back(i);
    }
    freed_.notify_one();
}

void session_pool::make_usable(std::size_t i) {
    if (db_.kind() != dialect::postgresql) return;
    slot& s = slots_[i];
    const std::uint64_t epoch = db_.outage_epoch();
    if (!s.broken && s.verified_epoch == epoch) return;  // the common case: no outage seen
    if (!s.broken) {
        // Another connection found the server gone since this one was last checked: an
        // idle connection killed by a restart fails only when next used, so check it now.
        if (pg_alive(*s.sql)) {
            s.verified_epoch = epoch;
            return;
        }
        s.broken = true;
        db_.note_lost_connection();
    }
    reconnect(s);
}

void session_pool::reconnect(slot& s) {
    const auto now = reconnect_backoff::clock::now();
    if (!s.backoff.may_try(now)) throw database_unavailable();
    // Statements prepared on the old server connection go first: their destructors
    // DEALLOCATE through it, which fails harmlessly now but must not outlive it.
    db_.statements().forget(s.sql.get());
    try {
        s.sql->close();
        db_.open_connection(*s.sql);
    } catch (const std::exception& e) {
        s.backoff.failed(now);
        if (s.backoff.failures() == 1)
            spdlog::warn("module=store event=reconnect_failed pool={} error=\"{}\"", name_,
                         describe_error(e));
        throw database_unavailable();
    }
    const int failures = s.backoff.failures();
    s.backoff.succeeded();
    s.broken = false;
    s.verified_epoch = db_.outage_epoch();
    {
        std::lock_guard lock(mutex_);
        ++reconnects_;
    }
    spdlog::info("module=store event=reconnected pool={} failed_attempts={}", name_, failures);
}

lease::lease(database& db) : lease(db.requests()) {}

lease::lease(session_pool& pool) : pool_(&pool), index_(pool.take()) {
    sql_ = pool.slots_[index_].sql.get();
    try {
        pool.make_usable(index_);
    } catch (...) {
        pool.give_back(index_);
        throw;
    }
}

lease::~lease() { pool_->give_back(index_); }

}  // namespace bsocial::store
