#include "bsocial/core/config.hpp"

#include <stdexcept>

namespace bsocial {

namespace {
void require(bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument(what);
}
}  // namespace

void serve_config::validate() const {
    require(port <= 65535, "port must be between 0 and 65535 (BSOCIAL_PORT)");
    require(!bind.empty(), "bind address must not be empty (BSOCIAL_BIND)");
    require(!data_dir.empty(), "data directory must not be empty (BSOCIAL_DATA_DIR)");
    require(db_url.empty() || db_url.rfind("postgresql://", 0) == 0 ||
                db_url.rfind("postgres://", 0) == 0 || db_url.rfind("sqlite:", 0) == 0,
            "database URL must start with postgresql:// or sqlite: (BSOCIAL_DB)");
    require(jwt_secret.empty() || jwt_secret.size() >= 32,
            "JWT secret must be at least 32 characters (BSOCIAL_JWT_SECRET)");
    require(log_level == "trace" || log_level == "debug" || log_level == "info" ||
                log_level == "warn" || log_level == "error",
            "log level must be one of trace, debug, info, warn, error (BSOCIAL_LOG_LEVEL)");
    require(token_ttl_seconds >= 60 && token_ttl_seconds <= 30 * 86400,
            "token lifetime must be 60..2592000 seconds (BSOCIAL_TOKEN_TTL_SECONDS)");
    require(login_max_failures >= 1, "login max failures must be >= 1");
    require(login_window_seconds >= 1, "login window must be >= 1 second");
    require(login_throttle_keys >= 1 && login_throttle_keys <= 10000000,
            "login throttle keys must be 1..10000000 (BSOCIAL_LOGIN_THROTTLE_KEYS)");
    require(hash_threads >= 1 && hash_threads <= 64,
            "hash threads must be 1..64 (BSOCIAL_HASH_THREADS)");
    require(hash_queue >= 0 && hash_queue <= 1024,
            "hash queue must be 0..1024 (BSOCIAL_HASH_QUEUE)");
    require(registrations_per_minute >= 0,
            "registrations per minute must be >= 0 (BSOCIAL_REGISTRATIONS_PER_MINUTE)");
    require(registration_burst >= 1,
            "registration burst must be >= 1 (BSOCIAL_REGISTRATION_BURST)");
    require(io_threads >= 1 && io_threads <= 64, "io threads must be 1..64");
    require(db_pool_size >= 1 && db_pool_size <= 256, "database pool size must be 1..256");
    require(body_limit_bytes >= 1024, "body limit must be >= 1024 bytes");
    require(relay_poll_ms >= 1 && relay_poll_ms <= 600000,
            "relay poll must be 1..600000 ms (BSOCIAL_RELAY_POLL_MS)");
    require(request_timeout_seconds >= 1, "request timeout must be >= 1 second");
    require(header_timeout_seconds >= 1,
            "header timeout must be >= 1 second (BSOCIAL_HEADER_TIMEOUT_SECONDS)");
    require(keep_alive_timeout_seconds >= 1,
            "keep-alive timeout must be >= 1 second (BSOCIAL_KEEP_ALIVE_TIMEOUT_SECONDS)");
    require(max_connections >= 0, "max connections must be >= 0 (BSOCIAL_MAX_CONNECTIONS)");
    require(max_connections_per_client >= 1,
            "max connections per client must be >= 1 (BSOCIAL_MAX_CONNECTIONS_PER_CLIENT)");
    require(feed_timeline_capacity >= 1 && feed_timeline_capacity <= 100000,
            "feed timeline capacity must be 1..100000 (BSOCIAL_FEED_TIMELINE_CAPACITY)");
    require(feed_celebrity_followers >= 1,
            "feed celebrity followers must be >= 1 (BSOCIAL_FEED_CELEBRITY_FOLLOWERS)");
    require(feed_merge_max_followees >= 0,
            "feed merge max followees must be >= 0 (BSOCIAL_FEED_MERGE_MAX_FOLLOWEES)");
    require(feed_walk_max_rows >= 1, "feed walk max rows must be >= 1 (BSOCIAL_FEED_WALK_MAX_ROWS)");
    require(feed_cache_users >= 0 && feed_cache_users <= 10000000,
            "feed cache users must be 0..10000000 (BSOCIAL_FEED_CACHE_USERS)");
    require(feed_cache_posts >= 1 && feed_cache_posts <= 100000000,
            "feed cache posts must be 1..100000000 (BSOCIAL_FEED_CACHE_POSTS)");
    require(notify_sockets_per_user >= 1 && notify_sockets_per_user <= 1000,
            "notification sockets per user must be 1..1000 (BSOCIAL_NOTIFY_SOCKETS_PER_USER)");
    require(notify_safety_poll_ms >= 50 && notify_safety_poll_ms <= 3600000,
            "notification safety poll must be 50..3600000 ms (BSOCIAL_NOTIFY_SAFETY_POLL_MS)");
}

std::string effective_db_url(const serve_config& config) {
    if (!config.db_url.empty()) return config.db_url;
    return "sqlite:" + config.data_dir + "/bsocial.db";
}

}  // namespace bsocial
