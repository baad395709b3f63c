#pragma once
// Internal to http/ (see connection.hpp). One WebSocket after its handshake: the frames
// to send wait in one queue with one writer; received messages go to the route's
// callbacks on the blocking pool, in order; a close is sent after what is queued.

#include <spdlog/spdlog.h>

#include <boost/beast/websocket.hpp>
#include <functional>
#include <list>
#include <optional>
#include <string>

#include "bsocial/http/connection.hpp"
#include "bsocial/http/websocket.hpp"

namespace bsocial::http::detail {

namespace websocket = beast::websocket;

/// One WebSocket after its handshake. Lives on its connection's strand: every member is
/// touched only there (send/close post to it). One writer: frames wait in `queue_`.
class websocket_session final : public ws_connection,
                                public std::enable_shared_from_this<websocket_session> {
  public:
    /// A burst of pushes is posted before the writer runs once, so the bound is on bytes
    /// (thousands of notifications), not on a small frame count.
    static constexpr std::size_t max_queued_bytes = 1024 * 1024;

    websocket_session(beast::tcp_stream stream, asio::thread_pool& blocking)
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

}  // namespace bsocial::http::detail
