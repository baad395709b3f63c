#pragma once
// Delivery of notifications to their recipient: the HTTP claim, the history, and the
// WebSocket stream (authenticated at the handshake by Authorization header or session
// cookie, never by query string; foreign Origin refused). Mounted in the notifier's own
// listener AND in every API instance (the browser's single origin), reading the same SQL.

#include "bsocial/core/clock.hpp"
#include "bsocial/http/router.hpp"
#include "bsocial/notify/hub.hpp"
#include "bsocial/notify/notifications.hpp"
#include "bsocial/sessions/authenticator.hpp"

namespace bsocial::notify {

class delivery {
  public:
    delivery(notification_store& store, hub& pushes, const sessions::authenticator& auth,
             const clock& clock);

    http::response claim(http::request& req);      // POST /api/v1/notifications/claim
    http::response history(http::request& req);    // GET /api/v1/notifications
    http::ws_decision stream(http::request& req);  // GET /api/v1/notifications/stream (WS)

  private:
    void on_client_message(std::int64_t user_id, const std::shared_ptr<http::ws_connection>& socket,
                           const std::string& text);

    notification_store& store_;
    hub& pushes_;
    const sessions::authenticator& auth_;
    const clock& clock_;
};

void add_notification_routes(http::router& router, delivery& d);

}  // namespace bsocial::notify
