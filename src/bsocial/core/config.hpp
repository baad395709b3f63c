#pragma once
// Configuration of the `bsocial serve` process: filled from flags and BSOCIAL_* environment
// variables in main.cpp, validated once at start (validate() throws with a clear message),
// then passed by const& to whoever needs it. No globals.

#include <cstdint>
#include <string>
#include <vector>

namespace bsocial {

struct serve_config {
    std::string bind = "127.0.0.1";
    unsigned port = 8080;  ///< 0 = pick a free port
    std::string data_dir = "data";
    std::string db_url;      ///< empty = SQLite file in data_dir; or postgresql://...
    std::string jwt_secret;  ///< empty = generated once and kept in data_dir/jwt-secret
    std::string log_level = "info";
    std::int64_t token_ttl_seconds = 86400;
    int login_max_failures = 5;  ///< per account (or unknown identifier); 4x per address
    std::int64_t login_window_seconds = 900;
    int login_throttle_keys = 65536;    ///< keys each failed-login limiter remembers at most
    int hash_threads = 2;               ///< Argon2id hashes computed at once (own pool)
    int hash_queue = 16;                ///< hashes allowed to wait; beyond: 503 + Retry-After
    int registrations_per_minute = 10;  ///< per client address (token bucket); 0 = no limit
    int registration_burst = 20;        ///< registrations one address may make at once
    int io_threads = 2;
    int db_pool_size = 4;
    bool cookie_secure = false;
    std::vector<std::string> allowed_origins;  ///< extra origins for cookie-authenticated writes
    /// CIDRs of reverse proxies whose X-Forwarded-For/-Host/-Proto are believed (checked
    /// when the server starts: http::trusted_proxies)
    std::vector<std::string> trusted_proxies;
    std::string common_passwords_path = "/usr/share/john/password.lst";
    std::vector<std::string> admins;  ///< usernames of the administrators (BSOCIAL_ADMINS)
    std::string static_dir;     ///< web app files served at / (optional)
    std::string kafka_brokers;  ///< empty = outbox relay disabled
    bool relay_enabled = true;  ///< run the outbox relay inside `serve` (when Kafka is set)
    int relay_poll_ms = 50;     ///< an idle relay looks again this often (wake-ups come first)
    int kafka_message_timeout_ms = 10000;
    bool relay_crash_after_publish = false;  ///< test-only fault injection
    std::int64_t body_limit_bytes = 64 * 1024;
    int request_timeout_seconds = 30;
    int header_timeout_seconds = 10;     ///< a new connection's first request headers
    int keep_alive_timeout_seconds = 5;  ///< idle time between requests on a connection
    std::int64_t max_connections = 0;    ///< 0 = derived from RLIMIT_NOFILE
    std::int64_t max_connections_per_client = 256;
    int feed_timeline_capacity = 1000;     ///< entries kept per home timeline (docs/feed.md)
    int feed_celebrity_followers = 10000;  ///< followers from which posts are not fanned out
    int feed_merge_max_followees = 256;   ///< below the horizon: merge up to this many
    int feed_walk_max_rows = 8192;        ///< below the horizon: walk at most this many posts
    /// SQLite: home timelines kept in memory, at most this many users' (0 = in the database)
    int feed_cache_users = 10000;
    int feed_cache_posts = 100000;  ///< with it: posts kept in memory for those feeds
    int notify_sockets_per_user = 16;      ///< notification sockets per user and process
    int notify_safety_poll_ms = 1000;      ///< pushers re-read recent rows this often

    /// Throws std::invalid_argument naming the bad setting.
    void validate() const;
};

/// Database URL actually used: db_url, or the SQLite file under data_dir.
std::string effective_db_url(const serve_config& config);

}  // namespace bsocial
