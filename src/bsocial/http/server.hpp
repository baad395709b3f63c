#pragma once
// The HTTP/1.1 server: Boost.Beast on Asio C++20 coroutines. Each connection runs on its
// own strand of the I/O context; each request is handed to the router on the blocking-work
// pool (SQL, Argon2 never run on an I/O thread), then the response is written back.
//
// Lifecycle: construct -> listen() (binds, returns the port) -> run() blocks until stop()
// or SIGINT/SIGTERM; stop() stops accepting, lets in-flight requests finish and closes
// idle keep-alive connections. Beast stays inside server.cpp (pimpl).

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "bsocial/http/metrics.hpp"
#include "bsocial/http/router.hpp"

namespace bsocial::http {

struct server_options {
    std::string bind = "127.0.0.1";
    unsigned port = 8080;
    int io_threads = 2;
    int blocking_threads = 4;
    std::size_t body_limit = 64 * 1024;
    std::size_t header_limit = 16 * 1024;
    std::chrono::seconds request_timeout{30};
    bool handle_signals = true;
};

class server {
  public:
    server(server_options options, const router& routes, metrics& stats);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds and listens; returns the bound port (useful with port 0). Throws on failure.
    unsigned listen();

    /// Serves until stopped; returns after in-flight requests completed.
    void run();

    /// Graceful stop; callable from any thread.
    void stop();

    /// Called once from run() when a stop begins (e.g. to stop a relay too).
    std::function<void()> on_stop;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace bsocial::http
