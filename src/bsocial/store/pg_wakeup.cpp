#include "bsocial/store/pg_wakeup.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "bsocial/store/pg_listener.hpp"

namespace bsocial::store {
namespace {
constexpr std::chrono::seconds reconnect_pause{1};
// Without a ring, the doorbell still wakes now and then, only to look at its stop flag.
constexpr std::chrono::seconds doorbell_idle{1};
}  // namespace

pg_wakeup::pg_wakeup(std::string url, std::string channel, std::function<void()> on_notify)
    : url_(std::move(url)),
      channel_(std::move(channel)),
      on_notify_(std::move(on_notify)),
      stop_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      worker_("pg-wakeup", {.on_stop = [this] {
                                const std::uint64_t one = 1;
                                [[maybe_unused]] const auto n = ::write(stop_fd_, &one, sizeof one);
                            }}) {
    if (stop_fd_ < 0) throw std::runtime_error("pg_wakeup: eventfd failed");
}

pg_wakeup::~pg_wakeup() {
    stop();
    ::close(stop_fd_);
}

void pg_wakeup::start() {
    worker_.start([this] { run(); });
}

void pg_wakeup::stop() { worker_.stop(); }

void pg_wakeup::run() {
    pg_listener listener(url_, channel_);
    std::vector<std::string> payloads;
    while (!worker_.stopping()) {
        if (!listener.connected()) {
            if (!listener.connect()) {
                worker_.sleep_for(reconnect_pause);
                continue;
            }
            on_notify_();  // whatever was sent while we were not listening
        }
        pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {listener.socket(), POLLIN, 0}};
        if (::poll(fds, 2, -1) <= 0 || !fds[1].revents) continue;
        payloads.clear();
        const bool still_connected = listener.drain(payloads);
        if (!payloads.empty()) on_notify_();
        if (!still_connected) worker_.sleep_for(reconnect_pause);
    }
}

pg_doorbell::pg_doorbell(std::string url, std::string channel)
    : url_(std::move(url)), channel_(std::move(channel)) {}

pg_doorbell::~pg_doorbell() { stop(); }

void pg_doorbell::start() {
    worker_.start([this] { run(); });
}

void pg_doorbell::stop() { worker_.stop(); }

void pg_doorbell::run() {
    PGconn* conn = nullptr;
    std::string sql;
    while (worker_.wait(std::chrono::duration_cast<std::chrono::milliseconds>(doorbell_idle))) {
        if (!rung_.exchange(false)) continue;  // woke only to look at the stop flag
        if (!conn) {
            conn = pg_connect(url_, channel_, "doorbell");
            if (!conn) {
                rung_ = true;  // ring again once connected
                worker_.sleep_for(reconnect_pause);
                continue;
            }
            sql = pg_channel_sql(conn, "NOTIFY", channel_);
        }
        PGresult* r = PQexec(conn, sql.c_str());
        const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok) {
            spdlog::warn("module=store event=doorbell_failed channel={} error=\"{}\"", channel_,
                         PQerrorMessage(conn));
            PQfinish(conn);
            conn = nullptr;
            rung_ = true;  // ring again on a new connection
        }
    }
    if (conn) PQfinish(conn);
}

}  // namespace bsocial::store
