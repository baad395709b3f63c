#pragma once
// Delivery of notifications to their recipient: the HTTP claim, the history, and the
// WebSocket stream (authenticated at the handshake by Authorization header or session
// cookie, never by query string; foreign Origin refused). Mounted in the notifier's own
// listener AND in every API instance (the browser's single origin), reading the same SQL.

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "bsocial/core/clock.hpp"
#include "bsocial/http/router.hpp"
#include "bsocial/notify/hub.hpp"
#include "bsocial/notify/notifications.hpp"
#include "bsocial/sessions/authenticator.hpp"

namespace bsocial::notify {

/// Counters of the WebSocket acks (for /metrics).
struct ack_stats {
    std::uint64_t acks = 0;          ///< well-formed ack frames received
    std::uint64_t transactions = 0;  ///< write transactions they cost
};

class delivery {
  public:
    delivery(notification_store& store, hub& pushes, const sessions::authenticator& auth,
             const clock& clock);

    http::response claim(http::request& req);      // POST /api/v1/notifications/claim
    http::response history(http::request& req);    // GET /api/v1/notifications
    http::ws_decision stream(http::request& req);  // GET /api/v1/notifications/stream (WS)
    http::response groups(http::request& req);     // GET /api/v1/notifications/groups
    http::response unread(http::request& req);     // GET /api/v1/notifications/unread
    http::response mark_read(http::request& req);  // POST /api/v1/notifications/read

    ack_stats acks() const;

  private:
    /// The messages a socket sent since the last call: every ack among them is written in
    /// one transaction; anything else gets an error frame.
    void on_client_messages(std::int64_t user_id, std::int64_t subscription,
                            const std::shared_ptr<http::ws_connection>& socket,
                            const std::vector<std::string>& texts);

    notification_store& store_;
    hub& pushes_;
    const sessions::authenticator& auth_;
    const clock& clock_;
    std::atomic<std::uint64_t> acks_{0};
    std::atomic<std::uint64_t> ack_transactions_{0};
};

/// Prometheus text of `s`.
std::string ack_metrics(const ack_stats& s);

void add_notification_routes(http::router& router, delivery& d);

}  // namespace bsocial::notify
