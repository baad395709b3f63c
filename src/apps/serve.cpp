#include "apps/serve.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bsocial/api/authenticator.hpp"
#include "bsocial/api/handlers.hpp"
#include "bsocial/api/routes.hpp"
#include "bsocial/auth/jwt.hpp"
#include "bsocial/auth/login_throttle.hpp"
#include "bsocial/auth/password.hpp"
#include "bsocial/core/random.hpp"
#include "bsocial/http/server.hpp"
#include "bsocial/social/accounts.hpp"
#include "bsocial/social/graph.hpp"
#include "bsocial/social/posts.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::apps {

namespace {
/// The configured secret, or one generated once and kept (mode 0600) in the data directory
/// so tokens survive restarts.
std::string load_jwt_secret(const serve_config& config) {
    if (!config.jwt_secret.empty()) return config.jwt_secret;
    const auto path = std::filesystem::path(config.data_dir) / "jwt-secret";
    if (std::ifstream in(path); in) {
        std::string secret;
        std::getline(in, secret);
        if (secret.size() >= 32) return secret;
    }
    std::filesystem::create_directories(config.data_dir);
    const std::string secret = random_hex(32);  // 256 random bits
    {
        std::ofstream out(path, std::ios::trunc);
        out << secret << "\n";
    }
    ::chmod(path.c_str(), 0600);
    spdlog::info("module=serve event=jwt_secret_generated path={}", path.string());
    return secret;
}

std::string describe_db(const std::string& url) {
    // Never log credentials: keep only the scheme and what follows '@'.
    const auto at = url.find('@');
    const auto scheme = url.find("://");
    if (at != std::string::npos && scheme != std::string::npos)
        return url.substr(0, scheme + 3) + "***" + url.substr(at);
    return url;
}
}  // namespace

int run_migrate(const serve_config& config) {
    store::database db(effective_db_url(config), 1);
    const int applied = db.migrate();
    spdlog::info("module=store event=migrated applied={} db={}", applied,
                 describe_db(effective_db_url(config)));
    return 0;
}

int run_serve(const serve_config& config) {
    init_crypto();
    const system_clock clock;
    const auto common = auth::common_passwords::load(config.common_passwords_path);
    const auth::token_service tokens(load_jwt_secret(config), clock, config.token_ttl_seconds);
    auth::password_hasher hasher(2);
    // Per address 4x the per-identifier limit: several people may share one address (NAT).
    auth::login_throttle per_login(clock, config.login_max_failures, config.login_window_seconds);
    auth::login_throttle per_address(clock, 4 * config.login_max_failures,
                                     config.login_window_seconds);

    const std::string db_url = effective_db_url(config);
    store::database db(db_url, static_cast<std::size_t>(config.db_pool_size));
    const int applied = db.migrate();
    spdlog::info("module=store event=ready db={} migrations_applied={}", describe_db(db_url),
                 applied);

    social::accounts accounts(db, hasher, tokens, per_login, per_address, common, clock);
    social::graph graph(db, clock);
    social::posts posts(db, clock);
    const api::authenticator auth(accounts, config.allowed_origins, config.cookie_secure,
                                  config.token_ttl_seconds);

    http::metrics stats;
    api::sessions_handler sessions_h(accounts, auth);
    api::users_handler users_h(accounts, graph, auth);
    api::posts_handler posts_h(posts, auth);
    api::ops_handler ops_h(db, stats, {});

    http::router router;
    api::add_routes(router, {sessions_h, users_h, posts_h, ops_h});
    router.on_exception = [](const http::request& req, const std::exception& e) {
        spdlog::error("module=http event=handler_failed route={} error=\"{}\"", req.route, e.what());
    };

    http::server_options options;
    options.bind = config.bind;
    options.port = config.port;
    options.io_threads = config.io_threads;
    options.blocking_threads = config.db_pool_size;
    options.body_limit = static_cast<std::size_t>(config.body_limit_bytes);
    options.request_timeout = std::chrono::seconds(config.request_timeout_seconds);
    http::server server(options, router, stats);
    const unsigned port = server.listen();
    std::printf("bsocial serve listening on http://%s:%u\n", config.bind.c_str(), port);
    std::fflush(stdout);
    spdlog::info("module=serve event=listening bind={} port={}", config.bind, port);
    server.run();
    spdlog::info("module=serve event=stopped");
    return 0;
}

}  // namespace bsocial::apps
