#include <boost/beast/websocket.hpp>
#include <boost/url/parse.hpp>
#include <array>
#include <charconv>
#include <chrono>
#include <string_view>
#include <tuple>
#include <vector>

#include "bsocial/core/text.hpp"
#include "bsocial/core/utf8.hpp"
#include "bsocial/http/connection.hpp"
#include "bsocial/http/errc.hpp"
#include "bsocial/http/problem.hpp"

// The HTTP side of one connection: read a request (header and keep-alive deadlines,
// size limits), answer it on this I/O thread when it needs no database (routes that run
// here, answers from memory: router::answer_from_memory), else run its handler on the
// blocking-work pool (the SQL pool, or the waiting pool for routes marked so), write the
// response; repeat while kept alive. An Upgrade request goes to websocket_session.cpp.

namespace bsocial::http::detail {

namespace {

std::int64_t steady_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
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

asio::awaitable<handled> dispatch(const router* routes, request req,
                                  router::resolution found) {
    response res = routes->dispatch(req, found);
    co_return handled{std::move(res), std::move(req.route)};
}

// Runs on the SQL pool; a route that waits long outside SQL moves on to the waiting pool
// (this thread is free meanwhile).
asio::awaitable<handled> run_handler(server_context* ctx, request req, router::resolution found) {
    if (&ctx->waiting != &ctx->blocking && found.where == runs_on::waiting_pool)
        co_return co_await asio::co_spawn(
            ctx->waiting, dispatch(&ctx->routes, std::move(req), std::move(found)),
            asio::use_awaitable);
    co_return co_await dispatch(&ctx->routes, std::move(req), std::move(found));
}

/// On the connection's I/O thread: the answer when no database is needed (a route that
/// runs there, a route answered from memory, a request that does not parse), else
/// nullopt and `req`/`found` filled for the pool.
std::optional<handled> answer_here(server_context& ctx, const bhttp::request<bhttp::string_body>& in,
                                   const connection& conn, request& req,
                                   router::resolution& found) {
    try {
        req = to_request(in, conn, ctx.options.trusted);
    } catch (const transport_error& e) {
        return handled{problem_response(e), "bad_request"};
    }
    found = ctx.routes.resolve(req);  // once: it picks where the handler runs
    if (found.best && found.where == runs_on::io_thread) {
        response res = ctx.routes.dispatch(req, found);
        return handled{std::move(res), std::move(req.route)};
    }
    if (auto res = ctx.routes.answer_from_memory(req, found))
        return handled{std::move(*res), std::move(req.route)};
    return std::nullopt;
}

/// Answers a request that failed as HTTP, then the connection closes.
asio::awaitable<void> write_problem(connection& conn, errc code, std::string message) {
    response res = problem_response(transport_error(code, std::move(message)));
    std::string scratch;
    co_await write_response(conn, res, 11, false, false, std::chrono::seconds(5), scratch);
}

}  // namespace

std::string client_of(const bhttp::request<bhttp::string_body>& in, const connection& conn,
                      const trusted_proxies& trusted) {
    if (!conn.peer_trusted || !conn.peer) return conn.client;
    std::vector<std::string_view> forwarded_for;
    for (auto [it, end] = in.equal_range("X-Forwarded-For"); it != end; ++it)
        forwarded_for.emplace_back(it->value().data(), it->value().size());
    return client_key(forwarded_client(*conn.peer, forwarded_for, trusted));
}

response per_client_refusal() {
    bsocial::error e(error_code::rate_limited, "too many connections from this address");
    e.retry_after_seconds = 1;
    response res = problem_response(e);
    res.set_header("Retry-After", "1");
    return res;
}

request to_request(const bhttp::request<bhttp::string_body>& in, const connection& conn,
                   const trusted_proxies& trusted) {
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
    out.client_address = client_of(in, conn, trusted);
    out.peer_trusted = conn.peer_trusted;
    return out;
}

namespace {

std::string_view trim_ows(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name);
    out.append(": ");
    // A value never breaks the header block: CR and LF become spaces.
    const auto from = out.size();
    out.append(trim_ows(value));
    for (auto i = from; i < out.size(); ++i)
        if (out[i] == '\r' || out[i] == '\n') out[i] = ' ';
    out.append("\r\n");
}

/// The Connection header's tokens as Beast's keep_alive() leaves them: "close" and
/// "keep-alive" removed, then "close" added (1.1, not kept alive) or "keep-alive" (1.0,
/// kept alive).
std::string connection_value(std::string_view given, unsigned version, bool keep_alive) {
    std::string out;
    while (!given.empty()) {
        const auto comma = given.find(',');
        const auto token = trim_ows(given.substr(0, comma));
        given = comma == std::string_view::npos ? std::string_view() : given.substr(comma + 1);
        if (token.empty() || ascii_iequals(token, "close") || ascii_iequals(token, "keep-alive")) continue;
        if (!out.empty()) out.append(", ");
        out.append(token);
    }
    const char* add = version < 11 ? (keep_alive ? "keep-alive" : nullptr)
                                   : (keep_alive ? nullptr : "close");
    if (add) out.append(out.empty() ? "" : ", ").append(add);
    return out;
}

}  // namespace

void serialize_head(const response& res, unsigned version, bool keep_alive, bool head,
                    std::string& out) {
    // The last header of a name wins (as Beast's set() does); fixed headers yield to them.
    const auto given = [&res](std::string_view name) -> const std::string* {
        const std::string* found = nullptr;
        for (const auto& [k, v] : res.headers)
            if (ascii_iequals(k, name)) found = &v;
        return found;
    };
    const auto last_of_name = [&res](std::size_t i) {
        for (std::size_t j = i + 1; j < res.headers.size(); ++j)
            if (ascii_iequals(res.headers[j].first, res.headers[i].first)) return false;
        return true;
    };
    const auto status = static_cast<bhttp::status>(res.status);
    out.append(version < 11 ? "HTTP/1.0 " : "HTTP/1.1 ");
    char code[4] = {char('0' + res.status / 100 % 10), char('0' + res.status / 10 % 10),
                    char('0' + res.status % 10), ' '};
    out.append(code, 4);
    const auto reason = bhttp::obsolete_reason(status);
    out.append(reason.data(), reason.size());
    out.append("\r\n");
    if (!given("Server")) append_field(out, "Server", "bsocial");
    if ((!res.body.empty() || res.status != 204) && !given("Content-Type"))
        append_field(out, "Content-Type", res.content_type);
    if (!given("X-Content-Type-Options")) append_field(out, "X-Content-Type-Options", "nosniff");
    // API answers; files set their own.
    if (!given("Cache-Control")) append_field(out, "Cache-Control", "no-store");
    std::string_view connection;
    for (std::size_t i = 0; i < res.headers.size(); ++i) {
        const auto& [k, v] = res.headers[i];
        if (!last_of_name(i)) continue;
        if (ascii_iequals(k, "Content-Length") || ascii_iequals(k, "Transfer-Encoding")) continue;
        if (ascii_iequals(k, "Connection")) {
            connection = v;
            continue;
        }
        append_field(out, k, v);
    }
    // No payload for 1xx, 204 and 304 (prepare_payload()); HEAD says the GET's length.
    const bool no_payload = res.status / 100 == 1 || res.status == 204 || res.status == 304;
    if (head || !no_payload) {
        char digits[24];
        const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, res.body.size());
        append_field(out, "Content-Length", std::string_view(digits, end - digits));
    }
    const auto tokens = connection_value(connection, version, keep_alive);
    if (!tokens.empty()) append_field(out, "Connection", tokens);
    out.append("\r\n");
}

asio::awaitable<beast::error_code> write_response(connection& conn, const response& res,
                                                  unsigned version, bool keep_alive, bool head,
                                                  std::chrono::steady_clock::duration timeout,
                                                  std::string& scratch) {
    const bool no_payload = res.status / 100 == 1 || res.status == 204 || res.status == 304;
    scratch.clear();
    serialize_head(res, version, keep_alive, head, scratch);
    std::array<asio::const_buffer, 2> buffers = {
        asio::buffer(scratch),
        head || no_payload ? asio::const_buffer() : asio::buffer(res.body)};
    auto& socket = conn.stream.socket();
    beast::buffers_suffix<std::array<asio::const_buffer, 2>> rest(buffers);
    std::size_t left = buffers[0].size() + buffers[1].size();
    beast::error_code ec;
    // At once, never waiting: synchronous calls on the socket return would_block instead
    // (the asynchronous operations are not affected by this flag).
    if (!socket.non_blocking()) socket.non_blocking(true, ec);
    while (left > 0) {
        const std::size_t n = socket.write_some(rest, ec);
        if (ec) break;
        rest.consume(n);
        left -= n;
    }
    if (left == 0) co_return beast::error_code();
    if (ec != asio::error::would_block && ec != asio::error::try_again) co_return ec;
    conn.stream.expires_after(timeout);
    std::tie(ec, std::ignore) = co_await asio::async_write(conn.stream, rest, as_tuple_awaitable);
    co_return ec;
}

asio::awaitable<void> serve_http(server_context& ctx, std::shared_ptr<connection> conn) {
    const server_options& options = ctx.options;
    beast::flat_buffer buffer;
    std::string head_buffer;  // the responses' heads, its capacity reused
    // A new connection has header_timeout to send its first request's headers.
    auto header_deadline = std::chrono::steady_clock::now() + options.header_timeout;
    for (bool first = true;; first = false) {
        // Stopping: a request already (partly) received is still served, with
        // Connection: close; a connection with nothing sent is closed.
        beast::error_code available_ec;
        if (ctx.stopping && buffer.size() == 0 &&
            conn->stream.socket().available(available_ec) == 0)
            break;
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
        parser.eager(true);
        // What is buffered is parsed here; usually the whole request is, so no
        // asynchronous read (and no post of its completion) is needed for it.
        beast::error_code read_ec;
        if (buffer.size() > 0) {
            buffer.consume(parser.put(buffer.data(), read_ec));
            if (read_ec == bhttp::error::need_more) read_ec = {};
        }
        if (!read_ec && !parser.is_header_done()) {
            conn->stream.expires_at(header_deadline);
            std::tie(read_ec, std::ignore) =
                co_await bhttp::async_read_header(conn->stream, buffer, parser, as_tuple_awaitable);
        }
        if (!read_ec && !parser.is_done()) {
            conn->stream.expires_after(options.request_timeout);
            std::tie(read_ec, std::ignore) =
                co_await bhttp::async_read(conn->stream, buffer, parser, as_tuple_awaitable);
        }
        if (read_ec == bhttp::error::body_limit) {
            co_await write_problem(*conn, errc::payload_too_large,
                                   "request body is larger than the limit");
            break;
        }
        if (read_ec == bhttp::error::header_limit) {
            co_await write_problem(*conn, errc::headers_too_large,
                                   "request headers are larger than the limit");
            break;
        }
        if (read_ec) {
            if (!client_gone(read_ec))
                co_await write_problem(*conn, errc::bad_request, "malformed HTTP request");
            break;
        }

        auto in = parser.release();
        if (beast::websocket::is_upgrade(in)) {
            // This frame lives as long as the WebSocket: give its read buffer back first.
            buffer.clear();
            buffer.shrink_to_fit();
            co_await serve_websocket(ctx, conn, std::move(in));
            co_return;  // the WebSocket owned (and closed) the stream
        }
        const unsigned version = in.version();
        const bool keep_alive = in.keep_alive();
        const std::string method(in.method_string());
        const auto started = std::chrono::steady_clock::now();
        request req;
        router::resolution found;
        std::optional<handled> here = answer_here(ctx, in, *conn, req, found);
        if (!here)
            here = co_await asio::co_spawn(
                ctx.blocking, run_handler(&ctx, std::move(req), std::move(found)),
                asio::use_awaitable);
        handled h = std::move(*here);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        ctx.stats.record(h.route, method, h.res.status, seconds);

        const bool kept = keep_alive && !ctx.stopping;
        const auto write_ec = co_await write_response(*conn, h.res, version, kept,
                                                      method == "HEAD", options.request_timeout,
                                                      head_buffer);
        if (write_ec || !kept) break;
    }
}

}  // namespace bsocial::http::detail
