#pragma once
// The HTTP server's settings (core/settings.hpp): where it listens, its threads, timeouts
// and connection caps, and the web app it may serve. `serve` and `notifier` each take
// them; the notifier listens on its own port (BSOCIAL_NOTIFIER_PORT, 8081).

#include <string>
#include <vector>

#include "bsocial/http/server.hpp"

namespace bsocial::http {

struct server_settings {
    std::string bind = "127.0.0.1";
    unsigned port = 8080;  ///< 0 = pick a free port
    /// The port's environment variable: one per process kind, so both fit in one environment.
    const char* port_env = "BSOCIAL_PORT";
    int io_threads = 2;
    int header_timeout_seconds = 10;     ///< a new connection's first request headers
    int keep_alive_timeout_seconds = 5;  ///< idle time between requests on a connection
    std::int64_t max_connections = 0;    ///< 0 = derived from RLIMIT_NOFILE
    std::int64_t max_connections_per_client = 256;
    std::int64_t body_limit_bytes = 64 * 1024;  ///< a larger request body: 413
    /// CIDRs of reverse proxies whose X-Forwarded-For/-Host/-Proto are believed.
    std::vector<std::string> trusted_proxies;

    /// Throws std::invalid_argument naming the bad setting (a malformed proxy CIDR too).
    void validate() const;

    /// The server's options; blocking_threads, waiting_threads and the limits of the
    /// request itself are the caller's.
    server_options options() const;

    template <class Declare>
    void describe(Declare& d) {
        d(bind, "bind", "BSOCIAL_BIND", "address to listen on");
        d(port, "port", port_env, "port (0 = any free port)");
        d(io_threads, "io-threads", "BSOCIAL_IO_THREADS", "I/O threads");
        d(header_timeout_seconds, "header-timeout", "BSOCIAL_HEADER_TIMEOUT_SECONDS",
          "seconds a new connection has to send its request headers");
        d(keep_alive_timeout_seconds, "keep-alive-timeout", "BSOCIAL_KEEP_ALIVE_TIMEOUT_SECONDS",
          "seconds an idle keep-alive connection is kept");
        d(max_connections, "max-connections", "BSOCIAL_MAX_CONNECTIONS",
          "open connections at most (0 = the descriptor limit minus headroom)");
        d(max_connections_per_client, "max-connections-per-client",
          "BSOCIAL_MAX_CONNECTIONS_PER_CLIENT", "open connections at most per client address");
        d(trusted_proxies, "trusted-proxies", "BSOCIAL_TRUSTED_PROXIES",
          "reverse proxies (CIDRs, comma-separated) whose X-Forwarded-For, "
          "X-Forwarded-Host and X-Forwarded-Proto are believed (default: none)");
        d(body_limit_bytes, "body-limit", "BSOCIAL_BODY_LIMIT_BYTES",
          "largest request body in bytes; a larger one is answered 413");
    }
};

/// The web app's files (web/dist), served at "/" when set.
struct static_files_settings {
    std::string dir;

    void validate() const {}
    template <class Declare>
    void describe(Declare& d) {
        d(dir, "static-dir", "BSOCIAL_STATIC_DIR", "web app files to serve at /");
    }
};

}  // namespace bsocial::http
