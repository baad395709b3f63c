#pragma once
// Pushes notifications to the WebSockets connected to THIS process. SQL is the bus: a
// poller reads undelivered notifications newer than the last one it saw ~2 s ago (every
// 50 ms; ids may commit out of order with several notifiers on PostgreSQL)
// and sends each to its recipient's sockets here, so a user connected to any API or
// notifier instance gets their pushes, whichever notifier instance stored them. Every
// second it also closes sockets whose token was revoked (logout on any instance).
//
// Lifecycle: construct -> start() (own thread) -> stop(). subscribe/unsubscribe/offer are
// thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "bsocial/http/websocket.hpp"
#include "bsocial/notify/notifications.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::notify {

/// JSON text of a notification as api.md defines it.
std::string notification_json(const notification& n);
/// The frame pushed over the socket: {"type":"notification","notification":{...}}.
std::string notification_frame(const notification& n);

class hub {
  public:
    hub(store::database& db, notification_store& store);
    ~hub();

    void start();
    void stop();

    /// Registers a socket; returns its subscription id.
    std::int64_t subscribe(std::int64_t user_id, std::string jti,
                           std::shared_ptr<http::ws_connection> socket);
    void unsubscribe(std::int64_t subscription);

    /// Sends `n` to one subscription unless it was already sent there (the backlog sent
    /// at connect and the poller may both offer it).
    void offer(std::int64_t subscription, const notification& n);

    std::size_t connected() const;

  private:
    struct subscriber {
        std::int64_t user_id;
        std::string jti;
        std::shared_ptr<http::ws_connection> socket;
        std::set<std::int64_t> sent;
    };

    void run();
    void push_new();
    void close_revoked();

    store::database& db_;
    notification_store& store_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::mutex wake_mutex_;
    std::condition_variable wake_;
    mutable std::mutex mutex_;
    std::map<std::int64_t, subscriber> subscribers_;
    std::int64_t next_subscription_ = 1;
    std::int64_t last_seen_id_ = 0;  ///< poller thread only
    /// (poll time, last_seen_id_ then): the poll re-reads from the id seen ~2 s ago.
    std::deque<std::pair<std::chrono::steady_clock::time_point, std::int64_t>> horizon_;
};

}  // namespace bsocial::notify
