#pragma once
// Internal to http/ (server.cpp, http_session.cpp, websocket_session.cpp); no other module
// includes it. One accepted client connection, what its sessions share with the server,
// and the conversions between Beast messages and http::request/response.
//
// The pieces (as in Beast's example/advanced/server): server.cpp accepts, admits and
// stops; http_session.cpp serves the HTTP requests of one connection; on an Upgrade,
// websocket_session.cpp takes the connection over for the rest of its life.

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "bsocial/http/client_address.hpp"
#include "bsocial/http/message.hpp"
#include "bsocial/http/metrics.hpp"
#include "bsocial/http/router.hpp"
#include "bsocial/http/server.hpp"

namespace bsocial::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
inline constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);

class websocket_session;

/// One client connection; it lives on the I/O thread that accepted it. `stream`, `upgraded`
/// and `ws` are touched only on that thread; `idle`, `idle_since` and `shedding` are also read by the acceptor.
struct connection {
    connection(tcp::socket s, std::optional<ip_address> peer_address, bool trusted)
        : executor(s.get_executor()),
          stream(std::move(s)),
          peer(peer_address),
          client(peer_address ? client_key(*peer_address) : std::string()),
          peer_trusted(trusted) {}
    /// The connection's I/O thread (its io_context: one thread runs it, so no strand is
    /// needed); stays valid after a WebSocket upgrade.
    asio::any_io_executor executor;
    beast::tcp_stream stream;                 ///< moved into the websocket_session on upgrade
    const std::optional<ip_address> peer;     ///< the TCP peer (nullopt if unknown)
    const std::string client;                 ///< client_key of the peer ("" if unknown)
    const bool peer_trusted;                  ///< the peer is a trusted proxy
    /// The per-client count this connection holds ("" none): the peer's key, or for a
    /// WebSocket through a trusted proxy the forwarded client's. Under the server's mutex.
    std::string counted_as;
    std::atomic<bool> idle{false};            ///< waiting for the first byte of a request
    std::atomic<std::int64_t> idle_since{0};  ///< steady clock, ns
    std::atomic<bool> shedding{false};        ///< picked to be closed to make room
    bool upgraded = false;                    ///< `stream` now belongs to `ws`
    std::shared_ptr<websocket_session> ws;    ///< set once upgraded to a WebSocket
};

/// What the sessions of a connection use of their server; outlives every connection.
struct server_context {
    const server_options& options;
    const router& routes;
    metrics& stats;
    asio::thread_pool& blocking;  ///< the SQL pool: handlers and WebSocket callbacks run here
    asio::thread_pool& waiting;   ///< handlers of runs_on::waiting_pool routes
    const std::atomic<bool>& stopping;
    /// Counts `conn` (a WebSocket through a trusted proxy) against `client`'s per-client
    /// cap; false when that client is at its cap (the connection is then refused 429).
    std::function<bool(connection& conn, const std::string& client)> count_forwarded;
};

/// The client's key for the per-address limits: the peer's own, or when the peer is a
/// trusted proxy the X-Forwarded-For client's (http/client_address.hpp).
std::string client_of(const bhttp::request<bhttp::string_body>& in, const connection& conn,
                      const trusted_proxies& trusted);

/// What escaped a detached coroutine, logged instead of dropped (as Beast's awaitable
/// examples do); the coroutine's scope guards have already cleaned up.
std::function<void(std::exception_ptr)> log_exception(const char* what);

/// The request as handlers see it; throws transport_error{bad_request} for a target that
/// does not parse or is not UTF-8.
request to_request(const bhttp::request<bhttp::string_body>& in, const connection& conn,
                   const trusted_proxies& trusted);

/// The refusal of a connection beyond the per-client cap: 429 with Retry-After: 1.
response per_client_refusal();

/// Appends to `out` the status line and header fields of `res` (through the blank line),
/// with the server's fixed headers (Server, Content-Type, X-Content-Type-Options,
/// Cache-Control; a header of `res` replaces a fixed one of the same name, and the last of
/// a name wins), Content-Length (none for 1xx, 204 and 304) and Connection as
/// `keep_alive` asks for `version`, as Beast's prepare_payload() and keep_alive() would.
/// HEAD: the headers of the GET answer, Content-Length included; the caller sends no body.
void serialize_head(const response& res, unsigned version, bool keep_alive, bool head,
                    std::string& out);

/// Writes `res` (its head serialized into `scratch`, then its body; HEAD: no body) with
/// one gather write: first tried at once without waiting (the answer usually fits in the
/// socket's buffer, so no asynchronous operation and no timer are needed), the rest
/// written asynchronously within `timeout`. On the connection's I/O thread.
asio::awaitable<beast::error_code> write_response(connection& conn, const response& res,
                                                  unsigned version, bool keep_alive, bool head,
                                                  std::chrono::steady_clock::duration timeout,
                                                  std::string& scratch);

/// Serves the HTTP requests of `conn` until it closes, idles out or the server stops;
/// hands an Upgrade request to serve_websocket. The caller closes and releases `conn`.
asio::awaitable<void> serve_http(server_context& ctx, std::shared_ptr<connection> conn);

/// Decides the handshake `in` on the blocking pool (the route may authenticate with SQL);
/// refused: writes the problem; accepted: runs the WebSocket until it closes.
asio::awaitable<void> serve_websocket(server_context& ctx, std::shared_ptr<connection> conn,
                                      bhttp::request<bhttp::string_body> in);

}  // namespace bsocial::http::detail
