#pragma once
// The HTTP/1.1 server: Boost.Beast on Asio C++20 coroutines. Each I/O thread runs its own
// io_context with its own acceptor on the shared port (SO_REUSEPORT: the kernel spreads
// new connections over them); a connection lives all its life on the thread that accepted
// it, so it needs no strand. A request that needs no database is answered there; any other
// is handed to the router on a blocking-work pool (SQL, Argon2 never run on an I/O
// thread), and the response is written back from the connection's thread. The blocking
// work has two pools: the SQL pool, and the waiting pool for the few routes that wait long
// outside SQL (router.hpp, runs_on).
//
// Lifecycle: construct -> listen() (binds, returns the port) -> run() blocks until stop()
// (the apps call it from core::stop_signals on SIGINT/SIGTERM); stop() stops accepting, lets in-flight requests finish and closes
// idle keep-alive connections. Beast stays inside http/ (pimpl): server.cpp accepts and
// stops, http_session.cpp serves one connection's requests, websocket_session.cpp an
// upgraded connection (their shared parts: connection.hpp, internal).
//
// Connection limits (docs/security.md, items 6 and 10): at most max_connections sockets
// and max_connections_per_client per client address. At the global cap the oldest idle
// connection (waiting for its next request) is closed to make room; when none is idle,
// and always beyond the per-address cap, the new connection gets a 503 (global) or 429
// (per address) problem with Retry-After, written with a 1 s timeout, then is closed.
// Existing connections are never touched by a refusal.
//
// Client identity (http/client_address.hpp): a connection's client is its TCP peer (an IPv6
// peer counts by its /64). A connection from a trusted proxy (options.trusted_proxies) is
// not counted against the per-client cap (a proxy multiplexes many clients; they are
// capped at the proxy); its requests' client_address is the X-Forwarded-For client, and a
// WebSocket upgraded through it counts against that client's cap (429 beyond it).

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "bsocial/http/client_address.hpp"
#include "bsocial/http/metrics.hpp"
#include "bsocial/http/router.hpp"
#include "bsocial/http/websocket.hpp"

namespace bsocial::http {

struct server_options {
    std::string bind = "127.0.0.1";
    unsigned port = 8080;
    /// I/O threads, each with its own io_context and acceptor (SO_REUSEPORT when > 1).
    int io_threads = 2;
    /// The SQL pool: handlers (runs_on::sql_pool) and WebSocket callbacks. One thread per
    /// database connection.
    int blocking_threads = 4;
    /// The waiting pool, for routes marked runs_on::waiting_pool (password hashes, the
    /// search engine): as many threads as such requests may wait at once. 0: those
    /// routes run on the SQL pool too.
    int waiting_threads = 0;
    std::size_t body_limit = 64 * 1024;
    std::size_t header_limit = 16 * 1024;
    std::chrono::seconds request_timeout{30};  ///< body read + handler + response write
    /// A new connection must send its request headers within this time.
    std::chrono::seconds header_timeout{10};
    /// A kept-alive connection is closed when no next request starts within this time.
    std::chrono::seconds keep_alive_timeout{5};
    /// 0 = derived from the descriptor limit (default_max_connections()).
    std::size_t max_connections = 0;
    std::size_t max_connections_per_client = 256;
    /// Peers believed about X-Forwarded-For/-Host/-Proto; empty: nobody.
    trusted_proxies trusted;
    /// Frames per accepted WebSocket (beyond them: closed with 1008).
    websocket_limits websocket;
};

/// Raises the soft RLIMIT_NOFILE to the hard limit (logged when changed); returns the
/// soft limit now in force.
std::size_t raise_fd_limit();

/// The connection cap for a descriptor limit: the limit minus headroom for the database,
/// Kafka and files (128 + 5%).
std::size_t default_max_connections(std::size_t fd_limit);

class server {
  public:
    server(server_options options, const router& routes, metrics& stats);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds and listens; returns the bound port (useful with port 0). Throws on failure,
    /// also when another socket holds the port (the first acceptor binds without
    /// SO_REUSEPORT; only this server's own acceptors then share it).
    unsigned listen();

    /// Serves until stopped; returns after in-flight requests completed.
    void run();

    /// Graceful stop; callable from any thread.
    void stop();

    /// Open client connections (HTTP and WebSocket). Thread-safe.
    std::size_t connection_count() const;

    /// Connections refused at a cap since start, and the cap in force. Thread-safe.
    std::size_t refused_count() const;
    std::size_t max_connections() const;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace bsocial::http
