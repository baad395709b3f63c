#include "bsocial/http/websocket_session.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <stdexcept>

#include "bsocial/http/errc.hpp"
#include "bsocial/http/problem.hpp"

namespace bsocial::http {

void websocket_limits::validate() const {
    if (frames_per_second < 0)
        throw std::invalid_argument("--ws-frames-per-second must not be negative");
    if (frame_burst < 1) throw std::invalid_argument("--ws-frame-burst must be at least 1");
}

}  // namespace bsocial::http

namespace bsocial::http::detail {

namespace {

struct upgrade_decision {
    ws_decision decision;
    std::string route;
};

// Runs on the blocking-work pool: authentication at the handshake may need SQL.
asio::awaitable<upgrade_decision> run_upgrade(const server_context* ctx,
                                              bhttp::request<bhttp::string_body> in,
                                              std::shared_ptr<connection> conn) {
    const router* routes = &ctx->routes;
    request req;
    try {
        req = to_request(in, *conn, ctx->options.trusted);
    } catch (const transport_error& e) {
        co_return upgrade_decision{ws_decision{problem_response(e), {}}, "bad_request"};
    }
    ws_decision d = routes->dispatch_upgrade(req);
    co_return upgrade_decision{std::move(d), std::move(req.route)};
}

}  // namespace

asio::awaitable<void> serve_websocket(server_context& ctx, std::shared_ptr<connection> conn,
                                      bhttp::request<bhttp::string_body> in) {
    const auto started = std::chrono::steady_clock::now();
    upgrade_decision d;
    // Through a trusted proxy the connection was not counted at accept; a WebSocket stays
    // open for hours, so it counts against its forwarded client's cap (docs/security.md).
    if (conn->peer_trusted &&
        !ctx.count_forwarded(*conn, client_of(in, *conn, ctx.options.trusted))) {
        d.decision.refuse = per_client_refusal();
        d.route = "per_client_cap";
    } else {
        d = co_await asio::co_spawn(ctx.blocking, run_upgrade(&ctx, in, conn),
                                    asio::use_awaitable);
    }
    if (d.decision.refuse || !d.decision.open) {
        response res = d.decision.refuse.value_or(
            problem_response(bsocial::error(error_code::not_found, "no such resource")));
        ctx.stats.record(
            d.route, "GET", res.status,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        std::string scratch;
        co_await write_response(*conn, res, in.version(), false, false, std::chrono::seconds(5),
                                scratch);
        co_return;
    }
    ctx.stats.record(
        d.route, "GET", 101,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());

    conn->stream.expires_never();  // the WebSocket has its own timeouts from here on
    conn->upgraded = true;
    auto session = std::make_shared<websocket_session>(std::move(conn->stream), ctx.blocking,
                                                       ctx.options.websocket);
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
    if (ctx.stopping) session->close(1001, "server shutting down");

    // Opening runs on the blocking pool (it may query SQL and send the backlog).
    auto open = std::move(d.decision.open);
    d = {};
    auto callbacks = co_await asio::co_spawn(
        ctx.blocking,
        [](decltype(open) f, std::shared_ptr<websocket_session> s)
            -> asio::awaitable<ws_callbacks> { co_return f(s); }(std::move(open), session),
        asio::use_awaitable);
    co_await session->read_loop(std::move(callbacks));
}

}  // namespace bsocial::http::detail
