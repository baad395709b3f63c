#pragma once

#include "bsocial/analytics/handler.hpp"
#include "bsocial/api/metrics_access.hpp"
#include "bsocial/auth/login_guard.hpp"
#include "bsocial/core/config.hpp"

namespace bsocial::apps {

/// `bsocial serve`: wires the API process together and runs it until SIGTERM. Returns the
/// process exit code.
/// `analytics`: the search engine of /api/v1/analytics/* (not configured: they answer 503).
/// Module-owned settings of serve's security controls (issue 24), bound in main.cpp.
struct serve_security {
    auth::login_limits logins;     ///< the failed-login ceiling per account
    api::metrics_access metrics;  ///< who reads /metrics
};
int run_serve(const serve_config& config, const analytics::settings& analytics = {},
              const serve_security& security = {});

/// `bsocial relay`: publishes the outbox to Kafka without serving HTTP (when `serve` runs
/// with the relay disabled, or to run it on its own).
int run_relay(const serve_config& config);

/// `bsocial migrate`: applies pending migrations and exits.
int run_migrate(const serve_config& config);

}  // namespace bsocial::apps
