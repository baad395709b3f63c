#include "apps/builders.hpp"

#include <spdlog/spdlog.h>

#include <utility>

#include "bsocial/events/event.hpp"
#include "bsocial/store/sql_error.hpp"

namespace bsocial::apps {

identity::identity(store::database& db, const clock& clock, std::string secret,
                   const auth::token_settings& settings, const sessions::cookie_settings& cookies,
                   sessions::session_cache* cache)
    : tokens(std::move(secret), clock, settings.ttl_seconds),
      sessions(db, tokens, clock, cache),
      auth(sessions, cookies.allowed_origins, cookies.secure, settings.ttl_seconds) {}

notification_delivery::notification_delivery(store::database& db, const std::string& db_url,
                                             identity& who, const clock& clock,
                                             const notify::hub_settings& settings)
    : store(db),
      pushes(db, store, who.sessions, notify::make_hub_options(settings, db_url)),
      delivery(store, pushes, who.auth, clock) {}

namespace {
kafka::producer_options producer_options(const kafka::broker_settings& brokers,
                                         const kafka::client_security& security,
                                         const kafka::producer_settings& producer) {
    kafka::producer_options k;
    k.brokers = brokers.brokers;
    k.security = security;
    k.message_timeout_ms = producer.message_timeout_ms;
    for (const auto topic : {events::topics::users, events::topics::posts, events::topics::comments,
                             events::topics::follows})
        k.known_topics.emplace_back(topic);
    return k;
}

outbox::relay_options relay_options(const kafka::producer_settings& producer,
                                    const outbox::relay_settings& settings) {
    outbox::relay_options r;
    r.crash_after_publish = settings.crash_after_publish;
    r.flush_timeout = std::chrono::milliseconds(producer.message_timeout_ms + 5000);
    r.idle_poll = std::chrono::milliseconds(settings.poll_ms);
    return r;
}
}  // namespace

outbox_relay_parts::outbox_relay_parts(store::database& db, const std::string& db_url,
                                       const clock& clock, const kafka::broker_settings& brokers,
                                       const kafka::client_security& security,
                                       const kafka::producer_settings& producer,
                                       const outbox::relay_settings& settings)
    : publisher(producer_options(brokers, security, producer)),
      relay(db, publisher, clock, relay_options(producer, settings)) {
    if (db.kind() == store::dialect::postgresql)
        wakeup = std::make_unique<store::pg_wakeup>(db_url, outbox::relay_channel,
                                                    [this] { relay.nudge(); });
}

http::server_options server_options(const http::server_settings& server,
                                    const store::pool_settings& pool,
                                    const http::websocket_limits& websocket) {
    auto options = server.options();
    options.blocking_threads = pool.size;
    options.websocket = websocket;
    return options;
}

std::function<void(const http::request&, const std::exception&)> log_handler_failures(
    const char* module) {
    // Never e.what() of a database error: SOCI puts the bound values in it.
    return [module](const http::request& req, const std::exception& e) {
        spdlog::error("module={} event=handler_failed route={} error=\"{}\"", module, req.route,
                      store::describe_error(e));
    };
}

}  // namespace bsocial::apps
