#include "bsocial/store/cluster_bus.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstdint>
#include <span>
#include <stdexcept>

#include "bsocial/core/prometheus.hpp"
#include "bsocial/store/pg_listener.hpp"

namespace bsocial::store {
namespace {
constexpr std::chrono::seconds reconnect_pause{1};
/// How long a bus found gone is given for its goodbye to arrive before the caches go.
constexpr std::chrono::milliseconds goodbye_wait{200};

void drain_eventfd(int fd) {
    std::uint64_t n = 0;
    [[maybe_unused]] const auto r = ::read(fd, &n, sizeof n);
}

/// Messages sent by one statement at most (one transaction: one commit, one signal to the
/// listeners, instead of one each; ~256 x 7,000 bytes bounds the statement).
constexpr std::size_t max_messages_per_send = 256;

/// `messages` as a PostgreSQL text[] literal: each element quoted, `"` and `\` escaped.
std::string text_array(std::span<const std::string> messages) {
    std::string out = "{";
    for (const auto& m : messages) {
        if (out.size() > 1) out += ',';
        out += '"';
        for (const char c : m) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    out += '}';
    return out;
}

/// Sends `messages` with pg_notify, in their order, in one statement and so in one
/// transaction (parameters: no quoting by hand but the array's). PostgreSQL delivers a
/// transaction's notifications in the order they were sent; it folds identical ones
/// (same payload) within a transaction into the first, harmless here: every handler is a
/// forget or an idempotent insert of a key, and every change the copies announce was
/// committed before the first is delivered. False when the connection failed; the caller
/// reconnects and sends them again.
bool send(PGconn* conn, const std::string& channel, std::span<const std::string> messages) {
    PGresult* r = nullptr;
    if (messages.size() == 1) {
        const char* params[2] = {channel.c_str(), messages.front().c_str()};
        r = PQexecParams(conn, "SELECT pg_notify($1, $2)", 2, nullptr, params, nullptr,
                         nullptr, 0);
    } else {
        const std::string array = text_array(messages);
        const char* params[2] = {channel.c_str(), array.c_str()};
        r = PQexecParams(conn,
                         "SELECT pg_notify($1, m) FROM unnest(CAST($2 AS TEXT[])) AS m",
                         2, nullptr, params, nullptr, nullptr, 0);
    }
    const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    if (!ok)
        spdlog::warn("module=store event=bus_send_failed channel={} error=\"{}\"", channel,
                     PQerrorMessage(conn));
    return ok;
}

/// Sends `messages` in order, max_messages_per_send per statement, until one fails.
/// Returns how many were sent (all of them, or the first ones).
std::size_t send_in_batches(PGconn* conn, const std::string& channel,
                            std::span<const std::string> messages) {
    std::size_t sent = 0;
    while (sent < messages.size()) {
        const std::size_t n = std::min(max_messages_per_send, messages.size() - sent);
        if (!send(conn, channel, messages.subspan(sent, n))) break;
        sent += n;
    }
    return sent;
}
}  // namespace

cluster_bus::cluster_bus(std::string pg_url, std::string channel)
    : url_(std::move(pg_url)),
      channel_(std::move(channel)),
      wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      worker_("cluster-bus", {.on_stop = [this] { wake(); }}) {
    if (wake_fd_ < 0) throw std::runtime_error("cluster_bus: eventfd failed");
}

cluster_bus::~cluster_bus() {
    stop();
    ::close(wake_fd_);
}

void cluster_bus::subscribe(std::string topic, handler on_message) {
    handlers_[std::move(topic)].push_back(std::move(on_message));
}

void cluster_bus::on_resync(std::function<void()> f) { resync_.push_back(std::move(f)); }

void cluster_bus::start() {
    worker_.start([this] { cross_process() ? run_pg() : run_local(); });
}

void cluster_bus::stop() { worker_.stop(); }

void cluster_bus::publish(std::string_view topic, std::string_view payload) {
    if (topic.empty() || topic.find('\n') != std::string_view::npos)
        throw std::invalid_argument("cluster_bus: a topic is one non-empty line");
    if (payload.size() > max_payload)
        throw std::invalid_argument("cluster_bus: payload longer than max_payload");
    std::string message;
    message.reserve(topic.size() + 1 + payload.size());
    message.append(topic).push_back('\n');
    message.append(payload);
    {
        const std::lock_guard lock(mutex_);
        outgoing_.push_back(std::move(message));
    }
    wake();
}

std::size_t cluster_bus::delivered() const {
    const std::lock_guard lock(mutex_);
    return delivered_;
}

void cluster_bus::wake() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
}

std::vector<std::string> cluster_bus::take_outgoing() {
    const std::lock_guard lock(mutex_);
    std::vector<std::string> out(std::make_move_iterator(outgoing_.begin()),
                                 std::make_move_iterator(outgoing_.end()));
    outgoing_.clear();
    return out;
}

void cluster_bus::dispatch(std::string_view message) {
    const auto nl = message.find('\n');
    if (nl == std::string_view::npos) return;  // not ours: someone NOTIFYed the channel by hand
    if (message.substr(0, nl) == leaving_topic) {
        int pid = 0;
        const auto payload = message.substr(nl + 1);
        if (std::from_chars(payload.data(), payload.data() + payload.size(), pid).ec == std::errc{})
            leaving_.insert(pid);
        return;
    }
    const auto it = handlers_.find(message.substr(0, nl));
    {
        const std::lock_guard lock(mutex_);
        ++delivered_;
    }
    if (it == handlers_.end()) return;
    const std::string_view payload = message.substr(nl + 1);
    for (const auto& h : it->second) {
        try {
            h(payload);
        } catch (const std::exception& e) {
            spdlog::error("module=store event=bus_handler_failed topic={} error=\"{}\"",
                          message.substr(0, nl), e.what());
        }
    }
}

std::size_t cluster_bus::peers_lost() const {
    const std::lock_guard lock(mutex_);
    return peers_lost_;
}

std::string cluster_bus::metrics() const {
    return prometheus_metric("bsocial_bus_messages_delivered_total", "counter",
                             "Cluster bus messages delivered to this process's handlers.",
                             static_cast<double>(delivered())) +
           prometheus_metric("bsocial_bus_peers_lost_total", "counter",
                             "Other processes' cluster buses found gone without their goodbye "
                             "(their last messages may be lost: every cache here was emptied).",
                             static_cast<double>(peers_lost()));
}

void cluster_bus::resync() {
    for (const auto& f : resync_) f();
}

bool cluster_bus::check_peers(PGconn* sender, pg_listener& listener) {
    const int own_pid = listener.backend_pid();
    const std::string name = pg_application_name("listen", channel_);
    const std::string own = std::to_string(own_pid);
    const char* params[2] = {name.c_str(), own.c_str()};
    PGresult* r = PQexecParams(sender,
                               "SELECT pid FROM pg_stat_activity"
                               " WHERE datname = current_database() AND application_name = $1"
                               " AND pid <> CAST($2 AS INTEGER)",
                               2, nullptr, params, nullptr, nullptr, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return false;
    }
    std::set<int> now;
    for (int i = 0; i < PQntuples(r); ++i) now.insert(std::atoi(PQgetvalue(r, i, 0)));
    PQclear(r);
    std::vector<int> gone;
    for (const int pid : peers_)
        if (!now.contains(pid)) gone.push_back(pid);
    const auto said_goodbye = [&](int pid) { return leaving_.contains(pid); };
    if (!std::all_of(gone.begin(), gone.end(), said_goodbye)) {
        // A goodbye may still be on its way (sent before its bus's LISTEN closed, delivered
        // to ours a moment later): read what arrives for a little while first.
        std::vector<std::string> payloads;
        for (const auto until = std::chrono::steady_clock::now() + goodbye_wait;
             std::chrono::steady_clock::now() < until;) {
            pollfd fd{listener.socket(), POLLIN, 0};
            ::poll(&fd, 1, 20);
            payloads.clear();
            if (!listener.drain(payloads)) break;
            for (const auto& p : payloads) dispatch(p);
            if (std::all_of(gone.begin(), gone.end(), said_goodbye)) break;
        }
    }
    std::erase_if(gone, [&](int pid) { return leaving_.erase(pid) > 0; });
    std::erase_if(leaving_, [&](int pid) { return !now.contains(pid); });  // gone before we looked
    const bool first = !peers_known_;
    peers_ = std::move(now);
    peers_known_ = true;
    if (first || gone.empty()) return true;
    {
        const std::lock_guard lock(mutex_);
        ++peers_lost_;
    }
    // Its last messages may never have been sent: look again at everything, as after a
    // reconnect of our own.
    spdlog::warn("module=store event=bus_peer_gone channel={} pid={} peers_left={} "
                 "action=resync",
                 channel_, gone.front(), peers_.size());
    resync();
    return true;
}

void cluster_bus::run_local() {
    while (!worker_.stopping()) {
        pollfd fd{wake_fd_, POLLIN, 0};
        if (::poll(&fd, 1, -1) <= 0) continue;
        drain_eventfd(wake_fd_);
        for (const auto& m : take_outgoing()) dispatch(m);
    }
}

void cluster_bus::run_pg() {
    pg_listener listener(url_, channel_);
    PGconn* sender = nullptr;
    std::vector<std::string> unsent;  // taken from the queue, not yet accepted by the server
    std::vector<std::string> payloads;
    auto next_peer_check = std::chrono::steady_clock::now();
    while (!worker_.stopping()) {
        if (!listener.connected()) {
            if (!listener.connect()) {
                worker_.sleep_for(reconnect_pause);
                continue;
            }
            peers_known_ = false;  // this resync covers whatever went before
            resync();
        }
        // The sending connection is made before anything is published, not by the first
        // message: a change committed is announced within a round trip, not after a
        // connection's setup (hundreds of ms on a loaded machine), a window in which a
        // replica that dies would take its messages with it.
        if (!sender) sender = pg_connect(url_, channel_, "bus_sender");
        const auto until_check = std::chrono::duration_cast<std::chrono::milliseconds>(
            next_peer_check - std::chrono::steady_clock::now());
        pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {listener.socket(), POLLIN, 0}};
        if (::poll(fds, 2, static_cast<int>(std::max<std::int64_t>(until_check.count(), 0))) < 0)
            continue;
        if (fds[0].revents) drain_eventfd(wake_fd_);
        if (worker_.stopping()) break;

        for (auto& m : take_outgoing()) unsent.push_back(std::move(m));
        if (!unsent.empty()) {
            const std::size_t sent = sender ? send_in_batches(sender, channel_, unsent) : 0;
            if (sender && sent < unsent.size()) {
                PQfinish(sender);
                sender = nullptr;
            }
            unsent.erase(unsent.begin(), unsent.begin() + static_cast<std::ptrdiff_t>(sent));
            if (!unsent.empty()) {
                worker_.sleep_for(reconnect_pause);
                wake();  // try again
            }
        }

        payloads.clear();
        const bool still_connected = listener.drain(payloads);
        for (const auto& p : payloads) dispatch(p);  // goodbyes included, before the look
        if (!still_connected) {
            worker_.sleep_for(reconnect_pause);
            continue;
        }
        if (std::chrono::steady_clock::now() >= next_peer_check) {
            next_peer_check = std::chrono::steady_clock::now() + peer_check_interval;
            if (sender && !check_peers(sender, listener)) {
                PQfinish(sender);
                sender = nullptr;
            }
        }
    }
    // Stopping (after the server's last request): what is still queued goes out, then the
    // goodbye, in that order on one connection, so the others know they missed nothing.
    for (auto& m : take_outgoing()) unsent.push_back(std::move(m));
    if (sender && listener.connected())
        unsent.push_back(std::string(leaving_topic) + "\n" +
                         std::to_string(listener.backend_pid()));
    if (sender) {
        send_in_batches(sender, channel_, unsent);
        PQfinish(sender);
    }
}

}  // namespace bsocial::store
