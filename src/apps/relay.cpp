// `bsocial relay` (the outbox to Kafka, no HTTP) and `bsocial migrate`.

#include <spdlog/spdlog.h>

#include <cstdio>
#include <stdexcept>

#include "apps/builders.hpp"
#include "apps/commands.hpp"
#include "apps/settings.hpp"
#include "bsocial/core/service_group.hpp"
#include "bsocial/core/stop_signals.hpp"

namespace bsocial::apps {

namespace {

/// When `serve` runs with the relay disabled, or to run it on its own.
int run_relay(const relay_settings& s) {
    const auto& brokers = s.get<kafka::broker_settings>();
    if (brokers.brokers.empty())
        throw std::invalid_argument("the relay needs Kafka: set BSOCIAL_KAFKA_BROKERS or --kafka");
    stop_signals signals;  // before any thread exists (librdkafka's, the relay's)
    const system_clock clock;
    const std::string db_url = s.get<store::database_settings>().effective_url();
    store::database db(db_url, 1);
    db.migrate();
    outbox_relay_parts relay(db, db_url, clock, brokers, s.get<kafka::client_security>(),
                             s.get<kafka::producer_settings>(),
                             s.get<outbox::relay_settings>());
    service_group services;
    services.start(relay.relay);
    services.start(relay.wakeup);
    std::printf("bsocial relay publishing to %s (%s)\n", brokers.brokers.c_str(),
                s.get<kafka::client_security>().describe_for_log().c_str());
    std::fflush(stdout);
    signals.wait();
    services.stop();
    return 0;
}

int run_migrate(const migrate_settings& s) {
    const std::string db_url = s.get<store::database_settings>().effective_url();
    store::database db(db_url, 1);
    const int applied = db.migrate();
    spdlog::info("module=store event=migrated applied={} db={}", applied,
                 store::describe_url(db_url));
    return 0;
}

}  // namespace

void add_relay_command(CLI::App& app, entry_point& chosen) {
    add_command<relay_settings>(app, "relay", "publish the outbox to Kafka (no HTTP)", chosen,
                                run_relay);
}

void add_migrate_command(CLI::App& app, entry_point& chosen) {
    add_command<migrate_settings>(app, "migrate", "apply database migrations and exit", chosen,
                                  run_migrate);
}

}  // namespace bsocial::apps
