// `bsocial serve`: wires the API process together and runs it until SIGTERM.

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <optional>

#include "apps/builders.hpp"
#include "apps/commands.hpp"
#include "apps/jwt_secret_file.hpp"
#include "apps/settings.hpp"
#include "bsocial/api/handlers.hpp"
#include "bsocial/api/json_io.hpp"
#include "bsocial/api/routes.hpp"
#include "bsocial/auth/login_guard.hpp"
#include "bsocial/auth/password.hpp"
#include "bsocial/auth/rate_limiter.hpp"
#include "bsocial/core/random.hpp"
#include "bsocial/core/service_group.hpp"
#include "bsocial/core/stop_signals.hpp"
#include "bsocial/http/metrics.hpp"
#include "bsocial/http/static_files.hpp"
#include "bsocial/sessions/feed_warmer.hpp"
#include "bsocial/sessions/roles.hpp"
#include "bsocial/social/accounts.hpp"
#include "bsocial/social/fanout.hpp"
#include "bsocial/social/feed_bus.hpp"
#include "bsocial/social/feed_storage.hpp"
#include "bsocial/social/graph.hpp"
#include "bsocial/social/people.hpp"
#include "bsocial/social/posts.hpp"
#include "bsocial/store/cluster_bus.hpp"
#include "bsocial/store/sql_error.hpp"
#include "bsocial/store/wal_checkpointer.hpp"

namespace bsocial::apps {

namespace {

/// Checked sessions kept in memory: about 300 bytes each, so at most ~30 MB; the least
/// recently used go first.
constexpr std::size_t max_cached_sessions = 100'000;

/// "sqlite:<path>" -> "<path>".
std::string sqlite_path_of(const std::string& db_url) {
    constexpr std::string_view prefix = "sqlite:";
    return db_url.rfind(prefix, 0) == 0 ? db_url.substr(prefix.size()) : db_url;
}

/// One line per BSOCIAL_ADMINS name: granted, decided before, or a warning that nobody
/// holds it (registering it later grants nothing).
void log_admin_bootstrap(const std::vector<sessions::bootstrap_outcome>& outcomes) {
    using kind = sessions::bootstrap_outcome::kind;
    for (const auto& o : outcomes) {
        switch (o.what) {
            case kind::granted:
                spdlog::info("module=sessions event=admin_bootstrap_granted username={} account={}",
                             o.username, o.account_id.value_or(0));
                break;
            case kind::already_decided:
                spdlog::info("module=sessions event=admin_bootstrap_already_decided username={} "
                             "(bsocial admin list shows who holds the role)",
                             o.username);
                break;
            case kind::nobody_holds_it:
                spdlog::warn("module=sessions event=admin_bootstrap_unknown_name username={} "
                             "action=none (BSOCIAL_ADMINS grants only accounts that exist when a "
                             "name is first listed; register it, then run: bsocial admin grant {})",
                             o.username, o.username);
                break;
        }
    }
}

int run_serve(const serve_settings& s) {
    const auto& analytics_settings = s.get<analytics::settings>();
    const auto& passwords = s.get<auth::password_settings>();
    const auto& throttle = s.get<auth::throttle_settings>();
    const auto& pool = s.get<store::pool_settings>();
    const auto& feed = s.get<social::timeline_settings>();
    const auto& feed_cache = s.get<social::feed_cache_settings>();
    stop_signals signals;  // before any thread exists (the hasher's, librdkafka's...)
    init_crypto();
    const system_clock clock;
    const auto& where = s.get<store::database_settings>();
    const auto common = auth::common_passwords::load(passwords.common_passwords_path);
    std::string secret = load_jwt_secret(s.get<auth::token_settings>(), where.data_dir);
    // Argon2id on its own pool with a bounded queue (docs/security.md, item 1).
    auth::password_hasher hasher(
        {.threads = passwords.hash_threads, .queue_bound = passwords.hash_queue});
    // Failed logins: per (account, address), per address (4x: several people may share
    // one address behind NAT) and a much higher per-account ceiling that slows, never locks
    // (auth/login_guard.hpp).
    const auto keys = static_cast<std::size_t>(throttle.login_throttle_keys);
    auth::login_guard logins(clock, {.max_failures = throttle.login_max_failures,
                                     .window_seconds = throttle.login_window_seconds,
                                     .capacity = keys,
                                     .identifier_ceiling = throttle.login_identifier_ceiling,
                                     .slow_seconds = throttle.login_slow_seconds});
    auth::rate_limiter registrations(clock, throttle.registrations_per_minute,
                                     throttle.registration_burst, keys);

    const std::string db_url = where.effective_url();
    store::database db(db_url, static_cast<std::size_t>(pool.size));
    const int applied = db.migrate();
    spdlog::info("module=store event=ready db={} migrations_applied={}",
                 store::describe_url(db_url), applied);
    const bool sqlite = db.kind() == store::dialect::sqlite;
    // Messages between the serve replicas of one database (store/cluster_bus.hpp): cache
    // entries to drop, sessions revoked, live pushes; in-process on SQLite. Subscribers
    // register while being built below; started with the other services.
    store::cluster_bus bus(sqlite ? "" : db_url);
    // SQLite: WAL checkpoints on a thread of their own, not in a request's COMMIT
    // (store/wal_checkpointer.hpp). Before anything else uses the pool.
    std::unique_ptr<store::wal_checkpointer> checkpointer;
    if (sqlite)
        checkpointer = std::make_unique<store::wal_checkpointer>(db, sqlite_path_of(db_url));

    social::accounts accounts(db, hasher, logins, registrations, common, clock);
    // SQLite: the home timelines live in memory (one serve per database file); on
    // PostgreSQL each instance keeps the timelines and posts it reads in memory, kept right
    // by the cluster bus, built from the posts (BSOCIAL_FEED_POSTGRESQL_TIMELINES=memory,
    // the default) or over home_timeline tables that a fan-out worker fills (tables)
    // (docs/feed.md). Checked sessions in memory too (sessions/session_cache.hpp): on
    // SQLite this is the one serve of the file, only it can revoke them; on PostgreSQL
    // every replica hears of each revocation over the bus ("session.revoked" below) and
    // believes an entry for BSOCIAL_SESSION_CACHE_BELIEVE_MS at most (the backstop).
    const bool in_memory = sqlite && feed_cache.users > 0;
    const bool feed_cached = feed_cache.users > 0;
    std::unique_ptr<social::feed_storage_lock> feed_lock;
    std::unique_ptr<sessions::session_cache> session_cache;
    std::unique_ptr<social::timeline_cache> timeline_cache;
    std::unique_ptr<social::post_cache> post_cache;
    std::unique_ptr<social::comment_cache> comment_cache;
    if (sqlite) {
        feed_lock = std::make_unique<social::feed_storage_lock>(sqlite_path_of(db_url), in_memory);
        if (social::prepare_timeline_tables(db, in_memory, clock.now_ms()))
            spdlog::warn("module=social event=timelines_reset reason=kept_in_memory_before "
                         "(older pages are read from the posts until new posts fill them)");
    }
    const int believe_ms = s.get<sessions::session_cache_settings>().believe_ms;
    if (in_memory)
        session_cache = std::make_unique<sessions::session_cache>(max_cached_sessions);
    else if (!sqlite && believe_ms > 0)
        session_cache = std::make_unique<sessions::session_cache>(max_cached_sessions, believe_ms);
    if (feed_cached) {
        timeline_cache = std::make_unique<social::timeline_cache>(
            feed.capacity, static_cast<std::size_t>(feed_cache.users));
        post_cache = std::make_unique<social::post_cache>(
            static_cast<std::size_t>(std::max(feed_cache.posts, 1)));
        // Comment lists too, answered from memory like warm feed pages.
        if (feed_cache.comments > 0)
            comment_cache = std::make_unique<social::comment_cache>(
                static_cast<std::size_t>(feed_cache.comments));
    }
    identity who(db, clock, std::move(secret), s.get<auth::token_settings>(),
                 s.get<sessions::cookie_settings>(), session_cache.get());
    const social::timelines timelines(db, feed, timeline_cache.get(), post_cache.get());
    if (!sqlite && social::prepare_timeline_tables(db, timelines.in_memory(), clock.now_ms()))
        spdlog::warn("module=social event=timelines_reset reason=kept_in_memory_before "
                     "(older pages are read from the posts until new posts fill them)");
    // The feed's caches hear of every other replica's posts, comments and follows.
    social::keep_feed_caches_right(bus, timelines, comment_cache.get());
    social::graph graph(db, timelines, clock, &bus);
    social::posts posts(db, timelines, clock);
    posts.cache_comments_in(comment_cache.get());
    // New posts and comments, and deletions (docs/feed.md): after the commit the writing
    // process has changed its own caches; the bus tells every replica (itself included,
    // again), for their feed caches and their live pushes.
    posts.announce_with([&bus](std::string_view topic, const std::string& payload) {
        bus.publish(topic, payload);
    });
    posts.refresh_notifications_with(&notify::notification_store::refresh_group);
    const auto& fanout_cfg = s.get<social::fanout_settings>();
    social::timeline_fanout fanout(
        db, timelines, clock,
        {.max_backlog = fanout_cfg.max_backlog, .help_batch = fanout_cfg.help_batch});
    // Backpressure (PostgreSQL, timelines in the tables): a post that finds the queue over
    // the max backlog fans out a batch of it before its 201 (docs/feed.md, "Fan-out").
    if (!timelines.in_memory() && db.kind() == store::dialect::postgresql)
        posts.relieve_backlog_with([&fanout](soci::session& sql, std::int64_t queued) {
            fanout.relieve(sql, queued);
        });

    // The outbox relay runs inside serve unless disabled or Kafka is not configured; the
    // outbox keeps every event meanwhile. PostgreSQL, several processes: every relay
    // listens (outbox_relay_parts), a process without one rings.
    std::unique_ptr<outbox_relay_parts> relay;
    std::unique_ptr<store::pg_doorbell> relay_doorbell;
    if (!s.get<kafka::broker_settings>().brokers.empty() &&
        s.get<outbox::embedded_relay_settings>().enabled)
        relay = std::make_unique<outbox_relay_parts>(
            db, db_url, clock, s.get<kafka::broker_settings>(), s.get<kafka::client_security>(),
            s.get<kafka::producer_settings>(), s.get<outbox::relay_settings>());
    else if (db.kind() == store::dialect::postgresql)
        relay_doorbell = std::make_unique<store::pg_doorbell>(db_url, outbox::relay_channel);

    // Notification delivery is mounted here too, so the browser has one origin; the
    // notifier process stores them, any instance pushes them (docs/notifications.md).
    // Declared before the metrics that read its counters.
    notification_delivery notifications(db, db_url, who, clock, s.get<notify::hub_settings>());
    // Live posts and comments on the same sockets (issue 27; docs/notifications.md): the
    // cluster bus's messages, pushed to this process's sockets in the API's JSON shapes.
    notify::live live(db, notifications.pushes,
                      {[](const social::post& p) { return boost::json::serialize(api::to_json(p)); },
                       [](const social::comment& c) {
                           return boost::json::serialize(api::to_json(c));
                       }});
    notifications.delivery.set_live(&live);
    bus.subscribe("post.created", [&live](std::string_view m) { live.on_post_created(m); });
    bus.subscribe("post.deleted", [&live](std::string_view m) { live.on_post_deleted(m); });
    bus.subscribe("comment.created", [&live](std::string_view m) { live.on_comment_created(m); });
    bus.subscribe("comment.deleted", [&live](std::string_view m) { live.on_comment_deleted(m); });
    bus.on_resync([&live] { live.on_resync(); });

    // Sessions ended on any replica (issue 28: logout, DELETE /api/v1/sessions/{id}, log out
    // everywhere else): every replica drops the session from its cache and closes its
    // sockets at once (4001); the hub's safety poll stays the backstop for sockets, the
    // cache's bounded belief for requests. Payload ids as strings.
    who.sessions.on_revoked([&bus](std::int64_t user_id, const std::string& jti) {
        bus.publish("session.revoked",
                    boost::json::serialize(boost::json::object{
                        {"user_id", std::to_string(user_id)}, {"session_id", jti}}));
    });
    bus.subscribe("session.revoked", [&session_cache, &notifications](std::string_view payload) {
        boost::system::error_code ec;
        const auto v = boost::json::parse(payload, ec);
        const auto* o = ec ? nullptr : v.if_object();
        const auto* id = o ? o->if_contains("session_id") : nullptr;
        if (!id || !id->is_string()) {
            // Some session ended, which one is unknown: none is believed any more.
            spdlog::warn("module=sessions event=bus_message_unreadable topic=session.revoked "
                         "action=session_cache_cleared");
            if (session_cache) session_cache->clear();
            return;
        }
        const std::string jti(id->as_string());
        if (session_cache) session_cache->revoked(jti);
        notifications.pushes.close_session(jti);
    });
    // The LISTEN connection (re)connected: revocations may have been missed meanwhile.
    bus.on_resync([&session_cache] {
        if (session_cache) session_cache->clear();
    });

    // Startup warming (sessions/feed_warmer.hpp): the users of the sessions used most
    // recently get their session and first page into the caches, in the background once
    // listening. On PostgreSQL after the bus's first connection (registered after the
    // caches' resyncs above, which empty them).
    const int warm_users =
        feed_cached ? std::min(s.get<sessions::warm_settings>().users, feed_cache.users) : 0;
    // Login warming: a login's (or a session read from SQL's) first page, in the background.
    sessions::feed_warmer warmer(db, who.sessions, timelines, warm_users, !sqlite,
                                 feed_cached ? s.get<sessions::warm_settings>().login_queue : 0);
    bus.on_resync([&warmer] { warmer.bus_connected(); });
    who.sessions.on_active([&warmer](std::int64_t user) { warmer.enqueue(user); });
    accounts.on_login_found([&warmer](std::int64_t user) { warmer.enqueue(user); });

    http::metrics stats;
    // Administrators are accounts (sessions/roles.hpp): BSOCIAL_ADMINS only bootstraps them,
    // each name decided once, at the first start that lists it.
    log_admin_bootstrap(
        sessions::bootstrap_admins(db, s.get<sessions::admin_settings>().admins, clock.now_ms()));
    const sessions::roles roles(db);
    api::sessions_handler sessions_h(accounts, who.sessions, who.auth);
    social::user_limits user_limits(clock, s.get<social::user_limit_settings>());
    // People search keys of accounts that have none yet (migration 10), then who to follow.
    if (const auto filled = social::backfill_search_keys(db))
        spdlog::info("module=social event=search_keys_backfilled users={}", filled);
    social::people people(db, clock);
    api::users_handler users_h(accounts, graph, people, who.auth, roles, user_limits);
    api::posts_handler posts_h(posts, who.auth, user_limits);
    // A login's warmed first page: its posts' JSON made too, so the page shown next after
    // the login costs what a warm one does.
    warmer.on_built([&timelines, &posts_h](std::int64_t user) {
        if (auto page = timelines.read_in_memory(user, social::newest_first_start, 20))
            posts_h.prime_json(*page);
    });
    api::ops_extras ops_extras;
    // Each module renders its own metrics (core/prometheus.hpp); the order is the page's.
    ops_extras.metrics = [&relay, &fanout, &hasher, &timeline_cache, &comment_cache,
                          &session_cache, &checkpointer, &notifications, &live, &warmer, &bus] {
        return fanout.metrics() + bus.metrics() + (checkpointer ? checkpointer->metrics() : "") +
               (timeline_cache ? timeline_cache->metrics() : "") +
               (comment_cache ? comment_cache->metrics() : "") + warmer.metrics() +
               (session_cache ? session_cache->metrics() : "") + hasher.metrics() +
               (relay ? relay->relay.metrics() : "") +
               notify::ack_metrics(notifications.delivery.acks()) + live.metrics();
    };
    if (relay) {
        ops_extras.outbox_details = [&relay] {
            const auto st = relay->relay.status();
            return boost::json::object{{"relay", "running"},
                                       {"kafka", st.broker_state},
                                       {"published_total", st.published_total},
                                       {"publish_lag_seconds", st.last_lag_seconds}};
        };
    } else {
        ops_extras.outbox_details = [] { return boost::json::object{{"relay", "off"}}; };
    }
    ops_extras.access = s.get<api::metrics_access>();
    api::ops_handler ops_h(db, stats, {}, std::move(ops_extras));


    // The web app (web/dist) at "/", when configured; API paths never fall back to it.
    std::optional<http::static_files> web_app;
    if (const auto& dir = s.get<http::static_files_settings>().dir; !dir.empty())
        web_app.emplace(dir);
    http::router_hooks hooks;
    hooks.on_exception = log_handler_failures("http");
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
        if (relay) relay->relay.nudge();
        if (relay_doorbell) relay_doorbell->ring();
    };
    http::router router(std::move(hooks));
    api::add_routes(router, {sessions_h, users_h, posts_h, ops_h});
    notify::add_notification_routes(router, notifications.delivery);
    // Administrators' analytics: the search engine's ranking + SQL's posts (docs/analytics.md).
    analytics::handler analytics_h(analytics_settings, db, who.auth, roles);
    analytics_h.listen(bus);  // a deletion drops the cached closed days that rank its post
    analytics::add_analytics_routes(router, analytics_h);
    spdlog::info("module=serve event=analytics search_engine={} admins={}",
                 analytics_settings.configured() ? "configured" : "none (analytics answer 503)",
                 roles.admin_count());

    auto options =
        server_options(s.get<http::server_settings>(), pool, s.get<http::websocket_limits>());
    // The SQL pool has a thread per database connection. Requests waiting for a password
    // hash hold a thread each (at most threads + queue of them), analytics requests wait on
    // the search engine (bounded): they get the waiting pool, so reads never wait behind
    // them (http/router.hpp, runs_on). It has db_pool_size threads more than can wait, so
    // requests beyond the hasher's bound still reach it and are refused at once (503),
    // rather than queueing for a thread without bound. Idle, they cost nothing.
    options.waiting_threads =
        hasher.max_waiting_callers() + pool.size +
        (analytics_settings.configured() ? analytics_settings.max_concurrent : 0);
    http::server server(options, router, stats);
    signals.on_stop([&server] { server.stop(); });
    const unsigned port = server.listen();
    const auto& bind = s.get<http::server_settings>().bind;
    std::printf("bsocial serve listening on http://%s:%u\n", bind.c_str(), port);
    std::fflush(stdout);
    spdlog::info("module=serve event=listening bind={} port={}", bind, port);

    // Stopped in reverse order when the server returns, or when a start throws.
    service_group services;
    services.start(bus);
    services.start(checkpointer);
    if (relay) {
        services.start(relay->relay);
        services.start(relay->wakeup);
    }
    services.start(relay_doorbell);
    if (!timelines.in_memory() && fanout_cfg.worker == 1) services.start(fanout);
    services.start(notifications.pushes);
    services.start(live);
    services.start(warmer);  // last: in the background, once everything else runs
    server.run();
    services.stop();
    spdlog::info("module=serve event=stopped hashes_refused={}", hasher.refused_total());
    return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, entry_point& chosen) {
    add_command<serve_settings>(app, "serve", "run the HTTP API", chosen, run_serve);
}

}  // namespace bsocial::apps
