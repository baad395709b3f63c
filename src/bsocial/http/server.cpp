#include "bsocial/http/server.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "bsocial/http/connection.hpp"
#include "bsocial/http/problem.hpp"
#include "bsocial/http/websocket_session.hpp"

// The listener side (Beast's example/advanced/server "listener"): accepting and admitting
// connections, refusals at the caps, the graceful stop. A connection's requests are
// served by http_session.cpp; an upgraded one by websocket_session.cpp.

namespace bsocial::http {

namespace detail {

std::function<void(std::exception_ptr)> log_exception(const char* what) {
    return [what](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            spdlog::error("module=http event=coroutine_failed coroutine={} error=\"{}\"", what,
                          ex.what());
        } catch (...) {
            spdlog::error("module=http event=coroutine_failed coroutine={} error=unknown", what);
        }
    };
}

}  // namespace detail

using namespace detail;

namespace {

/// The peer as an ip_address (IPv4-mapped IPv6 peers become IPv4).
ip_address peer_address(const asio::ip::address& a) {
    return a.is_v4() ? ip_address::from_v4(a.to_v4().to_bytes())
                     : ip_address::from_v6(a.to_v6().to_bytes());
}

/// Cancels a connection's wait for its next request (it then closes). On its thread.
void cancel_if_idle(const std::shared_ptr<connection>& conn) {
    beast::error_code available_ec;  // a request's first bytes arrived: not idle any more
    if (!conn->idle || conn->upgraded || conn->stream.socket().available(available_ec) > 0) {
        conn->shedding = false;
        return;
    }
    beast::error_code ignored;  // the peer may have closed it already
    conn->stream.socket().cancel(ignored);
}

}  // namespace

struct server::impl {
    impl(server_options o, const router& r, metrics& m)
        : options(std::move(o)),
          routes(r),
          stats(m),
          blocking(static_cast<std::size_t>(options.blocking_threads)),
          waiting(static_cast<std::size_t>(std::max(options.waiting_threads, 1))),
          context{options, routes, stats, blocking,
                  options.waiting_threads > 0 ? waiting : blocking, stopping} {
        context.count_forwarded = [this](connection& conn, const std::string& client) {
            return count_forwarded(conn, client);
        };
        for (int n = 0; n < std::max(options.io_threads, 1); ++n)
            lanes.push_back(std::make_unique<lane>());
    }

    /// One I/O thread's own io_context and acceptor. With several, the acceptors share the
    /// port (SO_REUSEPORT): the kernel spreads new connections over them, and a connection
    /// lives all its life on the thread that accepted it, so it needs no strand and two
    /// I/O threads never wake each other (docs/performance.md).
    struct lane {
        asio::io_context ioc{1};  // run by one thread
        tcp::acceptor acceptor{ioc};
    };

    server_options options;
    const router& routes;
    metrics& stats;
    // Declared before `lanes`, so destroyed after them: a coroutine frame an io_context
    // destroys unrun still finds them in its scope guard.
    std::atomic<bool> stopping{false};
    std::size_t max_connections = 0;  ///< resolved by listen()
    mutable std::mutex connections_mutex;
    std::set<std::shared_ptr<connection>> connections;
    std::unordered_map<std::string, std::size_t> per_client;  ///< open connections by address
    std::atomic<std::size_t> refused{0};
    std::atomic<int> refusing{0};  ///< refusals being written
    std::vector<std::unique_ptr<lane>> lanes;
    asio::thread_pool blocking;
    asio::thread_pool waiting;  ///< one idle thread when waiting_threads is 0
    server_context context;  ///< what a connection's sessions use of this server

    enum class admission { admitted, server_full, client_full };
    static constexpr std::size_t max_shedding = 64;
    admission admit(const std::shared_ptr<connection>& conn);
    bool shed_oldest_idle();
    void release(const std::shared_ptr<connection>& conn);
    void refuse(const std::shared_ptr<connection>& conn, admission why);
    asio::awaitable<void> write_refusal(std::shared_ptr<connection> conn, admission why);
    bool count_forwarded(connection& conn, const std::string& client);
    asio::awaitable<void> accept_loop(lane& l);
    void take(tcp::socket socket);  // a new connection: admitted and served, or refused
    asio::awaitable<void> serve(std::shared_ptr<connection> conn);
    void begin_stop();
};

asio::awaitable<void> server::impl::accept_loop(lane& l) {
    auto& acceptor = l.acceptor;
    while (acceptor.is_open()) {
        tcp::socket socket(l.ioc);
        auto [ec] = co_await acceptor.async_accept(socket, as_tuple_awaitable);
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
            spdlog::warn("module=http event=accept_failed error=\"{}\"", ec.message());
            // Out of descriptors and the like: back off instead of spinning.
            asio::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(50));
            co_await t.async_wait(as_tuple_awaitable);
            continue;
        }
        take(std::move(socket));
    }
}

void server::impl::take(tcp::socket socket) {
    std::optional<ip_address> peer;
    {
        beast::error_code ep_ec;
        auto ep = socket.remote_endpoint(ep_ec);
        if (!ep_ec) peer = peer_address(ep.address());
    }
    const bool trusted = peer && options.trusted.contains(*peer);
    auto conn = std::make_shared<connection>(std::move(socket), peer, trusted);
    const admission verdict = admit(conn);
    if (verdict != admission::admitted) {
        refuse(conn, verdict);
        return;
    }
    asio::co_spawn(conn->executor, serve(conn), log_exception("connection"));
}

// A trusted proxy's connections are not counted per client: the proxy carries many
// clients (and caps them itself); a WebSocket through it is counted by count_forwarded.
server::impl::admission server::impl::admit(const std::shared_ptr<connection>& conn) {
    std::lock_guard lock(connections_mutex);
    if (!conn->peer_trusted) {
        const auto it = per_client.find(conn->client);
        if (it != per_client.end() && it->second >= options.max_connections_per_client)
            return admission::client_full;
    }
    if (connections.size() >= max_connections + max_shedding ||
        (connections.size() >= max_connections && !shed_oldest_idle()))
        return admission::server_full;
    if (!conn->peer_trusted) {
        ++per_client[conn->client];
        conn->counted_as = conn->client;
    }
    connections.insert(conn);
    return admission::admitted;
}

bool server::impl::count_forwarded(connection& conn, const std::string& client) {
    {
        std::lock_guard lock(connections_mutex);
        if (!conn.counted_as.empty()) return true;  // already counted
        auto& count = per_client[client];
        if (count < options.max_connections_per_client) {
            ++count;
            conn.counted_as = client;
            return true;
        }
    }
    const auto n = ++refused;  // the caller answers 429, as refuse() would
    if (n % 1000 == 1)
        spdlog::warn("module=http event=connection_refused reason=per_client_cap client={} "
                     "via_proxy={} refused_total={}",
                     client, conn.client, n);
    return false;
}

// Under connections_mutex. At the cap, the connection idle the longest makes room; it is
// closed on its thread, so the count goes over the cap by the few being closed (at most
// max_shedding: beyond, new connections are refused until those are gone).
bool server::impl::shed_oldest_idle() {
    std::shared_ptr<connection> oldest;
    for (const auto& c : connections)
        if (c->idle && !c->shedding && (!oldest || c->idle_since < oldest->idle_since)) oldest = c;
    if (!oldest) return false;
    oldest->shedding = true;
    asio::post(oldest->executor, [oldest] { cancel_if_idle(oldest); });
    return true;
}

void server::impl::release(const std::shared_ptr<connection>& conn) {
    std::lock_guard lock(connections_mutex);
    if (connections.erase(conn) == 0) return;
    if (conn->counted_as.empty()) return;
    auto it = per_client.find(conn->counted_as);
    if (it != per_client.end() && --it->second == 0) per_client.erase(it);
    conn->counted_as.clear();
}

void server::impl::refuse(const std::shared_ptr<connection>& conn, admission why) {
    const auto n = ++refused;
    // One line per 1000 refusals: a flood must not flood the log too.
    if (n % 1000 == 1)
        spdlog::warn("module=http event=connection_refused reason={} client={} refused_total={}",
                     why == admission::client_full ? "per_client_cap" : "server_cap", conn->client,
                     n);
    if (refusing.load() >= 64) {  // already answering many: just close this one
        beast::error_code ignored;
        conn->stream.socket().close(ignored);
        return;
    }
    ++refusing;
    asio::co_spawn(conn->executor, write_refusal(conn, why), [this](std::exception_ptr e) {
        --refusing;
        log_exception("refusal")(e);
    });
}

// The refusal is written at once (the request is not read), then the socket is drained
// until the client closes, so the answer is not lost to a reset. One second in all.
asio::awaitable<void> server::impl::write_refusal(std::shared_ptr<connection> conn, admission why) {
    response res;
    if (why == admission::client_full) {
        res = per_client_refusal();
    } else {
        bsocial::error e(error_code::unavailable, "the server is at its connection limit");
        e.retry_after_seconds = 1;
        res = problem_response(e);
        res.set_header("Retry-After", "1");
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    std::string scratch;
    beast::error_code ec =
        co_await write_response(*conn, res, 11, false, false, std::chrono::seconds(1), scratch);
    std::size_t n = 0;
    conn->stream.expires_at(deadline);
    beast::error_code ignored;
    conn->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    std::array<char, 1024> sink;
    while (!ec)
        std::tie(ec, n) =
            co_await conn->stream.async_read_some(asio::buffer(sink), as_tuple_awaitable);
    conn->stream.socket().close(ignored);
}

asio::awaitable<void> server::impl::serve(std::shared_ptr<connection> conn) {
    // However this coroutine ends (return, exception, destroyed at shutdown): the socket
    // (or the WebSocket) is closed and the connection entry erased.
    struct cleanup {
        impl& self;
        std::shared_ptr<connection> conn;
        ~cleanup() {
            beast::error_code ignored;
            conn->idle = false;
            if (conn->ws) {
                conn->ws->close_now();
                conn->ws.reset();
            } else if (!conn->upgraded) {
                conn->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
                conn->stream.close();
            }
            self.release(conn);
        }
    } guard{*this, conn};

    co_await serve_http(context, conn);
}

void server::impl::begin_stop() {
    if (stopping.exchange(true)) return;
    spdlog::info("module=http event=stopping");
    // Each acceptor is closed on its thread, after taking the connections the kernel
    // already accepted for it (its backlog: closing it would reset them, requests that
    // were sent before the stop); those are served their request, then closed.
    for (auto& l : lanes)
        asio::post(l->ioc, [this, &l = *l] {
            beast::error_code ec;
            l.acceptor.non_blocking(true, ec);
            while (!ec) {
                tcp::socket socket(l.ioc);
                l.acceptor.accept(socket, ec);
                if (!ec) take(std::move(socket));
            }
            l.acceptor.close(ec);
        });
    std::lock_guard lock(connections_mutex);
    for (const auto& conn : connections) {
        // Idle keep-alive connections are closed now; busy ones finish their request.
        asio::post(conn->executor, [conn] {
            if (conn->ws)
                conn->ws->close(1001, "server shutting down");
            else
                cancel_if_idle(conn);
        });
    }
}

std::size_t raise_fd_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
    if (limit.rlim_cur < limit.rlim_max) {
        const auto before = limit.rlim_cur;
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) == 0)
            spdlog::info("module=http event=fd_limit_raised from={} to={}", before, limit.rlim_cur);
        else
            limit.rlim_cur = before;
    }
    return limit.rlim_cur == RLIM_INFINITY ? std::size_t{1} << 20
                                           : static_cast<std::size_t>(limit.rlim_cur);
}

std::size_t default_max_connections(std::size_t fd_limit) {
    const std::size_t headroom = 128 + fd_limit / 20;
    return fd_limit > 2 * headroom ? fd_limit - headroom : fd_limit / 2;
}

server::server(server_options options, const router& routes, metrics& stats)
    : impl_(std::make_unique<impl>(std::move(options), routes, stats)) {}

server::~server() = default;

unsigned server::listen() {
    auto& i = *impl_;
    const tcp::endpoint endpoint(asio::ip::make_address(i.options.bind),
                                 static_cast<unsigned short>(i.options.port));
    using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
    // The first acceptor binds without SO_REUSEPORT, so a port another socket holds (a
    // second server, even one that shares its port) fails here as it always did; it is
    // allowed to share only then, with this server's other acceptors (same user only).
    auto& first = i.lanes.front()->acceptor;
    first.open(endpoint.protocol());
    first.set_option(asio::socket_base::reuse_address(true));
    first.bind(endpoint);
    if (i.lanes.size() > 1) first.set_option(reuse_port(true));
    first.listen(asio::socket_base::max_listen_connections);
    const tcp::endpoint bound = first.local_endpoint();
    for (std::size_t n = 1; n < i.lanes.size(); ++n) {
        auto& a = i.lanes[n]->acceptor;
        a.open(bound.protocol());
        a.set_option(asio::socket_base::reuse_address(true));
        a.set_option(reuse_port(true));
        a.bind(bound);
        a.listen(asio::socket_base::max_listen_connections);
    }
    const std::size_t fd_limit = raise_fd_limit();
    i.max_connections =
        i.options.max_connections ? i.options.max_connections : default_max_connections(fd_limit);
    if (i.max_connections >= fd_limit)
        spdlog::warn(
            "module=http event=connection_cap_above_fd_limit max_connections={} fd_limit={}",
            i.max_connections, fd_limit);
    spdlog::info(
        "module=http event=limits max_connections={} max_connections_per_client={} fd_limit={} "
        "header_timeout_s={} keep_alive_timeout_s={} request_timeout_s={}",
        i.max_connections, i.options.max_connections_per_client, fd_limit,
        i.options.header_timeout.count(), i.options.keep_alive_timeout.count(),
        i.options.request_timeout.count());
    return bound.port();
}

void server::run() {
    auto& i = *impl_;
    for (auto& l : i.lanes)
        asio::co_spawn(l->ioc, i.accept_loop(*l), log_exception("accept_loop"));
    // An exception escaping a connection must not end the process: log it and go on.
    const auto run_io = [](asio::io_context& ioc) {
        for (;;) {
            try {
                ioc.run();
                return;
            } catch (const std::exception& e) {
                spdlog::error("module=http event=io_exception error=\"{}\"", e.what());
            }
        }
    };
    std::vector<std::thread> threads;
    for (std::size_t n = 1; n < i.lanes.size(); ++n)
        threads.emplace_back(run_io, std::ref(i.lanes[n]->ioc));
    run_io(i.lanes.front()->ioc);
    for (auto& t : threads) t.join();
    i.blocking.join();
    i.waiting.join();
}

void server::stop() { impl_->begin_stop(); }

std::size_t server::connection_count() const {
    std::lock_guard lock(impl_->connections_mutex);
    return impl_->connections.size();
}

std::size_t server::refused_count() const { return impl_->refused.load(); }

std::size_t server::max_connections() const { return impl_->max_connections; }

}  // namespace bsocial::http
