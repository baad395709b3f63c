#include "apps/serve.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "apps/common.hpp"
#include "bsocial/api/handlers.hpp"
#include "bsocial/api/routes.hpp"
#include "bsocial/auth/jwt.hpp"
#include "bsocial/auth/login_throttle.hpp"
#include "bsocial/auth/password.hpp"
#include "bsocial/core/random.hpp"
#include "bsocial/core/stop_signals.hpp"
#include "bsocial/events/event.hpp"
#include "bsocial/http/metrics.hpp"
#include "bsocial/http/server.hpp"
#include "bsocial/http/static_files.hpp"
#include "bsocial/kafka/outbox_publisher.hpp"
#include "bsocial/notify/delivery.hpp"
#include "bsocial/notify/hub.hpp"
#include "bsocial/outbox/relay.hpp"
#include "bsocial/sessions/authenticator.hpp"
#include "bsocial/sessions/roles.hpp"
#include "bsocial/sessions/session_service.hpp"
#include "bsocial/social/accounts.hpp"
#include "bsocial/social/fanout.hpp"
#include "bsocial/social/feed_storage.hpp"
#include "bsocial/social/graph.hpp"
#include "bsocial/social/posts.hpp"
#include "bsocial/store/database.hpp"
#include "bsocial/store/pg_wakeup.hpp"
#include "bsocial/store/sql_error.hpp"
#include "bsocial/store/wal_checkpointer.hpp"

namespace bsocial::apps {

namespace {

/// Checked sessions kept in memory (SQLite, one serve): about 300 bytes each, so at most
/// ~30 MB; the least recently used go first.
constexpr std::size_t max_cached_sessions = 100'000;
kafka::producer_options kafka_options_of(const serve_config& config,
                                         const kafka::client_security& security) {
    security.validate();
    kafka::producer_options k;
    k.brokers = config.kafka_brokers;
    k.security = security;
    k.message_timeout_ms = config.kafka_message_timeout_ms;
    for (const auto topic : {events::topics::users, events::topics::posts,
                             events::topics::comments, events::topics::follows})
        k.known_topics.emplace_back(topic);
    return k;
}

outbox::relay_options relay_options_of(const serve_config& config) {
    outbox::relay_options r;
    r.crash_after_publish = config.relay_crash_after_publish;
    r.flush_timeout = std::chrono::milliseconds(config.kafka_message_timeout_ms + 5000);
    r.idle_poll = std::chrono::milliseconds(config.relay_poll_ms);
    return r;
}

std::string fanout_metrics(const social::fanout_status& s, std::int64_t backlog) {
    using http::prometheus_metric;
    return prometheus_metric("bsocial_timeline_fanout_posts_total", "counter",
                             "Posts copied into their followers' home timelines.",
                             static_cast<double>(s.posts_total)) +
           prometheus_metric("bsocial_timeline_fanout_backlog", "gauge",
                             "Posts waiting for the fan-out worker.",
                             static_cast<double>(backlog)) +
           prometheus_metric(
               "bsocial_timeline_fanout_lag_seconds", "gauge",
               "Post created -> in its followers' timelines, newest of the last batch.",
               s.last_lag_seconds);
}

/// "sqlite:<path>" -> "<path>".
std::string sqlite_path_of(const std::string& db_url) {
    constexpr std::string_view prefix = "sqlite:";
    return db_url.rfind(prefix, 0) == 0 ? db_url.substr(prefix.size()) : db_url;
}

std::string checkpointer_metrics(const store::wal_checkpointer_status& s) {
    using http::prometheus_metric;
    return prometheus_metric("bsocial_sqlite_checkpoints_total", "counter",
                             "Background WAL checkpoints (PASSIVE) run by the checkpointer.",
                             static_cast<double>(s.checkpoints_total)) +
           prometheus_metric("bsocial_sqlite_wal_catch_ups_total", "counter",
                             "Checkpoints run with writers held: the WAL outgrew its bound.",
                             static_cast<double>(s.catch_ups_total)) +
           prometheus_metric("bsocial_sqlite_wal_bytes", "gauge",
                             "WAL size after the last checkpoint.",
                             static_cast<double>(s.wal_frames * s.page_size));
}

std::string timeline_cache_metrics(const social::timeline_cache_stats& s) {
    using http::prometheus_metric;
    return prometheus_metric("bsocial_feed_cache_users", "gauge",
                             "Home timelines held in memory (SQLite).",
                             static_cast<double>(s.users)) +
           prometheus_metric("bsocial_feed_cache_entries", "gauge",
                             "Posts held in the in-memory home timelines.",
                             static_cast<double>(s.entries)) +
           prometheus_metric("bsocial_feed_cache_builds_total", "counter",
                             "Home timelines built from the posts (first read, after a follow).",
                             static_cast<double>(s.builds)) +
           prometheus_metric("bsocial_feed_cache_evictions_total", "counter",
                             "Home timelines dropped to stay within BSOCIAL_FEED_CACHE_USERS.",
                             static_cast<double>(s.evictions));
}

std::string hasher_metrics(const auth::password_hasher& h) {
    using http::prometheus_metric;
    return prometheus_metric("bsocial_password_hashes_total", "counter",
                             "Argon2id hashes computed (registrations).",
                             static_cast<double>(h.hashed_total())) +
           prometheus_metric("bsocial_password_verifications_total", "counter",
                             "Argon2id verifications run (logins, unknown users included).",
                             static_cast<double>(h.verified_total())) +
           prometheus_metric("bsocial_password_hash_refused_total", "counter",
                             "Hashes refused with 503 because the hashing queue was full.",
                             static_cast<double>(h.refused_total()));
}

std::string relay_metrics(const outbox::relay_status& s) {
    using http::prometheus_metric;
    return prometheus_metric("bsocial_outbox_published_total", "counter",
                             "Outbox events acknowledged by Kafka.",
                             static_cast<double>(s.published_total)) +
           prometheus_metric("bsocial_outbox_failed_batches_total", "counter",
                             "Relay batches not fully acknowledged.",
                             static_cast<double>(s.failed_batches_total)) +
           prometheus_metric("bsocial_outbox_publish_lag_seconds", "gauge",
                             "Write-to-acknowledged time of the newest published event.",
                             s.last_lag_seconds);
}
}  // namespace

namespace {
/// On PostgreSQL, a LISTEN that nudges `relay` when another process wrote events; null on
/// SQLite (one process: its writes nudge the relay directly).
std::unique_ptr<store::pg_wakeup> relay_wakeup_of(const store::database& db,
                                                  const std::string& db_url,
                                                  outbox::outbox_relay& relay) {
    if (db.kind() != store::dialect::postgresql) return nullptr;
    return std::make_unique<store::pg_wakeup>(db_url, outbox::relay_channel,
                                              [&relay] { relay.nudge(); });
}
}  // namespace

int run_relay(const serve_config& config, const kafka::client_security& kafka_security) {
    if (config.kafka_brokers.empty())
        throw std::invalid_argument("the relay needs Kafka: set BSOCIAL_KAFKA_BROKERS or --kafka");
    stop_signals signals;  // before any thread exists (librdkafka's, the relay's)
    const system_clock clock;
    store::database db(effective_db_url(config), 1);
    db.migrate();
    kafka::outbox_publisher publisher(kafka_options_of(config, kafka_security));
    outbox::outbox_relay relay(db, publisher, clock, relay_options_of(config));
    auto wakeup = relay_wakeup_of(db, effective_db_url(config), relay);
    relay.start();
    if (wakeup) wakeup->start();
    std::printf("bsocial relay publishing to %s (%s)\n", config.kafka_brokers.c_str(),
                kafka_security.describe_for_log().c_str());
    std::fflush(stdout);
    signals.wait();
    if (wakeup) wakeup->stop();
    relay.stop();
    return 0;
}

int run_migrate(const serve_config& config) {
    store::database db(effective_db_url(config), 1);
    const int applied = db.migrate();
    spdlog::info("module=store event=migrated applied={} db={}", applied,
                 describe_db(effective_db_url(config)));
    return 0;
}

int run_serve(const serve_config& config, const analytics::settings& analytics_settings,
              const kafka::client_security& kafka_security) {
    analytics_settings.validate();
    stop_signals signals;  // before any thread exists (the hasher's, librdkafka's...)
    init_crypto();
    const system_clock clock;
    const auto common = auth::common_passwords::load(config.common_passwords_path);
    const auth::token_service tokens(load_jwt_secret(config), clock, config.token_ttl_seconds);
    // Argon2id on its own pool with a bounded queue (docs/security.md, item 1).
    auth::password_hasher hasher(
        {.threads = config.hash_threads, .queue_bound = config.hash_queue});
    // Per address 4x the per-account limit: several people may share one address (NAT).
    const auto keys = static_cast<std::size_t>(config.login_throttle_keys);
    auth::login_throttle per_login(clock, config.login_max_failures, config.login_window_seconds,
                                   keys);
    auth::login_throttle per_address(clock, 4 * config.login_max_failures,
                                     config.login_window_seconds, keys);
    auth::rate_limiter registrations(clock, config.registrations_per_minute,
                                     config.registration_burst, keys);

    const std::string db_url = effective_db_url(config);
    store::database db(db_url, static_cast<std::size_t>(config.db_pool_size));
    const int applied = db.migrate();
    spdlog::info("module=store event=ready db={} migrations_applied={}", describe_db(db_url),
                 applied);
    // SQLite: WAL checkpoints on a thread of their own, not in a request's COMMIT
    // (store/wal_checkpointer.hpp). Before anything else uses the pool.
    std::unique_ptr<store::wal_checkpointer> checkpointer;
    if (db.kind() == store::dialect::sqlite)
        checkpointer = std::make_unique<store::wal_checkpointer>(db, sqlite_path_of(db_url));

    social::accounts accounts(db, hasher, per_login, per_address, registrations, common, clock);
    // SQLite: the home timelines live in memory (one serve per database file); on
    // PostgreSQL, shared by every instance, in the database (docs/feed.md).
    std::unique_ptr<social::feed_storage_lock> feed_lock;
    // Checked sessions in memory too, when this is the one serve of the file: only it can
    // revoke them (sessions/session_cache.hpp).
    std::unique_ptr<sessions::session_cache> session_cache;
    if (db.kind() == store::dialect::sqlite) {
        const bool in_memory = config.feed_cache_users > 0;
        feed_lock = std::make_unique<social::feed_storage_lock>(sqlite_path_of(db_url), in_memory);
        if (social::prepare_timeline_tables(db, in_memory, clock.now_ms()))
            spdlog::warn("module=social event=timelines_reset reason=kept_in_memory_before "
                         "(older pages are read from the posts until new posts fill them)");
        if (in_memory)
            session_cache = std::make_unique<sessions::session_cache>(max_cached_sessions);
    }
    sessions::session_service sessions(db, tokens, clock, session_cache.get());
    std::unique_ptr<social::timeline_cache> timeline_cache;
    std::unique_ptr<social::post_cache> post_cache;
    if (db.kind() == store::dialect::sqlite && config.feed_cache_users > 0) {
        timeline_cache = std::make_unique<social::timeline_cache>(
            config.feed_timeline_capacity, static_cast<std::size_t>(config.feed_cache_users));
        post_cache = std::make_unique<social::post_cache>(static_cast<std::size_t>(
            std::max<std::int64_t>(config.feed_cache_posts, 1)));
    }
    const social::timelines timelines(db, timeline_settings_of(config), timeline_cache.get(),
                                      post_cache.get());
    social::graph graph(db, timelines, clock);
    social::posts posts(db, timelines, clock);
    social::timeline_fanout fanout(db, timelines, clock);
    const sessions::authenticator auth(sessions, config.allowed_origins, config.cookie_secure,
                                       config.token_ttl_seconds);

    // The outbox relay runs inside serve unless disabled or Kafka is not configured; the
    // outbox keeps every event meanwhile.
    std::unique_ptr<kafka::outbox_publisher> publisher;
    std::unique_ptr<outbox::outbox_relay> relay;
    if (!config.kafka_brokers.empty() && config.relay_enabled) {
        publisher = std::make_unique<kafka::outbox_publisher>(
            kafka_options_of(config, kafka_security));
        relay =
            std::make_unique<outbox::outbox_relay>(db, *publisher, clock, relay_options_of(config));
    }
    // PostgreSQL, several processes: every relay listens, a process without one rings.
    std::unique_ptr<store::pg_wakeup> relay_wakeup;
    std::unique_ptr<store::pg_doorbell> relay_doorbell;
    if (relay)
        relay_wakeup = relay_wakeup_of(db, db_url, *relay);
    else if (db.kind() == store::dialect::postgresql)
        relay_doorbell = std::make_unique<store::pg_doorbell>(db_url, outbox::relay_channel);

    http::metrics stats;
    const sessions::roles roles(config.admins);
    api::sessions_handler sessions_h(accounts, sessions, auth);
    api::users_handler users_h(accounts, graph, auth, roles);
    api::posts_handler posts_h(posts, auth);
    api::ops_extras ops_extras;
    ops_extras.metrics = [&relay, &fanout, &hasher, &timeline_cache, &checkpointer] {
        return fanout_metrics(fanout.status(), fanout.backlog()) +
               (checkpointer ? checkpointer_metrics(checkpointer->status()) : "") +
               (timeline_cache ? timeline_cache_metrics(timeline_cache->stats()) : "") + hasher_metrics(hasher) +
               (relay ? relay_metrics(relay->status()) : std::string());
    };
    if (relay) {
        ops_extras.outbox_details = [&relay] {
            const auto s = relay->status();
            return boost::json::object{{"relay", "running"},
                                       {"kafka", s.broker_state},
                                       {"published_total", s.published_total},
                                       {"publish_lag_seconds", s.last_lag_seconds}};
        };
    } else {
        ops_extras.outbox_details = [] { return boost::json::object{{"relay", "off"}}; };
    }
    api::ops_handler ops_h(db, stats, {}, std::move(ops_extras));

    // Notification delivery is mounted here too, so the browser has one origin; the
    // notifier process stores them, any instance pushes them (docs/notifications.md).
    notify::notification_store notifications(db);
    notify::hub pushes(db, notifications, sessions, hub_options_of(config));
    notify::delivery delivery(notifications, pushes, auth, clock);

    // The web app (web/dist) at "/", when configured; API paths never fall back to it.
    std::optional<http::static_files> web_app;
    if (!config.static_dir.empty()) web_app.emplace(config.static_dir);
    http::router_hooks hooks;
    // Never e.what() of a database error: SOCI puts the bound values in it (item 3).
    hooks.on_exception = [](const http::request& req, const std::exception& e) {
        spdlog::error("module=http event=handler_failed route={} error=\"{}\"", req.route,
                      store::describe_error(e));
    };
    // A lost database connection is the environment, not a bug: 503 + Retry-After, so a
    // client (or nginx) tries again once the pool has reconnected. Never retried here: a
    // write whose COMMIT was lost may have committed.
    hooks.translate_exception = [&db](const std::exception& e) -> std::optional<bsocial::error> {
        if (!db.connection_lost(e)) return std::nullopt;
        spdlog::warn("module=http event=database_unavailable error=\"{}\"",
                     store::describe_error(e));
        return store::database_unavailable();
    };
    if (web_app) {
        hooks.fallback = [&web_app](const http::request& req) -> std::optional<http::response> {
            if (req.path.rfind("/api/", 0) == 0) return std::nullopt;
            return web_app->serve(req);
        };
    }
    hooks.on_response = [&relay, &relay_doorbell, &fanout, &timelines](const http::request& req,
                                                            const http::response& res) {
        if (req.method == "GET" || res.status >= 300) return;
        if (req.route == "/api/v1/posts" && !timelines.in_memory()) fanout.nudge();
        if (relay) relay->nudge();
        if (relay_doorbell) relay_doorbell->ring();
    };
    http::router router(std::move(hooks));
    api::add_routes(router, {sessions_h, users_h, posts_h, ops_h});
    notify::add_notification_routes(router, delivery);
    // Administrators' analytics: the search engine's ranking + SQL's posts (docs/analytics.md).
    analytics::handler analytics_h(analytics_settings, db, auth, roles);
    analytics::add_analytics_routes(router, analytics_h);
    spdlog::info("module=serve event=analytics search_engine={} admins={}",
                 analytics_settings.configured() ? "configured" : "none (analytics answer 503)",
                 roles.admins().size());

    auto options = server_options_of(config);
    // The SQL pool has a thread per database connection. Requests waiting for a password
    // hash hold a thread each (at most threads + queue of them), analytics requests wait on
    // the search engine (bounded): they get the waiting pool, so reads never wait behind
    // them (http/router.hpp, runs_on). It has db_pool_size threads more than can wait, so
    // requests beyond the hasher's bound still reach it and are refused at once (503),
    // rather than queueing for a thread without bound. Idle, they cost nothing.
    options.blocking_threads = config.db_pool_size;
    options.waiting_threads =
        hasher.max_waiting_callers() + config.db_pool_size +
        (analytics_settings.configured() ? analytics_settings.max_concurrent : 0);
    options.body_limit = static_cast<std::size_t>(config.body_limit_bytes);
    options.request_timeout = std::chrono::seconds(config.request_timeout_seconds);
    http::server server(options, router, stats);
    signals.on_stop([&server] { server.stop(); });
    const unsigned port = server.listen();
    std::printf("bsocial serve listening on http://%s:%u\n", config.bind.c_str(), port);
    std::fflush(stdout);
    spdlog::info("module=serve event=listening bind={} port={}", config.bind, port);
    if (checkpointer) checkpointer->start();
    if (relay) relay->start();
    if (relay_wakeup) relay_wakeup->start();
    if (relay_doorbell) relay_doorbell->start();
    if (!timelines.in_memory()) fanout.start();
    pushes.start();
    server.run();
    pushes.stop();
    fanout.stop();
    if (relay_doorbell) relay_doorbell->stop();
    if (relay_wakeup) relay_wakeup->stop();
    if (relay) relay->stop();
    if (checkpointer) checkpointer->stop();
    spdlog::info("module=serve event=stopped hashes_refused={}", hasher.refused_total());
    return 0;
}

}  // namespace bsocial::apps
