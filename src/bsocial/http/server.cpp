#include "bsocial/http/server.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/url/parse.hpp>
#include <list>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "bsocial/core/text.hpp"
#include "bsocial/core/utf8.hpp"
#include "bsocial/http/problem.hpp"

namespace bsocial::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::use_awaitable;
constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);

namespace {

namespace websocket = beast::websocket;

/// What escaped a detached coroutine, logged instead of dropped (as Beast's awaitable
/// examples do); the coroutine's scope guards have already cleaned up.
auto log_exception(const char* what) {
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

std::int64_t steady_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

/// One WebSocket after its handshake. Lives on its connection's strand: every member is
/// touched only there (send/close post to it). One writer: frames wait in `queue_`.
class ws_session final : public ws_connection, public std::enable_shared_from_this<ws_session> {
  public:
    /// A burst of pushes is posted before the writer runs once, so the bound is on bytes
    /// (thousands of notifications), not on a small frame count.
    static constexpr std::size_t max_queued_bytes = 1024 * 1024;

    ws_session(beast::tcp_stream stream, asio::thread_pool& blocking)
        : ws_(std::move(stream)), blocking_(blocking) {}

    websocket::stream<beast::tcp_stream>& stream() { return ws_; }

    void send(std::string text) override {
        asio::post(ws_.get_executor(), [self = shared_from_this(), t = std::move(text)]() mutable {
            self->enqueue(std::move(t));
        });
    }

    void close(unsigned short code, std::string reason) override {
        asio::post(ws_.get_executor(), [self = shared_from_this(), code, r = std::move(reason)] {
            self->begin_close(code, r);
        });
    }

    /// Closes the TCP socket now (no close frame). On the strand.
    void close_now() {
        closing_ = true;
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().close(ignored);
    }

    /// Reads frames until the socket closes; each message goes to on_message on the
    /// blocking pool, in order. Then on_close, also on the blocking pool. on_close runs
    /// exactly once, even when this coroutine ends by an exception or is destroyed unrun
    /// (then on the destroying thread).
    asio::awaitable<void> read_loop(ws_callbacks callbacks) {
        struct close_once {
            std::function<void()> f;
            ~close_once() {
                if (!f) return;
                try {
                    f();
                } catch (const std::exception& e) {
                    spdlog::error("module=http event=ws_on_close_failed error=\"{}\"", e.what());
                }
            }
        } on_close{std::move(callbacks.on_close)};
        for (;;) {
            beast::flat_buffer buffer;
            auto [ec, n] = co_await ws_.async_read(buffer, as_tuple_awaitable);
            if (ec) break;
            if (!callbacks.on_message) continue;
            std::string text = beast::buffers_to_string(buffer.data());
            auto [failed] = co_await asio::co_spawn(
                blocking_, call_on_message(callbacks.on_message, std::move(text)),
                as_tuple_awaitable);
            if (failed) log_exception("ws_on_message")(failed);
        }
        closed_ = true;
        if (auto f = std::exchange(on_close.f, nullptr)) {
            auto [failed] =
                co_await asio::co_spawn(blocking_, call_on_close(std::move(f)), as_tuple_awaitable);
            if (failed) log_exception("ws_on_close")(failed);
        }
    }

  private:
    static asio::awaitable<void> call_on_message(std::function<void(const std::string&)> f,
                                                 std::string text) {
        f(text);
        co_return;
    }
    static asio::awaitable<void> call_on_close(std::function<void()> f) {
        f();
        co_return;
    }

    void enqueue(std::string text) {
        if (closing_ || closed_) return;
        if (queued_bytes_ + text.size() > max_queued_bytes) {
            // A client that does not read must not make us buffer without bound: drop it.
            spdlog::warn(
                "module=http event=websocket_dropped reason=slow_client queued={} bytes={}",
                queue_.size(), queued_bytes_);
            closing_ = true;
            beast::error_code ignored;
            beast::get_lowest_layer(ws_).socket().close(ignored);
            return;
        }
        queued_bytes_ += text.size();
        queue_.push_back(std::move(text));
        if (!writing_) write_next();
    }

    void write_next() {
        if (queue_.empty()) {
            writing_ = false;
            if (close_code_) send_close();
            return;
        }
        writing_ = true;
        ws_.text(true);
        ws_.async_write(asio::buffer(queue_.front()),
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            self->queued_bytes_ -= self->queue_.front().size();
                            self->queue_.pop_front();
                            if (ec) {
                                self->writing_ = false;
                                self->queue_.clear();
                                self->queued_bytes_ = 0;
                                return;
                            }
                            self->write_next();
                        });
    }

    void begin_close(unsigned short code, const std::string& reason) {
        if (closing_ || closed_) return;
        closing_ = true;
        close_code_ = code;
        close_reason_ = reason;
        if (!writing_) send_close();
    }

    void send_close() {
        ws_.async_close(websocket::close_reason(static_cast<websocket::close_code>(*close_code_),
                                                close_reason_),
                        [self = shared_from_this()](beast::error_code) {});
    }

    websocket::stream<beast::tcp_stream> ws_;
    asio::thread_pool& blocking_;
    std::list<std::string> queue_;  ///< no allocation while empty (idle sockets)
    std::size_t queued_bytes_ = 0;
    bool writing_ = false;
    bool closing_ = false;
    bool closed_ = false;
    std::optional<unsigned short> close_code_;
    std::string close_reason_;
};

/// One client connection. `stream`, `upgraded` and `ws` are touched only on the
/// connection's strand; `idle`, `idle_since` and `shedding` are also read by the acceptor.
struct connection {
    connection(tcp::socket s, std::string address)
        : executor(s.get_executor()), stream(std::move(s)), client(std::move(address)) {}
    asio::any_io_executor executor;           ///< the strand; stays valid after a WebSocket upgrade
    beast::tcp_stream stream;                 ///< moved into the ws_session on upgrade
    const std::string client;                 ///< the peer's address ("" if unknown)
    std::atomic<bool> idle{false};            ///< waiting for the first byte of a request
    std::atomic<std::int64_t> idle_since{0};  ///< steady clock, ns
    std::atomic<bool> shedding{false};        ///< picked to be closed to make room
    bool upgraded = false;                    ///< `stream` now belongs to `ws`
    std::shared_ptr<ws_session> ws;           ///< set once upgraded to a WebSocket
};

/// Cancels a connection's wait for its next request (it then closes). On its strand.
void cancel_if_idle(const std::shared_ptr<connection>& conn) {
    if (!conn->idle || conn->upgraded) {
        conn->shedding = false;
        return;
    }
    beast::error_code ignored;  // the peer may have closed it already
    conn->stream.socket().cancel(ignored);
}

bool client_gone(const beast::error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
           ec == beast::error::timeout || ec == asio::error::connection_reset ||
           ec == asio::error::eof;
}

struct handled {
    response res;
    std::string route;
};

request to_request(const bhttp::request<bhttp::string_body>& in, const std::string& client) {
    request out;
    out.method = std::string(in.method_string());
    auto target = boost::urls::parse_origin_form(in.target());
    if (!target) throw transport_error(errc::bad_request, "malformed request target");
    out.path = target->path();
    for (const auto& p : target->params())
        out.query.emplace_back(std::string(p.key), p.has_value ? std::string(p.value) : "");
    // Decoded path and query reach SQL as text: they must be valid UTF-8.
    bool valid = is_valid_utf8(out.path);
    for (const auto& [k, v] : out.query) valid = valid && is_valid_utf8(k) && is_valid_utf8(v);
    if (!valid) throw transport_error(errc::bad_request, "the request target is not valid UTF-8");
    for (const auto& f : in) {
        out.headers.emplace_back(ascii_lower(f.name_string()), std::string(f.value()));
    }
    out.body = in.body();
    out.client_address = client;
    return out;
}

// Runs on the blocking-work pool.
asio::awaitable<handled> run_handler(const router* routes, bhttp::request<bhttp::string_body> in,
                                     std::string client) {
    request req;
    try {
        req = to_request(in, client);
    } catch (const transport_error& e) {
        co_return handled{problem_response(e), "bad_request"};
    }
    response res = routes->dispatch(req);
    co_return handled{std::move(res), std::move(req.route)};
}

struct upgrade_decision {
    ws_decision decision;
    std::string route;
};

// Runs on the blocking-work pool: authentication at the handshake may need SQL.
asio::awaitable<upgrade_decision> run_upgrade(const router* routes,
                                              bhttp::request<bhttp::string_body> in,
                                              std::string client) {
    request req;
    try {
        req = to_request(in, client);
    } catch (const transport_error& e) {
        co_return upgrade_decision{ws_decision{problem_response(e), {}}, "bad_request"};
    }
    ws_decision d = routes->dispatch_upgrade(req);
    co_return upgrade_decision{std::move(d), std::move(req.route)};
}

bhttp::response<bhttp::string_body> to_beast(const response& res, unsigned version, bool keep_alive,
                                             bool head = false) {
    bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(res.status), version};
    out.set(bhttp::field::server, "bsocial");
    if (!res.body.empty() || res.status != 204)
        out.set(bhttp::field::content_type, res.content_type);
    out.set("X-Content-Type-Options", "nosniff");
    out.set(bhttp::field::cache_control, "no-store");  // API answers; files set their own
    for (const auto& [k, v] : res.headers) out.set(k, v);
    out.body() = res.body;
    out.keep_alive(keep_alive);
    out.prepare_payload();
    if (head) {  // HEAD: the headers of the GET answer, Content-Length included, no body
        const auto length = out.body().size();
        out.body().clear();
        out.content_length(length);
    }
    return out;
}

}  // namespace

struct server::impl {
    impl(server_options o, const router& r, metrics& m)
        : options(std::move(o)),
          routes(r),
          stats(m),
          ioc(options.io_threads),
          blocking(static_cast<std::size_t>(options.blocking_threads)),
          acceptor(asio::make_strand(ioc)),
          signals(acceptor.get_executor()) {}

    server_options options;
    const router& routes;
    metrics& stats;
    // Declared before `ioc`, so destroyed after it: a coroutine frame the io_context
    // destroys unrun still finds them in its scope guard.
    std::atomic<bool> stopping{false};
    std::size_t max_connections = 0;  ///< resolved by listen()
    mutable std::mutex connections_mutex;
    std::set<std::shared_ptr<connection>> connections;
    std::unordered_map<std::string, std::size_t> per_client;  ///< open connections by address
    std::atomic<std::size_t> refused{0};
    std::atomic<int> refusing{0};  ///< refusals being written
    asio::io_context ioc;
    asio::thread_pool blocking;
    tcp::acceptor acceptor;
    asio::signal_set signals;
    std::function<void()> on_stop;

    enum class admission { admitted, server_full, client_full };
    static constexpr std::size_t max_shedding = 64;
    admission admit(const std::shared_ptr<connection>& conn);
    bool shed_oldest_idle();
    void release(const std::shared_ptr<connection>& conn);
    void refuse(const std::shared_ptr<connection>& conn, admission why);
    asio::awaitable<void> write_refusal(std::shared_ptr<connection> conn, admission why);
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(std::shared_ptr<connection> conn);
    asio::awaitable<void> serve_websocket(std::shared_ptr<connection> conn,
                                          bhttp::request<bhttp::string_body> in,
                                          std::string client);
    asio::awaitable<void> write_problem(std::shared_ptr<connection> conn, errc code,
                                        std::string message);
    void begin_stop();
};

asio::awaitable<void> server::impl::accept_loop() {
    while (acceptor.is_open()) {
        tcp::socket socket(asio::make_strand(ioc));
        auto [ec] = co_await acceptor.async_accept(socket, as_tuple_awaitable);
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
            spdlog::warn("module=http event=accept_failed error=\"{}\"", ec.message());
            // Out of descriptors and the like: back off instead of spinning.
            asio::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(50));
            co_await t.async_wait(as_tuple_awaitable);
            continue;
        }
        std::string client;
        {
            beast::error_code ep_ec;
            auto ep = socket.remote_endpoint(ep_ec);
            if (!ep_ec) client = ep.address().to_string();
        }
        auto conn = std::make_shared<connection>(std::move(socket), std::move(client));
        const admission verdict = admit(conn);
        if (verdict != admission::admitted) {
            refuse(conn, verdict);
            continue;
        }
        asio::co_spawn(conn->executor, serve(conn), log_exception("connection"));
    }
}

server::impl::admission server::impl::admit(const std::shared_ptr<connection>& conn) {
    std::lock_guard lock(connections_mutex);
    auto [it, inserted] = per_client.try_emplace(conn->client, 0);
    auto verdict = admission::admitted;
    if (it->second >= options.max_connections_per_client)
        verdict = admission::client_full;
    else if (connections.size() >= max_connections + max_shedding ||
             (connections.size() >= max_connections && !shed_oldest_idle()))
        verdict = admission::server_full;
    if (verdict != admission::admitted) {
        if (it->second == 0) per_client.erase(it);
        return verdict;
    }
    ++it->second;
    connections.insert(conn);
    return verdict;
}

// Under connections_mutex. At the cap, the connection idle the longest makes room; it is
// closed on its strand, so the count goes over the cap by the few being closed (at most
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
    auto it = per_client.find(conn->client);
    if (it != per_client.end() && --it->second == 0) per_client.erase(it);
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
    const bool client_full = why == admission::client_full;
    bsocial::error e(client_full ? error_code::rate_limited : error_code::unavailable,
                     client_full ? "too many connections from this address"
                                 : "the server is at its connection limit");
    e.retry_after_seconds = 1;
    response res = problem_response(e);
    res.set_header("Retry-After", "1");
    auto out = to_beast(res, 11, false);
    conn->stream.expires_after(std::chrono::seconds(1));
    auto [ec, n] = co_await bhttp::async_write(conn->stream, out, as_tuple_awaitable);
    beast::error_code ignored;
    conn->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    std::array<char, 1024> sink;
    while (!ec)
        std::tie(ec, n) =
            co_await conn->stream.async_read_some(asio::buffer(sink), as_tuple_awaitable);
    conn->stream.socket().close(ignored);
}

asio::awaitable<void> server::impl::write_problem(std::shared_ptr<connection> conn, errc code,
                                                  std::string message) {
    response res = problem_response(transport_error(code, std::move(message)));
    auto out = to_beast(res, 11, false);
    conn->stream.expires_after(std::chrono::seconds(5));
    co_await bhttp::async_write(conn->stream, out, as_tuple_awaitable);
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

    const std::string& client = conn->client;
    beast::flat_buffer buffer;
    // A new connection has header_timeout to send its first request's headers.
    auto header_deadline = std::chrono::steady_clock::now() + options.header_timeout;
    for (bool first = true;; first = false) {
        if (stopping) break;
        if (buffer.size() == 0) {
            // Idle until the first byte of a request: sheddable at the cap, closed at stop.
            conn->idle_since = steady_now_ns();
            conn->idle = true;
            if (first)
                conn->stream.expires_at(header_deadline);
            else
                conn->stream.expires_after(options.keep_alive_timeout);
            auto [ec, n] =
                co_await conn->stream.async_read_some(buffer.prepare(4096), as_tuple_awaitable);
            conn->idle = false;
            if (ec) break;  // closed, idle too long, shed or stopping
            buffer.commit(n);
        }
        // A next request (possibly pipelined, already buffered) gets its own header deadline.
        if (!first) header_deadline = std::chrono::steady_clock::now() + options.header_timeout;
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
        parser.body_limit(options.body_limit);
        conn->stream.expires_at(header_deadline);
        auto [read_ec, read_n] =
            co_await bhttp::async_read_header(conn->stream, buffer, parser, as_tuple_awaitable);
        if (!read_ec) {
            conn->stream.expires_after(options.request_timeout);
            std::tie(read_ec, read_n) =
                co_await bhttp::async_read(conn->stream, buffer, parser, as_tuple_awaitable);
        }
        if (read_ec == bhttp::error::body_limit) {
            co_await write_problem(conn, errc::payload_too_large,
                                   "request body is larger than the limit");
            break;
        }
        if (read_ec == bhttp::error::header_limit) {
            co_await write_problem(conn, errc::headers_too_large,
                                   "request headers are larger than the limit");
            break;
        }
        if (read_ec) {
            if (!client_gone(read_ec))
                co_await write_problem(conn, errc::bad_request, "malformed HTTP request");
            break;
        }

        auto in = parser.release();
        if (websocket::is_upgrade(in)) {
            // This frame lives as long as the WebSocket: give its read buffer back first.
            buffer.clear();
            buffer.shrink_to_fit();
            co_await serve_websocket(conn, std::move(in), client);
            co_return;  // the WebSocket owned (and closed) the stream
        }
        const unsigned version = in.version();
        const bool keep_alive = in.keep_alive();
        const std::string method(in.method_string());
        const auto started = std::chrono::steady_clock::now();
        handled h = co_await asio::co_spawn(blocking, run_handler(&routes, std::move(in), client),
                                            use_awaitable);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        stats.record(h.route, method, h.res.status, seconds);

        auto out = to_beast(h.res, version, keep_alive && !stopping, method == "HEAD");
        conn->stream.expires_after(options.request_timeout);
        auto [write_ec, written] =
            co_await bhttp::async_write(conn->stream, out, as_tuple_awaitable);
        if (write_ec || !out.keep_alive()) break;
    }
}

asio::awaitable<void> server::impl::serve_websocket(std::shared_ptr<connection> conn,
                                                    bhttp::request<bhttp::string_body> in,
                                                    std::string client) {
    const auto started = std::chrono::steady_clock::now();
    upgrade_decision d =
        co_await asio::co_spawn(blocking, run_upgrade(&routes, in, client), use_awaitable);
    if (d.decision.refuse || !d.decision.open) {
        response res = d.decision.refuse.value_or(
            problem_response(bsocial::error(error_code::not_found, "no such resource")));
        stats.record(
            d.route, "GET", res.status,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        auto out = to_beast(res, in.version(), false);
        conn->stream.expires_after(std::chrono::seconds(5));
        co_await bhttp::async_write(conn->stream, out, as_tuple_awaitable);
        co_return;
    }
    stats.record(d.route, "GET", 101,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());

    conn->stream.expires_never();  // the WebSocket has its own timeouts from here on
    conn->upgraded = true;
    auto session = std::make_shared<ws_session>(std::move(conn->stream), blocking);
    auto& ws = session->stream();
    websocket::stream_base::timeout timeouts =
        websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.idle_timeout = std::chrono::seconds(30);  // ping when idle; drop if no pong
    timeouts.keep_alive_pings = true;
    ws.set_option(timeouts);
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(bhttp::field::server, "bsocial"); }));
    ws.read_message_max(16 * 1024);
    auto [ec] = co_await ws.async_accept(in, as_tuple_awaitable);
    in = {};  // this frame lives as long as the WebSocket: keep no request headers in it
    if (ec) co_return;
    conn->ws = session;
    if (stopping) session->close(1001, "server shutting down");

    // Opening runs on the blocking pool (it may query SQL and send the backlog).
    auto open = std::move(d.decision.open);
    d = {};
    auto callbacks = co_await asio::co_spawn(
        blocking,
        [](decltype(open) f, std::shared_ptr<ws_session> s) -> asio::awaitable<ws_callbacks> {
            co_return f(s);
        }(std::move(open), session),
        use_awaitable);
    co_await session->read_loop(std::move(callbacks));
}

void server::impl::begin_stop() {
    if (stopping.exchange(true)) return;
    spdlog::info("module=http event=stopping");
    if (on_stop) on_stop();
    // The acceptor and the signal set live on the acceptor's strand.
    asio::post(acceptor.get_executor(), [this] {
        beast::error_code ignored;
        acceptor.close(ignored);
        signals.cancel(ignored);
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
    });
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
    i.acceptor.open(endpoint.protocol());
    i.acceptor.set_option(asio::socket_base::reuse_address(true));
    i.acceptor.bind(endpoint);
    i.acceptor.listen(asio::socket_base::max_listen_connections);
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
    // Catch SIGINT/SIGTERM from here on: a stop that arrives before run() is honoured
    // as soon as run() starts, instead of killing the process.
    if (i.options.handle_signals) {
        i.signals.add(SIGINT);
        i.signals.add(SIGTERM);
        i.signals.async_wait([this](const beast::error_code& ec, int) {
            if (!ec) impl_->begin_stop();
        });
    }
    return i.acceptor.local_endpoint().port();
}

void server::run() {
    auto& i = *impl_;
    i.on_stop = on_stop;
    asio::co_spawn(i.acceptor.get_executor(), i.accept_loop(), log_exception("accept_loop"));
    // An exception escaping a connection must not end the process: log it and go on.
    const auto run_io = [&i] {
        for (;;) {
            try {
                i.ioc.run();
                return;
            } catch (const std::exception& e) {
                spdlog::error("module=http event=io_exception error=\"{}\"", e.what());
            }
        }
    };
    std::vector<std::thread> threads;
    for (int n = 1; n < i.options.io_threads; ++n) threads.emplace_back(run_io);
    run_io();
    for (auto& t : threads) t.join();
    i.blocking.join();
}

void server::stop() { impl_->begin_stop(); }

std::size_t server::connection_count() const {
    std::lock_guard lock(impl_->connections_mutex);
    return impl_->connections.size();
}

std::size_t server::refused_count() const { return impl_->refused.load(); }

std::size_t server::max_connections() const { return impl_->max_connections; }

}  // namespace bsocial::http
