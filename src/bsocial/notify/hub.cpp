#include "bsocial/notify/hub.hpp"

#include <soci/soci.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <chrono>

#include "bsocial/core/time_format.hpp"

namespace bsocial::notify {

namespace {
constexpr auto poll_interval = std::chrono::milliseconds(50);
constexpr int revocation_check_every = 20;  // polls, i.e. once a second
constexpr const char* is_revoked_sql = "SELECT COUNT(*) FROM revoked_tokens WHERE jti = :jti";
constexpr unsigned short revoked_close_code = 4001;
constexpr int page_size = 500;
constexpr auto commit_reorder_window = std::chrono::seconds(2);
}  // namespace

std::string notification_json(const notification& n) {
    boost::json::object o{
        {"id", std::to_string(n.id)},
        {"type", "comment"},
        {"post_id", std::to_string(n.post_id)},
        {"comment_id", std::to_string(n.comment_id)},
        {"actor",
         boost::json::object{{"id", std::to_string(n.actor_id)}, {"username", n.actor_username}}},
        {"excerpt", n.excerpt},
        {"created_at", format_rfc3339_ms(n.created_at)},
        {"delivered_at",
         n.delivered_at ? boost::json::value(format_rfc3339_ms(*n.delivered_at)) : nullptr}};
    return boost::json::serialize(o);
}

std::string notification_frame(const notification& n) {
    return R"({"type":"notification","notification":)" + notification_json(n) + "}";
}

hub::hub(store::database& db, notification_store& store) : db_(db), store_(store) {}

hub::~hub() { stop(); }

void hub::start() {
    last_seen_id_ = store_.max_id();
    thread_ = std::thread([this] { run(); });
}

void hub::stop() {
    stopping_ = true;
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::int64_t hub::subscribe(std::int64_t user_id, std::string jti,
                            std::shared_ptr<http::ws_connection> socket) {
    std::lock_guard lock(mutex_);
    const std::int64_t id = next_subscription_++;
    subscribers_.emplace(id, subscriber{user_id, std::move(jti), std::move(socket), {}});
    return id;
}

void hub::unsubscribe(std::int64_t subscription) {
    std::lock_guard lock(mutex_);
    subscribers_.erase(subscription);
}

void hub::offer(std::int64_t subscription, const notification& n) {
    std::lock_guard lock(mutex_);
    auto it = subscribers_.find(subscription);
    if (it == subscribers_.end() || !it->second.sent.insert(n.id).second) return;
    it->second.socket->send(notification_frame(n));
}

std::size_t hub::connected() const {
    std::lock_guard lock(mutex_);
    return subscribers_.size();
}

void hub::push_new() {
    // Re-read the last couple of seconds each time: on PostgreSQL, transactions of several
    // notifier instances take ids from one sequence but may commit out of id order, so a
    // row can become visible after a higher id was already seen. `sent` sets make the
    // re-reads harmless.
    const auto now = std::chrono::steady_clock::now();
    horizon_.emplace_back(now, last_seen_id_);
    while (horizon_.size() > 1 && horizon_[1].first <= now - commit_reorder_window)
        horizon_.pop_front();
    const std::int64_t floor = horizon_.front().second;

    bool anyone = false;
    {
        std::lock_guard lock(mutex_);
        anyone = !subscribers_.empty();
        for (auto& [id, sub] : subscribers_)
            sub.sent.erase(sub.sent.begin(), sub.sent.upper_bound(floor));
    }
    std::int64_t after = floor;
    for (;;) {
        const auto fresh = store_.undelivered_after(after, page_size);
        if (fresh.empty()) break;
        after = fresh.back().id;
        last_seen_id_ = std::max(last_seen_id_, after);
        if (anyone) {
            std::lock_guard lock(mutex_);
            for (const auto& n : fresh)
                for (auto& [id, sub] : subscribers_)
                    if (sub.user_id == n.user_id && sub.sent.insert(n.id).second)
                        sub.socket->send(notification_frame(n));
        }
        if (static_cast<int>(fresh.size()) < page_size) break;
    }
}

void hub::close_revoked() {
    std::vector<std::pair<std::string, std::shared_ptr<http::ws_connection>>> sockets;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, sub] : subscribers_) sockets.emplace_back(sub.jti, sub.socket);
    }
    if (sockets.empty()) return;
    soci::session sql(db_.pool());
    for (const auto& [jti, socket] : sockets) {
        int revoked = 0;
        sql << is_revoked_sql, soci::into(revoked), soci::use(jti);
        if (revoked) socket->close(revoked_close_code, "session ended");
    }
}

void hub::run() {
    int tick = 0;
    while (!stopping_) {
        try {
            push_new();
            if (++tick % revocation_check_every == 0) close_revoked();
        } catch (const std::exception& e) {
            spdlog::warn("module=notify event=push_failed error=\"{}\"", e.what());
        }
        std::unique_lock lock(wake_mutex_);
        wake_.wait_for(lock, poll_interval, [this] { return stopping_.load(); });
    }
}

}  // namespace bsocial::notify
