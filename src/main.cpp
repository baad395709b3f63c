// bsocial: one executable, one subcommand per process (serve, migrate, relay, seed,
// notifier, telemetry, query). This file only parses configuration and dispatches. The
// long-running ones (serve, relay, notifier, telemetry) take SIGINT/SIGTERM one way:
// a bsocial::stop_signals made first thing in their entry point (core/stop_signals.hpp).

#include <malloc.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>

#include "apps/notifier.hpp"
#include "apps/seed.hpp"
#include "apps/serve.hpp"
#include "apps/settings_cli.hpp"
#include "apps/telemetry.hpp"
#include "bsocial/core/config.hpp"
#include "bsocial/http/client_address.hpp"

namespace {

void add_serve_options(CLI::App& cmd, bsocial::serve_config& c,
                       const std::string& port_env = "BSOCIAL_PORT") {
    cmd.add_option("--bind", c.bind, "address to listen on")->envname("BSOCIAL_BIND");
    cmd.add_option("--port", c.port, "port (0 = any free port)")->envname(port_env);
    cmd.add_option("--data-dir", c.data_dir, "data directory (SQLite file, generated secret)")
        ->envname("BSOCIAL_DATA_DIR");
    cmd.add_option("--db", c.db_url, "database URL: postgresql://... (default: SQLite in data dir)")
        ->envname("BSOCIAL_DB");
    cmd.add_option("--log-level", c.log_level, "trace|debug|info|warn|error")
        ->envname("BSOCIAL_LOG_LEVEL");
    cmd.add_option("--token-ttl", c.token_ttl_seconds, "token lifetime in seconds")
        ->envname("BSOCIAL_TOKEN_TTL_SECONDS");
    cmd.add_option("--login-max-failures", c.login_max_failures,
                   "failed logins per identifier before 429 (4x per address)")
        ->envname("BSOCIAL_LOGIN_MAX_FAILURES");
    cmd.add_option("--login-window", c.login_window_seconds, "failed-login window in seconds")
        ->envname("BSOCIAL_LOGIN_WINDOW_SECONDS");
    cmd.add_option("--login-throttle-keys", c.login_throttle_keys,
                   "keys each failed-login limiter remembers (least recently used forgotten)")
        ->envname("BSOCIAL_LOGIN_THROTTLE_KEYS");
    cmd.add_option("--hash-threads", c.hash_threads, "password hashes computed at once")
        ->envname("BSOCIAL_HASH_THREADS");
    cmd.add_option("--hash-queue", c.hash_queue,
                   "password hashes allowed to wait; beyond that 503 + Retry-After")
        ->envname("BSOCIAL_HASH_QUEUE");
    cmd.add_option("--registrations-per-minute", c.registrations_per_minute,
                   "registrations per client address per minute (0 = no limit)")
        ->envname("BSOCIAL_REGISTRATIONS_PER_MINUTE");
    cmd.add_option("--registration-burst", c.registration_burst,
                   "registrations one client address may make at once")
        ->envname("BSOCIAL_REGISTRATION_BURST");
    cmd.add_option("--io-threads", c.io_threads, "I/O threads")->envname("BSOCIAL_IO_THREADS");
    cmd.add_option("--db-pool", c.db_pool_size, "database connections = blocking threads")
        ->envname("BSOCIAL_DB_POOL");
    cmd.add_option("--cookie-secure", c.cookie_secure, "mark the session cookie Secure (TLS)")
        ->envname("BSOCIAL_COOKIE_SECURE");
    cmd.add_option("--allowed-origins", c.allowed_origins,
                   "extra origins allowed for cookie-authenticated writes")
        ->envname("BSOCIAL_ALLOWED_ORIGINS")
        ->delimiter(',');
    cmd.add_option("--trusted-proxies", c.trusted_proxies,
                   "reverse proxies (CIDRs, comma-separated) whose X-Forwarded-For, "
                   "X-Forwarded-Host and X-Forwarded-Proto are believed (default: none)")
        ->envname("BSOCIAL_TRUSTED_PROXIES")
        ->delimiter(',')
        ->check(
            [](const std::string& entry) -> std::string {
                try {
                    bsocial::http::trusted_proxies({entry});
                    return {};
                } catch (const std::invalid_argument& e) {
                    return e.what();
                }
            },
            "CIDR");
    cmd.add_option("--common-passwords", c.common_passwords_path, "common-password list file")
        ->envname("BSOCIAL_COMMON_PASSWORDS");
    cmd.add_option("--kafka", c.kafka_brokers, "Kafka bootstrap servers (empty: relay off)")
        ->envname("BSOCIAL_KAFKA_BROKERS");
    cmd.add_option("--relay", c.relay_enabled, "run the outbox relay in this process")
        ->envname("BSOCIAL_RELAY");
    cmd.add_option("--relay-poll-ms", c.relay_poll_ms,
                   "how often an idle outbox relay looks for events nobody woke it for")
        ->envname("BSOCIAL_RELAY_POLL_MS");
    cmd.add_option("--kafka-message-timeout-ms", c.kafka_message_timeout_ms,
                   "Kafka delivery timeout per message")
        ->envname("BSOCIAL_KAFKA_MESSAGE_TIMEOUT_MS");
    cmd.add_option("--admins", c.admins,
                   "usernames of the administrators (they see /api/v1/analytics), comma-separated")
        ->envname("BSOCIAL_ADMINS")
        ->delimiter(',');
    cmd.add_option("--static-dir", c.static_dir, "web app files to serve at /")
        ->envname("BSOCIAL_STATIC_DIR");
    cmd.add_option("--header-timeout", c.header_timeout_seconds,
                   "seconds a new connection has to send its request headers")
        ->envname("BSOCIAL_HEADER_TIMEOUT_SECONDS");
    cmd.add_option("--keep-alive-timeout", c.keep_alive_timeout_seconds,
                   "seconds an idle keep-alive connection is kept")
        ->envname("BSOCIAL_KEEP_ALIVE_TIMEOUT_SECONDS");
    cmd.add_option("--max-connections", c.max_connections,
                   "open connections at most (0 = the descriptor limit minus headroom)")
        ->envname("BSOCIAL_MAX_CONNECTIONS");
    cmd.add_option("--max-connections-per-client", c.max_connections_per_client,
                   "open connections at most per client address")
        ->envname("BSOCIAL_MAX_CONNECTIONS_PER_CLIENT");
    cmd.add_option("--feed-timeline-capacity", c.feed_timeline_capacity,
                   "entries kept per home timeline")
        ->envname("BSOCIAL_FEED_TIMELINE_CAPACITY");
    cmd.add_option("--feed-celebrity-followers", c.feed_celebrity_followers,
                   "followers from which an author's posts are merged at read time")
        ->envname("BSOCIAL_FEED_CELEBRITY_FOLLOWERS");
    cmd.add_option("--feed-merge-max-followees", c.feed_merge_max_followees,
                   "below the horizon, merge one index range per followee up to this many")
        ->envname("BSOCIAL_FEED_MERGE_MAX_FOLLOWEES");
    cmd.add_option("--feed-walk-max-rows", c.feed_walk_max_rows,
                   "below the horizon, walk at most this many posts before merging")
        ->envname("BSOCIAL_FEED_WALK_MAX_ROWS");
    cmd.add_option("--feed-cache-users", c.feed_cache_users,
                   "SQLite: keep the home timelines of this many users in memory (0: in the "
                   "database)")
        ->envname("BSOCIAL_FEED_CACHE_USERS");
    cmd.add_option("--feed-cache-posts", c.feed_cache_posts,
                   "SQLite, with --feed-cache-users: keep this many posts in memory")
        ->envname("BSOCIAL_FEED_CACHE_POSTS");
    cmd.add_option("--notify-sockets-per-user", c.notify_sockets_per_user,
                   "notification WebSockets per user and process; one more closes the oldest")
        ->envname("BSOCIAL_NOTIFY_SOCKETS_PER_USER");
    cmd.add_option("--notify-safety-poll-ms", c.notify_safety_poll_ms,
                   "pushers re-read recent notifications this often, in case a wake-up was lost")
        ->envname("BSOCIAL_NOTIFY_SAFETY_POLL_MS");
}

/// Defaults every process shares that are not flags: the JWT secret never travels in argv.
bsocial::serve_config config_from_environment() {
    bsocial::serve_config c;
    if (const char* secret = std::getenv("BSOCIAL_JWT_SECRET")) c.jwt_secret = secret;
    if (const char* crash = std::getenv("BSOCIAL_TEST_RELAY_CRASH_AFTER_PUBLISH"))
        c.relay_crash_after_publish = std::string(crash) == "1";
    return c;
}

}  // namespace

int main(int argc, char** argv) {
    // glibc hands freed memory back to the kernel as soon as 128 KiB sit free at the top
    // of a heap; under load every request then faults its pages in again, and the unmaps
    // stop the other threads for TLB shootdowns (a third of the feed's CPU, measured in
    // docs/feed.md). Keep up to 256 MiB, and serve blocks below 32 MiB from the heaps.
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    CLI::App app{"bSocial: a small social network with an event-driven backend"};
    app.require_subcommand(1);
    bsocial::serve_config config = config_from_environment();

    auto* serve = app.add_subcommand("serve", "run the HTTP API");
    add_serve_options(*serve, config);
    bsocial::analytics::settings analytics;
    bsocial::apps::add_analytics_options(*serve, analytics);
    auto* migrate = app.add_subcommand("migrate", "apply database migrations and exit");
    add_serve_options(*migrate, config);
    auto* relay = app.add_subcommand("relay", "publish the outbox to Kafka (no HTTP)");
    add_serve_options(*relay, config);
    bsocial::serve_config notifier_config = config_from_environment();
    notifier_config.port = 8081;
    auto* notifier = app.add_subcommand(
        "notifier", "turn comments on Kafka into notifications; serve claim, history, WebSocket");
    add_serve_options(*notifier, notifier_config, "BSOCIAL_NOTIFIER_PORT");

    // Kafka TLS / SASL (kafka/security.hpp), one struct per process kind.
    bsocial::kafka::client_security serve_kafka, relay_kafka, notifier_kafka;
    bsocial::apps::bind_settings(*serve, serve_kafka);
    bsocial::apps::bind_settings(*relay, relay_kafka);
    bsocial::apps::bind_settings(*notifier, notifier_kafka);

    // Services with their own configuration register their subcommands here; the one
    // chosen on the command line leaves its entry point in `chosen`.
    std::function<int()> chosen;
    bsocial::apps::add_telemetry_commands(app, chosen);
    bsocial::apps::add_seed_command(app, config, chosen);

    CLI11_PARSE(app, argc, argv);

    auto logger = spdlog::stderr_color_mt("bsocial");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
    // Validated once, then passed by const& to the process's entry point.
    const auto run = [](const bsocial::serve_config& c, const auto& entry) {
        c.validate();
        spdlog::set_level(spdlog::level::from_str(c.log_level));
        return entry(c);
    };
    try {
        if (*serve)
            return run(config, [&analytics, &serve_kafka](const bsocial::serve_config& c) {
                return bsocial::apps::run_serve(c, analytics, serve_kafka);
            });
        if (*migrate) return run(config, bsocial::apps::run_migrate);
        if (*relay)
            return run(config, [&relay_kafka](const bsocial::serve_config& c) {
                return bsocial::apps::run_relay(c, relay_kafka);
            });
        if (*notifier)
            return run(notifier_config, [&notifier_kafka](const bsocial::serve_config& c) {
                return bsocial::apps::run_notifier(c, notifier_kafka);
            });
        if (chosen) return chosen();
    } catch (const std::exception& e) {
        spdlog::critical("module=main event=fatal error=\"{}\"", e.what());
        std::fprintf(stderr, "bsocial: %s\n", e.what());
        return 1;
    }
    return 0;
}
