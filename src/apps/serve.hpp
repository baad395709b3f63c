#pragma once

#include "bsocial/analytics/handler.hpp"
#include "bsocial/api/metrics_access.hpp"
#include "bsocial/auth/login_guard.hpp"
#include "bsocial/core/config.hpp"
#include "bsocial/http/websocket.hpp"
#include "bsocial/kafka/security.hpp"
#include "bsocial/social/user_limits.hpp"

namespace bsocial::apps {

/// `bsocial serve`: wires the API process together and runs it until SIGTERM. Returns the
/// process exit code.
/// `analytics`: the search engine of /api/v1/analytics/* (not configured: they answer 503).
/// `kafka`: TLS / SASL of the relay's producer (kafka/security.hpp).
/// `user_limits`: posts, comments, follows, searches per user; `websocket`: frames per socket.
/// `security`: the failed-login ceiling and who reads /metrics (issue 24, items 2 and 6).
struct serve_security {
    auth::login_limits logins;     ///< the failed-login ceiling per account
    api::metrics_access metrics;  ///< who reads /metrics
};
int run_serve(const serve_config& config, const analytics::settings& analytics = {},
              const kafka::client_security& kafka = {},
              const social::user_limit_settings& user_limits = {},
              const http::websocket_limits& websocket = {},
              const serve_security& security = {});

/// `bsocial relay`: publishes the outbox to Kafka without serving HTTP (when `serve` runs
/// with the relay disabled, or to run it on its own).
int run_relay(const serve_config& config, const kafka::client_security& kafka = {});

/// `bsocial migrate`: applies pending migrations and exits.
int run_migrate(const serve_config& config);

}  // namespace bsocial::apps
