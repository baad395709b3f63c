#pragma once

#include "bsocial/analytics/handler.hpp"
#include "bsocial/core/config.hpp"
#include "bsocial/kafka/security.hpp"

namespace bsocial::apps {

/// `bsocial serve`: wires the API process together and runs it until SIGTERM. Returns the
/// process exit code.
/// `analytics`: the search engine of /api/v1/analytics/* (not configured: they answer 503).
/// `kafka`: TLS / SASL of the relay's producer (kafka/security.hpp).
int run_serve(const serve_config& config, const analytics::settings& analytics = {},
              const kafka::client_security& kafka = {});

/// `bsocial relay`: publishes the outbox to Kafka without serving HTTP (when `serve` runs
/// with the relay disabled, or to run it on its own).
int run_relay(const serve_config& config, const kafka::client_security& kafka = {});

/// `bsocial migrate`: applies pending migrations and exits.
int run_migrate(const serve_config& config);

}  // namespace bsocial::apps
