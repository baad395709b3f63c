#include "apps/notifier.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "apps/common.hpp"
#include "bsocial/api/handlers.hpp"
#include "bsocial/auth/jwt.hpp"
#include "bsocial/core/random.hpp"
#include "bsocial/core/stop_signals.hpp"
#include "bsocial/http/server.hpp"
#include "bsocial/notify/consumer.hpp"
#include "bsocial/notify/delivery.hpp"
#include "bsocial/notify/hub.hpp"
#include "bsocial/sessions/authenticator.hpp"
#include "bsocial/sessions/session_service.hpp"
#include "bsocial/store/sql_error.hpp"

namespace bsocial::apps {

int run_notifier(const serve_config& config, const kafka::client_security& kafka_security) {
    if (config.kafka_brokers.empty())
        throw std::invalid_argument(
            "the notifier needs Kafka: set BSOCIAL_KAFKA_BROKERS or --kafka");
    kafka_security.validate();
    stop_signals signals;  // before any thread exists (the hasher's, librdkafka's...)
    init_crypto();
    const system_clock clock;
    store::database db(effective_db_url(config), static_cast<std::size_t>(config.db_pool_size));
    db.migrate();
    spdlog::info("module=notify event=db_ready db={}", describe_db(effective_db_url(config)));

    // Token checks only (signature + revocation + user lookup): nobody logs in here.
    const auth::token_service tokens(load_jwt_secret(config), clock, config.token_ttl_seconds);
    sessions::session_service sessions(db, tokens, clock);
    const sessions::authenticator auth(sessions, config.allowed_origins, config.cookie_secure,
                                       config.token_ttl_seconds);

    notify::notification_store store(db);
    notify::hub pushes(db, store, sessions, hub_options_of(config));
    notify::delivery delivery(store, pushes, auth, clock);
    notify::comment_consumer consumer(
        db, {.brokers = config.kafka_brokers, .security = kafka_security});

    http::metrics stats;
    api::ops_extras ops_extras;
    ops_extras.metrics = [&consumer, &pushes] {
        const auto c = consumer.counters();
        using http::prometheus_metric;
        return prometheus_metric("bsocial_notifier_events_total", "counter",
                                 "Messages read from bsocial.comments.",
                                 static_cast<double>(c.events)) +
               prometheus_metric("bsocial_notifier_notifications_total", "counter",
                                 "Notifications created.", static_cast<double>(c.notifications)) +
               prometheus_metric("bsocial_notifier_poison_total", "counter",
                                 "Messages that were not a valid comment event.",
                                 static_cast<double>(c.poison)) +
               prometheus_metric("bsocial_notifier_forged_total", "counter",
                                 "Comment events skipped: the database does not confirm them.",
                                 static_cast<double>(c.forged)) +
               prometheus_metric("bsocial_notifier_consumer_restarts_total", "counter",
                                 "Times the Kafka consumer recovered from a failure.",
                                 static_cast<double>(c.restarts)) +
               prometheus_metric("bsocial_notifier_sockets", "gauge",
                                 "WebSockets open on this process.",
                                 static_cast<double>(pushes.connected()));
    };
    api::ops_handler ops(db, stats,
                         {{"kafka",
                           [&consumer] {
                               return consumer.counters().assigned ? std::string("ok")
                                                                   : std::string("not assigned");
                           }}},
                         std::move(ops_extras));
    http::router router({.on_exception = [](const http::request& req, const std::exception& e) {
        spdlog::error("module=notify event=handler_failed route={} error=\"{}\"", req.route,
                      store::describe_error(e));
    }});
    notify::add_notification_routes(router, delivery);
    router.add("GET", "/healthz", [&ops](http::request& r) { return ops.healthz(r); });
    router.add("GET", "/readyz", [&ops](http::request& r) { return ops.readyz(r); });
    router.add("GET", "/metrics", [&ops](http::request& r) { return ops.metrics(r); });

    http::server server(server_options_of(config), router, stats);
    signals.on_stop([&server] { server.stop(); });
    const unsigned port = server.listen();
    consumer.start();
    pushes.start();
    std::printf("bsocial notifier listening on http://%s:%u\n", config.bind.c_str(), port);
    std::fflush(stdout);
    server.run();
    pushes.stop();
    consumer.stop();
    spdlog::info("module=notify event=stopped");
    return 0;
}

}  // namespace bsocial::apps
