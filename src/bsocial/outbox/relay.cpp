#include "bsocial/outbox/relay.hpp"

#include <soci/soci.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "bsocial/outbox/outbox.hpp"
#include "bsocial/store/sql_error.hpp"

namespace bsocial::outbox {

outbox_relay::outbox_relay(store::database& db, publisher& out, const clock& clock,
                           relay_options options)
    : db_(db), out_(out), clock_(clock), options_(options) {}

outbox_relay::~outbox_relay() { stop(); }

void outbox_relay::start() {
    worker_.start([this] { run(); });
}

void outbox_relay::stop() { worker_.stop(); }

void outbox_relay::nudge() { worker_.nudge(); }

relay_status outbox_relay::status() const {
    std::lock_guard lock(status_mutex_);
    auto s = status_;
    s.broker_state = out_.state();
    return s;
}

outbox_relay::batch_result outbox_relay::run_once() {
    const bool postgres = db_.kind() == store::dialect::postgresql;
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    // PostgreSQL: rows stay locked (SKIP LOCKED) until marked, so relays of several API
    // instances never publish the same row concurrently. SQLite has one instance: no lock,
    // and no write transaction held while waiting for Kafka.
    std::optional<store::write_transaction> tx;
    if (postgres) tx.emplace(sql, db_);
    const auto rows = fetch_unsent(sql, options_.batch_size, postgres);
    if (rows.empty()) return {};

    const auto acked = out_.publish(rows, options_.flush_timeout);
    if (options_.crash_after_publish && !acked.empty()) {
        spdlog::warn("module=outbox event=relay_crash_injected acked={}", acked.size());
        ::_exit(86);
    }
    const std::int64_t now = clock_.now_ms();
    if (!acked.empty()) {
        if (!tx) tx.emplace(sql, db_);
        mark_sent(sql, acked, now);
    }
    if (tx) tx->commit();

    std::lock_guard lock(status_mutex_);
    status_.published_total += static_cast<std::int64_t>(acked.size());
    if (acked.size() < rows.size()) ++status_.failed_batches_total;
    if (!acked.empty()) {
        std::int64_t newest_created = 0;
        for (const auto& r : rows)
            if (std::find(acked.begin(), acked.end(), r.id) != acked.end())
                newest_created = std::max(newest_created, r.created_at_ms);
        status_.last_lag_seconds = static_cast<double>(now - newest_created) / 1000.0;
    }
    return {static_cast<int>(rows.size()), static_cast<int>(acked.size())};
}

std::int64_t outbox_relay::prune_sent() {
    const std::int64_t cutoff =
        clock_.now_ms() -
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.retention).count();
    store::lease sql_lease(db_);
    soci::session& sql = *sql_lease;
    store::write_transaction tx(sql, db_);
    const std::int64_t pruned = delete_sent_before(sql, cutoff);
    tx.commit();
    return pruned;
}

void outbox_relay::run() {
    spdlog::info("module=outbox event=relay_started batch_size={}", options_.batch_size);
    auto backoff = options_.idle_poll;
    auto next_prune = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    while (!worker_.stopping()) {
        if (std::chrono::steady_clock::now() >= next_prune) {
            next_prune += std::chrono::hours(1);
            try {
                if (const auto n = prune_sent())
                    spdlog::info("module=outbox event=outbox_pruned rows={}", n);
            } catch (const std::exception& e) {
                spdlog::warn("module=outbox event=outbox_prune_failed error=\"{}\"",
                             store::describe_error(e));
            }
        }
        batch_result result;
        bool failed = false;
        try {
            result = run_once();
            failed = result.sent < result.fetched;
        } catch (const std::exception& e) {
            spdlog::warn("module=outbox event=relay_batch_failed error=\"{}\"",
                         store::describe_error(e));
            failed = true;
        }
        if (!failed && result.fetched > 0) {
            backoff = options_.idle_poll;
            continue;  // more may be waiting: go again at once
        }
        if (failed) {
            // Broker or database trouble: back off (doubling, capped) and retry the rows.
            backoff = std::min(backoff * 2, options_.max_backoff);
        } else {
            backoff = options_.idle_poll;
        }
        worker_.wait(std::chrono::duration_cast<std::chrono::milliseconds>(backoff));
    }
    spdlog::info("module=outbox event=relay_stopped");
}

}  // namespace bsocial::outbox
