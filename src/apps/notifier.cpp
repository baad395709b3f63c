// `bsocial notifier`: consumes bsocial.comments into notifications and serves their
// delivery routes (claim, history, WebSocket stream) on its own port.

#include <spdlog/spdlog.h>

#include <cstdio>

#include "apps/builders.hpp"
#include "apps/commands.hpp"
#include "apps/jwt_secret_file.hpp"
#include "apps/settings.hpp"
#include "bsocial/api/handlers.hpp"
#include "bsocial/core/random.hpp"
#include "bsocial/core/service_group.hpp"
#include "bsocial/core/stop_signals.hpp"
#include "bsocial/http/metrics.hpp"
#include "bsocial/notify/consumer.hpp"

namespace bsocial::apps {

namespace {

int run_notifier(const notifier_settings& s) {
    const auto& brokers = s.get<kafka::broker_settings>().brokers;
    if (brokers.empty())
        throw std::invalid_argument(
            "the notifier needs Kafka: set BSOCIAL_KAFKA_BROKERS or --kafka");
    stop_signals signals;  // before any thread exists (the hasher's, librdkafka's...)
    init_crypto();
    const system_clock clock;
    const auto& where = s.get<store::database_settings>();
    const std::string db_url = where.effective_url();
    const auto& pool = s.get<store::pool_settings>();
    store::database db(db_url, static_cast<std::size_t>(pool.size));
    db.migrate();
    spdlog::info("module=notify event=db_ready db={}", store::describe_url(db_url));

    // Token checks only (signature + revocation + user lookup): nobody logs in here.
    identity who(db, clock, load_jwt_secret(s.get<auth::token_settings>(), where.data_dir),
                 s.get<auth::token_settings>(), s.get<sessions::cookie_settings>());
    notification_delivery notifications(db, db_url, who, clock, s.get<notify::hub_settings>());
    notify::comment_consumer consumer(
        db, {.brokers = brokers, .security = s.get<kafka::client_security>()});

    http::metrics stats;
    api::ops_extras ops_extras;
    ops_extras.metrics = [&consumer, &notifications] {
        return consumer.metrics() + notifications.pushes.metrics() +
               notify::ack_metrics(notifications.delivery.acks());
    };
    ops_extras.access = s.get<api::metrics_access>();
    api::ops_handler ops(db, stats,
                         {{"kafka",
                           [&consumer] {
                               return consumer.counters().assigned ? std::string("ok")
                                                                   : std::string("not assigned");
                           }}},
                         std::move(ops_extras));
    http::router router({.on_exception = log_handler_failures("notify")});
    notify::add_notification_routes(router, notifications.delivery);
    router.add("GET", "/healthz", [&ops](http::request& r) { return ops.healthz(r); });
    router.add("GET", "/readyz", [&ops](http::request& r) { return ops.readyz(r); });
    router.add("GET", "/metrics", [&ops](http::request& r) { return ops.metrics(r); });

    http::server server(server_options(s.get<http::server_settings>(), pool,
                                        s.get<http::websocket_limits>()), router, stats);
    signals.on_stop([&server] { server.stop(); });
    const unsigned port = server.listen();
    // Stopped in reverse order when the server returns, or when a start throws.
    service_group services;
    services.start(consumer);
    services.start(notifications.pushes);
    std::printf("bsocial notifier listening on http://%s:%u\n",
                s.get<http::server_settings>().bind.c_str(), port);
    std::fflush(stdout);
    server.run();
    services.stop();
    spdlog::info("module=notify event=stopped");
    return 0;
}

}  // namespace

void add_notifier_command(CLI::App& app, entry_point& chosen) {
    add_command<notifier_settings>(
        app, "notifier",
        "turn comments on Kafka into notifications; serve claim, history, WebSocket", chosen,
        run_notifier);
}

}  // namespace bsocial::apps
