#include "bsocial/store/wal_checkpointer.hpp"

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "bsocial/core/prometheus.hpp"
#include "bsocial/store/database.hpp"
#include "bsocial/store/sql.hpp"
#include "bsocial/store/sql_error.hpp"

namespace bsocial::store {

namespace {
sqlite_api::sqlite3* handle_of(soci::session& sql) {
    return static_cast<soci::sqlite3_session_backend*>(sql.get_backend())->conn_;
}
}  // namespace

wal_checkpointer::wal_checkpointer(database& db, const std::string& path,
                                   wal_checkpointer_options options)
    : db_(db), options_(options) {
    if (db.kind() != dialect::sqlite)
        throw std::invalid_argument("the WAL checkpointer is for SQLite only");
    sql_ = std::make_unique<soci::session>(soci::sqlite3, "db=\"" + path + "\"");
    std::int64_t page_size = 0;
    *sql_ << sqlite_page_size_sql, soci::into(page_size);
    page_size_ = page_size;
    max_wal_frames_ =
        std::max<std::int64_t>(1, options_.max_wal_bytes / std::max<std::int64_t>(page_size, 1));
    // Worker connections (their own pools, opened after this) only turn SQLite's
    // checkpoints off: the WAL size the hook below reports is the file's, whoever wrote.
    db.leave_checkpoints_to_checkpointer();
    // The pragma first: it installs SQLite's own hook, which ours then replaces.
    for (std::size_t i = 0; i < db.pool_size(); ++i) {
        soci::session& pooled = db.requests().at(i);
        pooled << sqlite_no_autocheckpoint_pragma;
        sqlite_api::sqlite3_wal_hook(
            handle_of(pooled),
            [](void* self, sqlite_api::sqlite3*, const char*, int frames) {
                static_cast<wal_checkpointer*>(self)->on_commit(frames);
                return SQLITE_OK;
            },
            this);
    }
}

wal_checkpointer::~wal_checkpointer() {
    try {
        stop();
    } catch (...) {  // logged by the worker
    }
    // SQLite's own checkpoints again (this also removes our hook).
    for (std::size_t i = 0; i < db_.pool_size(); ++i)
        sqlite_api::sqlite3_wal_autocheckpoint(handle_of(db_.requests().at(i)),
                                               static_cast<int>(options_.checkpoint_frames));
}

void wal_checkpointer::start() {
    worker_.start([this] { run(); });
}

void wal_checkpointer::stop() { worker_.stop(); }

wal_checkpointer_status wal_checkpointer::status() const {
    return {.checkpoints_total = checkpoints_.load(),
            .catch_ups_total = catch_ups_.load(),
            .wal_frames = last_wal_frames_.load(),
            .backfilled_frames = backfilled_.load(),
            .committed_frames = wal_frames_.load(),
            .page_size = page_size_.load()};
}

void wal_checkpointer::on_commit(std::int64_t wal_frames) {
    ++commits_;
    wal_frames_ = wal_frames;
    const std::int64_t backfilled = backfilled_.load();
    // Fewer pages than were copied back: the WAL started again from its beginning.
    const std::int64_t pending = wal_frames >= backfilled ? wal_frames - backfilled : wal_frames;
    if (pending >= options_.checkpoint_frames) worker_.nudge();
}

void wal_checkpointer::run() {
    std::int64_t seen_commits = 0;
    while (worker_.wait(options_.period)) {
        const std::int64_t commits = commits_.load();
        if (commits == seen_commits) continue;  // nothing appended since the last checkpoint
        seen_commits = commits;
        try {
            checkpoint();
            // Past the bound, and behind: copy the rest with this process's writers held,
            // so that the next writer starts the WAL again.
            if (last_wal_frames_.load() >= max_wal_frames_ &&
                backfilled_.load() < last_wal_frames_.load())
                catch_up();
        } catch (const std::exception& e) {
            // Never fatal: SQLite keeps every page in the WAL meanwhile.
            spdlog::warn("module=store event=wal_checkpoint_failed error=\"{}\"", describe_error(e));
            worker_.sleep_for(std::chrono::seconds(1));
        }
    }
}

void wal_checkpointer::checkpoint() {
    int busy = 0;
    std::int64_t log = 0, copied = 0;
    *sql_ << wal_checkpoint_passive_sql, soci::into(busy), soci::into(log), soci::into(copied);
    ++checkpoints_;
    last_wal_frames_ = log;
    backfilled_ = copied;
}

void wal_checkpointer::catch_up() {
    const auto started = std::chrono::steady_clock::now();
    {
        const auto held = db_.hold_writers();
        checkpoint();
    }
    ++catch_ups_;
    spdlog::info("module=store event=wal_caught_up wal_frames={} backfilled={} ms={}",
                 last_wal_frames_.load(), backfilled_.load(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - started)
                     .count());
}

std::string wal_checkpointer::metrics() const {
    const auto s = status();
    return prometheus_metric("bsocial_sqlite_checkpoints_total", "counter",
                             "Background WAL checkpoints (PASSIVE) run by the checkpointer.",
                             static_cast<double>(s.checkpoints_total)) +
           prometheus_metric("bsocial_sqlite_wal_catch_ups_total", "counter",
                             "Checkpoints run with writers held: the WAL outgrew its bound.",
                             static_cast<double>(s.catch_ups_total)) +
           prometheus_metric("bsocial_sqlite_wal_bytes", "gauge",
                             "WAL size after the last checkpoint.",
                             static_cast<double>(s.wal_frames * s.page_size));
}

}  // namespace bsocial::store
