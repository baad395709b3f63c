#pragma once
// What each subcommand takes: a settings_group (core/settings.hpp) of the structs that
// the modules it runs own. A subcommand accepts exactly these flags and variables; the
// README's table (`bsocial settings --markdown`) is rendered from these same lists.
//
// A new setting goes into its module's struct (one `d(...)` line in its describe, a check
// in its validate); every subcommand that composes the struct takes it from there.

#include "bsocial/analytics/handler.hpp"
#include "bsocial/api/metrics_access.hpp"
#include "bsocial/auth/login_guard.hpp"
#include "bsocial/auth/settings.hpp"
#include "bsocial/core/log_settings.hpp"
#include "bsocial/core/settings.hpp"
#include "bsocial/http/settings.hpp"
#include "bsocial/http/websocket.hpp"
#include "bsocial/kafka/security.hpp"
#include "bsocial/kafka/settings.hpp"
#include "bsocial/notify/settings.hpp"
#include "bsocial/outbox/settings.hpp"
#include "bsocial/seed/dataset.hpp"
#include "bsocial/sessions/settings.hpp"
#include "bsocial/social/settings.hpp"
#include "bsocial/social/user_limits.hpp"
#include "bsocial/store/settings.hpp"
#include "bsocial/telemetry/config.hpp"

namespace bsocial::apps {

/// `bsocial serve`: the API, the feed, notification delivery, analytics, and (with Kafka)
/// the outbox relay.
using serve_settings =
    settings_group<http::server_settings, store::database_settings, log_settings,
                   auth::token_settings, auth::throttle_settings, auth::password_settings,
                   store::pool_settings, sessions::cookie_settings, kafka::broker_settings,
                   kafka::client_security, outbox::embedded_relay_settings,
                   outbox::relay_settings, kafka::producer_settings, sessions::admin_settings,
                   http::static_files_settings, social::timeline_settings,
                   social::feed_cache_settings, social::fanout_settings, social::user_limit_settings,
                   http::websocket_limits, notify::hub_settings, analytics::settings,
                   api::metrics_access, sessions::session_cache_settings,
                   sessions::warm_settings>;

/// `bsocial notifier`: Kafka's comments into notifications, and their delivery routes on
/// a port of its own (BSOCIAL_NOTIFIER_PORT, 8081).
struct notifier_settings
    : settings_group<http::server_settings, store::database_settings, log_settings,
                     auth::token_settings, store::pool_settings, sessions::cookie_settings,
                     kafka::broker_settings, kafka::client_security, notify::hub_settings,
                     http::websocket_limits, api::metrics_access> {
    notifier_settings() {
        auto& server = get<http::server_settings>();
        server.port = 8081;
        server.port_env = "BSOCIAL_NOTIFIER_PORT";
    }
};

/// `bsocial admin`: the database whose administrators it manages.
using admin_command_settings = settings_group<store::database_settings, log_settings>;

/// `bsocial migrate`: the database only.
using migrate_settings = settings_group<store::database_settings, log_settings>;

/// `bsocial relay`: the outbox to Kafka, no HTTP.
using relay_settings =
    settings_group<store::database_settings, log_settings, kafka::broker_settings,
                   kafka::client_security, outbox::relay_settings, kafka::producer_settings>;

/// `bsocial seed`: the database and the timelines' shape (as serve's); the data set's own
/// flags (seed::options) are bound next to them.
using seed_settings = settings_group<store::database_settings, social::timeline_settings>;

/// `bsocial telemetry`: Kafka -> Elasticsearch.
using telemetry_settings = settings_group<telemetry::telemetry_config, log_settings>;

/// `bsocial query`: a stored query; q2/q3 read the posts' details from the API's database.
struct query_settings
    : settings_group<telemetry::query_config, store::database_settings, log_settings> {
    query_settings() { get<log_settings>().level = "warn"; }
};

}  // namespace bsocial::apps
