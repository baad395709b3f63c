#include "bsocial/sessions/feed_warmer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <vector>

#include "bsocial/core/prometheus.hpp"
#include "bsocial/store/session_pool.hpp"

namespace bsocial::sessions {

namespace {
/// How long warming waits for the cluster bus's first connection before giving up (a
/// database that does not answer: requests will fill the caches as usual).
constexpr auto bus_wait = std::chrono::seconds(30);
/// Posts per warmed timeline: a first page of 20 and the marker of the next (the build's
/// depth when a request builds it).
constexpr int warm_depth = 21;
}  // namespace

feed_warmer::feed_warmer(store::database& db, const session_service& sessions,
                         const social::timelines& timelines, int max_users, bool wait_for_bus)
    : db_(db),
      sessions_(sessions),
      timelines_(timelines),
      max_users_(std::max(max_users, 0)),
      wait_for_bus_(wait_for_bus) {}

void feed_warmer::start() {
    if (max_users_ == 0) {
        done_ = true;
        return;
    }
    worker_.start([this] { run(); });
}

void feed_warmer::stop() { worker_.stop(); }

void feed_warmer::bus_connected() {
    {
        std::lock_guard lock(mutex_);
        connected_ = true;
    }
    connected_cv_.notify_all();
}

void feed_warmer::run() {
    const auto t0 = std::chrono::steady_clock::now();
    try {
        if (wait_for_bus_) {
            std::unique_lock lock(mutex_);
            if (!connected_cv_.wait_for(lock, bus_wait,
                                        [this] { return connected_ || worker_.stopping(); }) ||
                worker_.stopping()) {
                if (!worker_.stopping())
                    spdlog::warn("module=sessions event=feed_warm_skipped reason=bus_not_connected");
                done_ = true;
                return;
            }
        }
        std::vector<std::int64_t> users;
        {
            store::lease sql(db_);
            users = sessions_.warm(*sql, max_users_);
        }
        sessions_warmed_ = users.size();  // users whose sessions were read (each once)
        for (std::size_t at = 0; at < users.size() && !worker_.stopping();
             at += social::timelines::warm_batch) {
            const auto end = std::min(users.size(), at + social::timelines::warm_batch);
            const std::vector<std::int64_t> batch(users.begin() + static_cast<std::ptrdiff_t>(at),
                                                  users.begin() + static_cast<std::ptrdiff_t>(end));
            store::lease sql(db_);  // given back between batches: requests come first
            timelines_warmed_ += timelines_.warm(*sql, batch, warm_depth);
        }
        seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        spdlog::info("module=sessions event=feed_warmed users={} timelines={} seconds={:.3f}",
                     users.size(), timelines_warmed_.load(), seconds_.load());
    } catch (const std::exception& e) {
        // Warming is an optimisation: requests fill the caches as usual.
        spdlog::warn("module=sessions event=feed_warm_failed error=\"{}\" timelines={}", e.what(),
                     timelines_warmed_.load());
    }
    done_ = true;
}

std::string feed_warmer::metrics() const {
    return prometheus_metric("bsocial_feed_warm_users", "gauge",
                             "Users whose sessions were loaded into memory at start "
                             "(BSOCIAL_FEED_WARM_USERS).",
                             static_cast<double>(sessions_warmed_.load())) +
           prometheus_metric("bsocial_feed_warm_timelines", "gauge",
                             "Feeds whose first page was loaded into memory at start.",
                             static_cast<double>(timelines_warmed_.load())) +
           prometheus_metric("bsocial_feed_warm_seconds", "gauge",
                             "How long the start's warming took.", seconds_.load()) +
           prometheus_metric("bsocial_feed_warm_done", "gauge",
                             "1 once the start's warming ended (done, off or failed).",
                             done_.load() ? 1.0 : 0.0);
}

}  // namespace bsocial::sessions
