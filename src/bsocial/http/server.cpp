#include "bsocial/http/server.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/url/parse.hpp>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

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

    /// Reads frames until the socket closes; each message goes to on_message on the
    /// blocking pool, in order. Then on_close, also on the blocking pool.
    asio::awaitable<void> read_loop(ws_callbacks callbacks) {
        for (;;) {
            beast::flat_buffer buffer;
            auto [ec, n] = co_await ws_.async_read(buffer, as_tuple_awaitable);
            if (ec) break;
            if (!callbacks.on_message) continue;
            std::string text = beast::buffers_to_string(buffer.data());
            co_await asio::co_spawn(blocking_,
                                    call_on_message(callbacks.on_message, std::move(text)),
                                    as_tuple_awaitable);
        }
        closed_ = true;
        if (callbacks.on_close)
            co_await asio::co_spawn(blocking_, call_on_close(callbacks.on_close),
                                    as_tuple_awaitable);
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
    std::deque<std::string> queue_;
    std::size_t queued_bytes_ = 0;
    bool writing_ = false;
    bool closing_ = false;
    bool closed_ = false;
    std::optional<unsigned short> close_code_;
    std::string close_reason_;
};

/// One client connection. `idle` and `ws` are read and written only on the connection's
/// strand.
struct connection {
    explicit connection(tcp::socket s) : executor(s.get_executor()), stream(std::move(s)) {}
    asio::any_io_executor executor;  ///< the strand; stays valid after a WebSocket upgrade
    beast::tcp_stream stream;        ///< moved into the ws_session on upgrade
    bool idle = true;
    std::shared_ptr<ws_session> ws;  ///< set once upgraded to a WebSocket
};

struct handled {
    response res;
    std::string route;
};

request to_request(const bhttp::request<bhttp::string_body>& in, const std::string& client) {
    request out;
    out.method = std::string(in.method_string());
    auto target = boost::urls::parse_origin_form(in.target());
    if (!target) throw bsocial::error(error_code::bad_request, "malformed request target");
    out.path = target->path();
    for (const auto& p : target->params())
        out.query.emplace_back(std::string(p.key), p.has_value ? std::string(p.value) : "");
    // Decoded path and query reach SQL as text: they must be valid UTF-8.
    bool valid = is_valid_utf8(out.path);
    for (const auto& [k, v] : out.query) valid = valid && is_valid_utf8(k) && is_valid_utf8(v);
    if (!valid)
        throw bsocial::error(error_code::bad_request, "the request target is not valid UTF-8");
    for (const auto& f : in) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.headers.emplace_back(std::move(name), std::string(f.value()));
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
    } catch (const bsocial::error& e) {
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
    } catch (const bsocial::error& e) {
        co_return upgrade_decision{ws_decision{problem_response(e), {}}, "bad_request"};
    }
    ws_decision d = routes->dispatch_upgrade(req);
    co_return upgrade_decision{std::move(d), std::move(req.route)};
}

bhttp::response<bhttp::string_body> to_beast(const response& res, unsigned version,
                                             bool keep_alive,
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
    asio::io_context ioc;
    asio::thread_pool blocking;
    tcp::acceptor acceptor;
    asio::signal_set signals;
    std::atomic<bool> stopping{false};
    std::mutex connections_mutex;
    std::set<std::shared_ptr<connection>> connections;
    std::function<void()> on_stop;

    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(std::shared_ptr<connection> conn);
    asio::awaitable<void> serve_websocket(std::shared_ptr<connection> conn,
                                          bhttp::request<bhttp::string_body> in,
                                          std::string client);
    asio::awaitable<void> write_problem(std::shared_ptr<connection> conn, error_code code,
                                        std::string message, unsigned status_override = 0);
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
        auto conn = std::make_shared<connection>(std::move(socket));
        {
            std::lock_guard lock(connections_mutex);
            connections.insert(conn);
        }
        asio::co_spawn(conn->executor, serve(conn), asio::detached);
    }
}

asio::awaitable<void> server::impl::write_problem(std::shared_ptr<connection> conn, error_code code,
                                                  std::string message, unsigned status_override) {
    response res = problem_response(bsocial::error(code, std::move(message)));
    if (status_override) res.status = status_override;
    auto out = to_beast(res, 11, false);
    conn->stream.expires_after(std::chrono::seconds(5));
    co_await bhttp::async_write(conn->stream, out, as_tuple_awaitable);
}

asio::awaitable<void> server::impl::serve(std::shared_ptr<connection> conn) {
    std::string client;
    {
        beast::error_code ec;
        auto ep = conn->stream.socket().remote_endpoint(ec);
        if (!ec) client = ep.address().to_string();
    }
    beast::flat_buffer buffer;
    for (;;) {
        conn->idle = true;
        if (stopping) break;
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
        parser.body_limit(options.body_limit);
        conn->stream.expires_after(options.request_timeout);
        auto [read_ec, read_n] =
            co_await bhttp::async_read(conn->stream, buffer, parser, as_tuple_awaitable);
        conn->idle = false;
        if (read_ec == bhttp::error::body_limit) {
            co_await write_problem(conn, error_code::payload_too_large,
                                   "request body is larger than the limit");
            break;
        }
        if (read_ec == bhttp::error::header_limit) {
            co_await write_problem(conn, error_code::payload_too_large,
                                   "request headers are larger than the limit", 431);
            break;
        }
        if (read_ec) {
            const bool client_gone =
                read_ec == bhttp::error::end_of_stream ||
                read_ec == asio::error::operation_aborted || read_ec == beast::error::timeout ||
                read_ec == asio::error::connection_reset || read_ec == asio::error::eof;
            if (!client_gone && read_n > 0)
                co_await write_problem(conn, error_code::bad_request, "malformed HTTP request");
            break;
        }

        auto in = parser.release();
        if (websocket::is_upgrade(in)) {
            co_await serve_websocket(conn, std::move(in), client);
            std::lock_guard lock(connections_mutex);
            connections.erase(conn);
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
    beast::error_code ignored;
    conn->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    conn->stream.close();
    std::lock_guard lock(connections_mutex);
    connections.erase(conn);
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
    if (ec) co_return;
    conn->ws = session;
    if (stopping) session->close(1001, "server shutting down");

    // Opening runs on the blocking pool (it may query SQL and send the backlog).
    auto open = d.decision.open;
    auto callbacks = co_await asio::co_spawn(
        blocking,
        [](decltype(open) f, std::shared_ptr<ws_session> s) -> asio::awaitable<ws_callbacks> {
            co_return f(s);
        }(open, session),
        use_awaitable);
    co_await session->read_loop(std::move(callbacks));
    conn->ws.reset();
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
                beast::error_code ignored;  // the peer may have closed it already
                if (conn->ws)
                    conn->ws->close(1001, "server shutting down");
                else if (conn->idle)
                    conn->stream.socket().cancel(ignored);
            });
        }
    });
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
    asio::co_spawn(i.acceptor.get_executor(), i.accept_loop(), asio::detached);
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

}  // namespace bsocial::http
