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
                         const social::timelines& timelines, int max_users, bool wait_for_bus,
                         int login_queue)
    : db_(db),
      sessions_(sessions),
      timelines_(timelines),
      max_users_(std::max(max_users, 0)),
      wait_for_bus_(wait_for_bus),
      login_queue_(timelines.cached() ? static_cast<std::size_t>(std::max(login_queue, 0)) : 0) {
}

void feed_warmer::start() {
    if (login_queue_ > 0) {
        login_pool_ = db_.make_pool(1, "login_warmer");
        login_worker_.start([this] { run_logins(); });
    }
    if (max_users_ == 0) {
        done_ = true;
        return;
    }
    worker_.start([this] { run(); });
}

void feed_warmer::stop() {
    login_worker_.stop();
    worker_.stop();
}

void feed_warmer::enqueue(std::int64_t user) {
    if (login_queue_ == 0) return;
    {
        std::lock_guard lock(queue_mutex_);
        if (waiting_.contains(user)) return;  // waiting already: one build will do
        if (queue_.size() >= login_queue_) {
            ++login_dropped_;
            return;
        }
        queue_.push_back({user, std::chrono::steady_clock::now()});
        waiting_.insert(user);
        ++login_queued_;
    }
    queue_cv_.notify_one();
}

feed_warmer::login_counts feed_warmer::login_stats() const noexcept {
    return {login_queued_.load(), login_built_.load(), login_skipped_.load(),
            login_dropped_.load(), login_failed_.load()};
}

void feed_warmer::run_logins() {
    if (wait_for_bus_) {
        // PostgreSQL: a build before the bus's first connection would be emptied by its
        // resync; the logins meanwhile wait in the queue (or are dropped as late).
        std::unique_lock lock(mutex_);
        connected_cv_.wait(lock, [this] { return connected_ || login_worker_.stopping(); });
        if (login_worker_.stopping()) return;
    }
    for (;;) {
        queued_user next;
        {
            std::unique_lock lock(queue_mutex_);
            queue_cv_.wait(lock, [this] { return !queue_.empty() || login_worker_.stopping(); });
            if (login_worker_.stopping()) return;
            next = queue_.front();
            queue_.pop_front();
            waiting_.erase(next.user);
        }
        if (std::chrono::steady_clock::now() - next.at > login_warm_late) {
            ++login_dropped_;  // the server is busy: the user's feed read builds it
            continue;
        }
        try {
            store::lease sql(*login_pool_);
            // 0: cached already or being built (no SQL then).
            if (timelines_.warm(*sql, {next.user}, warm_depth) > 0) {
                ++login_built_;
                if (on_built_) on_built_(next.user);
            } else
                ++login_skipped_;
        } catch (const std::exception& e) {
            // An optimisation: the feed read builds it as usual.
            ++login_failed_;
            spdlog::warn("module=sessions event=login_warm_failed user={} error=\"{}\"", next.user,
                         e.what());
        }
    }
}

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
                             done_.load() ? 1.0 : 0.0) +
           prometheus_metric("bsocial_feed_login_warm_queued_total", "counter",
                             "Logins (or sessions read from SQL) whose first feed page was "
                             "queued to be built in the background.",
                             static_cast<double>(login_queued_.load())) +
           prometheus_metric("bsocial_feed_login_warm_built_total", "counter",
                             "First feed pages built in the background after a login.",
                             static_cast<double>(login_built_.load())) +
           prometheus_metric("bsocial_feed_login_warm_skipped_total", "counter",
                             "Queued users whose feed was cached or being built already.",
                             static_cast<double>(login_skipped_.load())) +
           prometheus_metric("bsocial_feed_login_warm_dropped_total", "counter",
                             "Logins not warmed: the queue was full "
                             "(BSOCIAL_FEED_LOGIN_WARM_QUEUE) or the user waited too long.",
                             static_cast<double>(login_dropped_.load())) +
           prometheus_metric("bsocial_feed_login_warm_failed_total", "counter",
                             "Login warmings that failed (the feed read builds it).",
                             static_cast<double>(login_failed_.load()));
}

}  // namespace bsocial::sessions
