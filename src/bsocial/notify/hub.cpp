#include "bsocial/notify/hub.hpp"

#include <fcntl.h>
#include <poll.h>
#include <soci/soci.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>

#include "bsocial/core/parse.hpp"
#include "bsocial/core/prometheus.hpp"
#include "bsocial/core/time_format.hpp"
#include "bsocial/store/pg_listener.hpp"
#include "bsocial/sessions/session_service.hpp"
#include "bsocial/store/sql_error.hpp"

namespace bsocial::notify {

namespace {
constexpr int page_size = 500;
constexpr std::size_t max_ids_per_fetch = 500;
constexpr std::size_t max_sent_remembered = 2048;  // per socket: > a reorder window of pushes
constexpr auto commit_reorder_window = std::chrono::seconds(2);
constexpr auto reconnect_pause = std::chrono::seconds(1);
constexpr const char* sqlite_prefix = "sqlite:";

/// Remembers `id` as sent and not acknowledged; the oldest beyond the bound is forgotten
/// (its ack then changes nothing: it stays undelivered, sent again on the next connect).
void remember_unacked(std::set<std::int64_t>& unacked, std::int64_t id) {
    unacked.insert(id);
    if (unacked.size() > max_sent_remembered) unacked.erase(unacked.begin());
}

std::int64_t system_now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// Creates the wake file if needed and closes it after opening it for writing: that is
/// the IN_CLOSE_WRITE the other processes' hubs wait for.
void touch(const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) ::close(fd);
}

/// "<user id>:<notification id>".
bool parse_payload(const std::string& s, std::int64_t& user_id, std::int64_t& id) {
    const auto colon = s.find(':');
    if (colon == std::string::npos) return false;
    const auto a = parse_int64(std::string_view(s).substr(0, colon));
    const auto b = parse_int64(std::string_view(s).substr(colon + 1));
    if (!a || !b) return false;
    user_id = *a;
    id = *b;
    return true;
}
}  // namespace

std::string notification_json(const notification& n) {
    boost::json::object o{
        {"id", std::to_string(n.id)},
        {"type", "comment"},
        {"post_id", std::to_string(n.post_id)},
        {"post_excerpt", n.post_excerpt},
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

hub::hub(store::database& db, [[maybe_unused]] notification_store& store,
         const sessions::session_service& sessions, hub_options options)
    : db_(db),
      conns_(db.make_pool(1, "hub")),
      store_(db, *conns_),
      sessions_(sessions),
      options_(std::move(options)) {
    if (db_.kind() == store::dialect::sqlite && options_.db_url.rfind(sqlite_prefix, 0) == 0)
        wake_file_ =
            options_.db_url.substr(std::char_traits<char>::length(sqlite_prefix)) + "-notify";
    event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (event_fd_ < 0) throw std::runtime_error("eventfd failed");
}

hub::~hub() {
    stop();
    ::close(event_fd_);
}

void hub::start() {
    last_seen_id_ = store_.max_id();
    if (!wake_file_.empty()) touch(wake_file_);
    listener_handle_ = notification_store::listen_committed([this] {
        announced_ = true;
        wake();
        if (!wake_file_.empty()) touch(wake_file_);  // the hubs of other processes
    });
    worker_.start([this] { run(); });
}

void hub::stop() {
    if (listener_handle_) notification_store::unlisten_committed(listener_handle_);
    listener_handle_ = 0;
    worker_.stop();
}

void hub::wake() noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(event_fd_, &one, sizeof one);
}

std::int64_t hub::subscribe(std::int64_t user_id, std::string jti, std::int64_t expires_at,
                            std::shared_ptr<http::ws_connection> socket) {
    bool earliest = false;
    std::int64_t id = 0;
    {
        std::lock_guard lock(mutex_);
        id = next_subscription_++;
        earliest = by_expiry_.empty() || expires_at < by_expiry_.begin()->first;
        by_jti_.emplace(jti, id);
        by_expiry_.emplace(expires_at, id);
        subscribers_.emplace(
            id, subscriber{user_id, std::move(jti), expires_at, std::move(socket), {}});
        auto& mine = by_user_[user_id];
        mine.push_back(id);
        while (static_cast<int>(mine.size()) > std::max(1, options_.sockets_per_user))
            drop_locked(mine.front(), close_too_many_sockets, "too many sockets");
    }
    if (earliest) wake();  // the pusher's next expiry moved closer
    return id;
}

void hub::unsubscribe(std::int64_t subscription) {
    std::lock_guard lock(mutex_);
    drop_locked(subscription, 0, nullptr);
}

void hub::drop_locked(std::int64_t subscription, unsigned short code, const char* reason) {
    auto it = subscribers_.find(subscription);
    if (it == subscribers_.end()) return;
    auto& sub = it->second;
    if (reason) sub.socket->close(code, reason);
    if (auto u = by_user_.find(sub.user_id); u != by_user_.end()) {
        std::erase(u->second, subscription);
        if (u->second.empty()) by_user_.erase(u);
    }
    for (auto [j, end] = by_jti_.equal_range(sub.jti); j != end; ++j)
        if (j->second == subscription) {
            by_jti_.erase(j);
            break;
        }
    for (auto [e, end] = by_expiry_.equal_range(sub.expires_at); e != end; ++e)
        if (e->second == subscription) {
            by_expiry_.erase(e);
            break;
        }
    subscribers_.erase(it);
}

void hub::offer(std::int64_t subscription, const notification& n) {
    std::lock_guard lock(mutex_);
    auto it = subscribers_.find(subscription);
    if (it == subscribers_.end()) return;
    auto& sent = it->second.sent;
    if (!sent.insert(n.id).second) return;
    if (sent.size() > max_sent_remembered) sent.erase(sent.begin());
    remember_unacked(it->second.unacked, n.id);
    it->second.socket->send(notification_frame(n));
}

std::vector<std::int64_t> hub::take_unacked(std::int64_t subscription,
                                            const std::vector<std::int64_t>& ids) {
    std::vector<std::int64_t> out;
    std::lock_guard lock(mutex_);
    auto it = subscribers_.find(subscription);
    if (it == subscribers_.end()) return out;
    for (const auto id : ids)
        if (it->second.unacked.erase(id)) out.push_back(id);
    return out;
}

std::size_t hub::connected() const {
    std::lock_guard lock(mutex_);
    return subscribers_.size();
}

void hub::dispatch(const std::vector<notification>& fresh) {
    std::lock_guard lock(mutex_);
    for (const auto& n : fresh) {
        const auto u = by_user_.find(n.user_id);
        if (u == by_user_.end()) continue;
        std::string frame;
        for (const std::int64_t id : u->second) {
            auto& sub = subscribers_.at(id);
            if (!sub.sent.insert(n.id).second) continue;
            if (sub.sent.size() > max_sent_remembered) sub.sent.erase(sub.sent.begin());
            remember_unacked(sub.unacked, n.id);
            if (frame.empty()) frame = notification_frame(n);
            sub.socket->send(frame);
        }
    }
}

void hub::scan() {
    std::int64_t floor = last_seen_id_;
    if (db_.kind() == store::dialect::postgresql) {
        // Transactions of several notifier instances take ids from one sequence but may
        // commit out of id order: re-read from the id seen a reorder window ago. (SQLite
        // has one writer at a time, so ids become visible in order.) `sent` sets make the
        // re-reads harmless.
        const auto now = std::chrono::steady_clock::now();
        horizon_.emplace_back(now, last_seen_id_);
        while (horizon_.size() > 1 && horizon_[1].first <= now - commit_reorder_window)
            horizon_.pop_front();
        floor = horizon_.front().second;
    }
    for (std::int64_t after = floor;;) {
        const auto fresh = store_.undelivered_after(after, page_size);
        if (fresh.empty()) break;
        after = fresh.back().id;
        last_seen_id_ = std::max(last_seen_id_, after);
        dispatch(fresh);
        if (static_cast<int>(fresh.size()) < page_size) break;
    }
}

void hub::fetch_notified(const std::vector<std::string>& payloads) {
    std::vector<std::int64_t> ids;
    {
        std::lock_guard lock(mutex_);
        for (const auto& p : payloads) {
            std::int64_t user_id = 0, id = 0;
            if (parse_payload(p, user_id, id) && by_user_.contains(user_id)) ids.push_back(id);
        }
    }
    for (std::size_t i = 0; i < ids.size(); i += max_ids_per_fetch) {
        const std::vector<std::int64_t> chunk(
            ids.begin() + static_cast<std::ptrdiff_t>(i),
            ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), i + max_ids_per_fetch)));
        dispatch(store_.undelivered_among(chunk));
    }
}

void hub::close_revoked() {
    {
        std::lock_guard lock(mutex_);
        if (subscribers_.empty()) return;
    }
    // One query for every socket here: the revoked tokens not yet expired (those are few:
    // logouts within one token lifetime), matched against the sockets' token ids.
    const std::vector<std::string> revoked = sessions_.revoked_unexpired(*conns_);
    std::lock_guard lock(mutex_);
    for (const auto& jti : revoked) {
        std::vector<std::int64_t> ids;
        for (auto [j, end] = by_jti_.equal_range(jti); j != end; ++j) ids.push_back(j->second);
        for (const auto id : ids) drop_locked(id, close_session_ended, "session ended");
    }
}

void hub::close_expired(std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    while (!by_expiry_.empty() && by_expiry_.begin()->first * 1000 <= now_ms)
        drop_locked(by_expiry_.begin()->second, close_session_ended, "session expired");
}

std::int64_t hub::next_expiry_ms() const {
    std::lock_guard lock(mutex_);
    return by_expiry_.empty() ? std::numeric_limits<std::int64_t>::max()
                              : by_expiry_.begin()->first * 1000;
}

void hub::run() {
    using clock = std::chrono::steady_clock;
    const bool pg = db_.kind() == store::dialect::postgresql;
    std::unique_ptr<store::pg_listener> listener;
    if (pg) listener = std::make_unique<store::pg_listener>(options_.db_url, notification_channel);
    int watch_fd = -1;
    if (!wake_file_.empty()) {
        watch_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (watch_fd >= 0 &&
            ::inotify_add_watch(watch_fd, wake_file_.c_str(), IN_CLOSE_WRITE) < 0) {
            spdlog::warn("module=notify event=wake_file_unwatched file={}", wake_file_);
            ::close(watch_fd);
            watch_fd = -1;
        }
    }

    auto next_safety = clock::now() + options_.safety_poll;
    auto next_revocation = clock::now() + options_.revocation_check;
    auto next_reconnect = clock::now();
    bool scan_needed = true;
    std::vector<std::string> payloads;
    while (!worker_.stopping()) {
        auto now = clock::now();
        try {
            if (listener && !listener->connected() && now >= next_reconnect) {
                if (listener->connect())
                    scan_needed = true;  // whatever was notified while disconnected
                else
                    next_reconnect = now + reconnect_pause;
            }
            if (now >= next_safety) {
                scan_needed = true;
                next_safety = now + options_.safety_poll;
            }
            if (!payloads.empty()) fetch_notified(payloads);
            payloads.clear();
            if (scan_needed) {
                scan_needed = false;
                scan();
            }
            if (now >= next_revocation) {
                next_revocation = now + options_.revocation_check;
                close_revoked();
            }
            close_expired(system_now_ms());
        } catch (const std::exception& e) {
            spdlog::warn("module=notify event=push_failed error=\"{}\"", store::describe_error(e));
        }

        // Sleep until a wake-up or the next timed duty.
        now = clock::now();
        auto until = std::min(next_safety, next_revocation);
        if (listener && !listener->connected()) until = std::min(until, next_reconnect);
        std::int64_t timeout_ms = std::max<std::int64_t>(
            0, std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1);
        timeout_ms =
            std::min(timeout_ms, std::max<std::int64_t>(0, next_expiry_ms() - system_now_ms()));
        pollfd fds[3];
        nfds_t count = 0;
        fds[count++] = {event_fd_, POLLIN, 0};
        if (watch_fd >= 0) fds[count++] = {watch_fd, POLLIN, 0};
        if (listener && listener->connected()) fds[count++] = {listener->socket(), POLLIN, 0};
        if (::poll(fds, count, static_cast<int>(timeout_ms)) <= 0) continue;
        for (nfds_t i = 0; i < count; ++i) {
            if (!fds[i].revents) continue;
            if (fds[i].fd == event_fd_) {
                std::uint64_t ignored = 0;
                [[maybe_unused]] const auto n = ::read(event_fd_, &ignored, sizeof ignored);
                // Stored in this process: LISTEN brings it on PostgreSQL unless it is down.
                if (announced_.exchange(false) && !(listener && listener->connected()))
                    scan_needed = true;
            } else if (fds[i].fd == watch_fd) {
                char buffer[4096];
                while (::read(watch_fd, buffer, sizeof buffer) > 0) {
                }
                scan_needed = true;
            } else if (!listener->drain(payloads)) {
                scan_needed = true;
                next_reconnect = clock::now();
            }
        }
    }
    if (watch_fd >= 0) ::close(watch_fd);
}

std::string hub::metrics() const {
    return prometheus_metric("bsocial_notifier_sockets", "gauge",
                             "WebSockets open on this process.", static_cast<double>(connected()));
}

}  // namespace bsocial::notify
