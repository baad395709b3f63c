#include "bsocial/outbox/relay.hpp"

#include <soci/soci.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "bsocial/core/prometheus.hpp"
#include "bsocial/outbox/outbox.hpp"
#include "bsocial/store/sql_error.hpp"

namespace bsocial::outbox {

outbox_relay::outbox_relay(store::database& db, publisher& out, const clock& clock,
                           relay_options options)
    : db_(db),
      conns_(db.make_pool(1, "relay")),
      out_(out),
      clock_(clock),
      options_(options) {
    options_.claim_for = std::max(options_.claim_for, 2 * options_.flush_timeout);
}

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
    // Rows acknowledged by the broker last time whose mark-sent failed (the database went
    // away): marked first, so they are not published again once their claim ends.
    if (!acked_unmarked_.empty()) {
        store::lease sql(*conns_);
        store::write_transaction tx(*sql, db_);
        mark_sent(*sql, acked_unmarked_, clock_.now_ms());
        tx.commit();
        acked_unmarked_.clear();
    }

    // 1. Claim a batch in a short transaction: no connection and no lock is held while
    // Kafka is waited on, so a broker outage takes nothing from the database.
    std::vector<outbox_row> rows;
    {
        const std::int64_t now = clock_.now_ms();
        const std::int64_t until =
            now + std::chrono::duration_cast<std::chrono::milliseconds>(options_.claim_for).count();
        store::lease sql(*conns_);
        // An idle relay (most polls) looks first without a write transaction: on SQLite
        // one would take the process's writer lock, and nudge the fan-out to yield.
        if (!any_claimable(*sql, now)) return {};
        store::write_transaction tx(*sql, db_);
        rows = claim_unsent(*sql, options_.batch_size, postgres, now, until);
        tx.commit();
    }
    if (rows.empty()) return {};

    // 2. Publish, holding no connection.
    const auto acked = out_.publish(rows, options_.flush_timeout);
    if (options_.crash_after_publish && !acked.empty()) {
        spdlog::warn("module=outbox event=relay_crash_injected acked={}", acked.size());
        ::_exit(86);
    }

    // 3. Mark what the broker acknowledged, free the rest for the next try. If this fails
    // the acknowledged rows are marked at the next batch (or, should this process die,
    // published again once their claim ends: at least once, consumers dedupe by event id).
    const std::int64_t now = clock_.now_ms();
    std::vector<std::int64_t> unacked;
    for (const auto& r : rows)
        if (std::find(acked.begin(), acked.end(), r.id) == acked.end()) unacked.push_back(r.id);
    try {
        store::lease sql(*conns_);
        store::write_transaction tx(*sql, db_);
        if (!acked.empty()) mark_sent(*sql, acked, now);
        if (!unacked.empty()) release_claims(*sql, unacked);
        tx.commit();
    } catch (...) {
        acked_unmarked_ = acked;
        throw;
    }

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
    store::lease sql(*conns_);
    store::write_transaction tx(*sql, db_);
    const std::int64_t pruned = delete_sent_before(*sql, cutoff);
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

std::string outbox_relay::metrics() const {
    const auto s = status();
    return prometheus_metric("bsocial_outbox_published_total", "counter",
                             "Outbox events acknowledged by Kafka.",
                             static_cast<double>(s.published_total)) +
           prometheus_metric("bsocial_outbox_failed_batches_total", "counter",
                             "Relay batches not fully acknowledged.",
                             static_cast<double>(s.failed_batches_total)) +
           prometheus_metric("bsocial_outbox_publish_lag_seconds", "gauge",
                             "Write-to-acknowledged time of the newest published event.",
                             s.last_lag_seconds);
}

}  // namespace bsocial::outbox
