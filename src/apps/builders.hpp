#pragma once
// The pieces several processes build the same way: who is calling (serve, notifier),
// notification delivery (serve, notifier), the outbox relay (serve, relay), the HTTP
// server's options (serve, notifier). Each is a plain aggregate of the modules' objects,
// built in its constructor in dependency order and never moved; the background services
// among them are started by the process's service_group (core/service_group.hpp).

#include <exception>
#include <functional>
#include <memory>
#include <string>

#include "bsocial/auth/jwt.hpp"
#include "bsocial/auth/settings.hpp"
#include "bsocial/core/clock.hpp"
#include "bsocial/http/router.hpp"
#include "bsocial/http/server.hpp"
#include "bsocial/http/settings.hpp"
#include "bsocial/kafka/outbox_publisher.hpp"
#include "bsocial/kafka/security.hpp"
#include "bsocial/kafka/settings.hpp"
#include "bsocial/notify/delivery.hpp"
#include "bsocial/notify/hub.hpp"
#include "bsocial/notify/notifications.hpp"
#include "bsocial/notify/settings.hpp"
#include "bsocial/outbox/relay.hpp"
#include "bsocial/outbox/settings.hpp"
#include "bsocial/sessions/authenticator.hpp"
#include "bsocial/sessions/session_cache.hpp"
#include "bsocial/sessions/session_service.hpp"
#include "bsocial/sessions/settings.hpp"
#include "bsocial/store/database.hpp"
#include "bsocial/store/pg_wakeup.hpp"
#include "bsocial/store/settings.hpp"

namespace bsocial::apps {

/// Who is calling: session tokens, the sessions they stand for, the request authenticator.
/// `secret`: load_jwt_secret (apps/jwt_secret_file.hpp).
struct identity {
    identity(store::database& db, const clock& clock, std::string secret,
             const auth::token_settings& tokens, const sessions::cookie_settings& cookies,
             sessions::session_cache* cache = nullptr);

    const auth::token_service tokens;
    sessions::session_service sessions;
    const sessions::authenticator auth;
};

/// Notifications: their table, the WebSocket pushers (a service: start/stop) and the
/// routes' handler (notify::add_notification_routes).
struct notification_delivery {
    notification_delivery(store::database& db, const std::string& db_url, identity& who,
                          const clock& clock, const notify::hub_settings& settings);

    notify::notification_store store;
    notify::hub pushes;
    notify::delivery delivery;
};

/// The outbox relay with its Kafka producer and, on PostgreSQL, the LISTEN that wakes it
/// when another process wrote events (on SQLite its own writes nudge it). Start `relay`,
/// then `wakeup` when not null.
struct outbox_relay_parts {
    outbox_relay_parts(store::database& db, const std::string& db_url, const clock& clock,
                       const kafka::broker_settings& brokers,
                       const kafka::client_security& security,
                       const kafka::producer_settings& producer,
                       const outbox::relay_settings& settings);

    kafka::outbox_publisher publisher;
    outbox::outbox_relay relay;
    std::unique_ptr<store::pg_wakeup> wakeup;
};

/// The HTTP server's options: its settings, one blocking thread per pooled SQL
/// connection, and the frame rate of its WebSockets.
http::server_options server_options(const http::server_settings& server,
                                    const store::pool_settings& pool,
                                    const http::websocket_limits& websocket);

/// Logs a handler's exception without its text when it is a database error (SOCI puts the
/// bound values in it): "module=<module> event=handler_failed route=... error=...".
std::function<void(const http::request&, const std::exception&)> log_handler_failures(
    const char* module);

}  // namespace bsocial::apps
