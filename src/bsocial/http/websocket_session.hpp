#pragma once
// Internal to http/ (see connection.hpp). One WebSocket after its handshake: the frames
// to send wait in one queue with one writer; received messages go to the route's
// callbacks on the blocking pool, in order; a close is sent after what is queued.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <vector>

#include "bsocial/http/connection.hpp"
#include "bsocial/http/websocket.hpp"

namespace bsocial::http::detail {

namespace websocket = beast::websocket;

/// One WebSocket after its handshake. Lives on its connection's I/O thread: every member is
/// touched only there (send/close post to it). One writer: frames wait in `queue_`.
class websocket_session final : public ws_connection,
                                public std::enable_shared_from_this<websocket_session> {
  public:
    /// A burst of pushes is posted before the writer runs once, so the bound is on bytes
    /// (thousands of notifications), not on a small frame count.
    static constexpr std::size_t max_queued_bytes = 1024 * 1024;

    websocket_session(beast::tcp_stream stream, asio::thread_pool& blocking,
                      websocket_limits limits = {})
        : ws_(std::move(stream)), blocking_(blocking), limits_(limits) {}

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

    /// Closes the TCP socket now (no close frame). On the connection's thread.
    void close_now() {
        closing_ = true;
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().close(ignored);
    }

    /// Messages handed to one on_messages call at most; while that many wait, no more
    /// frames are read (the client's TCP window then fills: back-pressure).
    static constexpr std::size_t max_batch = 256;
    /// Likewise in bytes (a message is at most 16 KiB): the memory a socket's batch holds.
    static constexpr std::size_t max_batch_bytes = 64 * 1024;

    /// Reads frames until the socket closes. Messages go to the callbacks on the blocking
    /// pool, in order, one call at a time: the frames that arrived while a call ran are the
    /// next call's batch. A socket sending beyond its frame rate is closed with 1008 and
    /// what it sends after that is dropped. Then on_close, also on the blocking pool, after
    /// the last batch. on_close runs exactly once, even when this coroutine ends by an
    /// exception or is destroyed unrun (then on the destroying thread).
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
        auto handler = std::make_shared<batch_handler>(std::move(callbacks.on_messages));
        if (!*handler && callbacks.on_message)
            *handler = [one = std::move(callbacks.on_message)](std::vector<std::string>& texts) {
                for (const auto& t : texts) {
                    try {  // one bad message does not cost the others
                        one(t);
                    } catch (const std::exception&) {
                        log_exception("ws_on_message")(std::current_exception());
                    }
                }
            };
        for (;;) {
            beast::flat_buffer buffer;
            auto [ec, n] = co_await ws_.async_read(buffer, as_tuple_awaitable);
            if (ec) break;
            if (!flooded_ && !take_frame()) {
                flooded_ = true;  // what it sends from now on is dropped unread
                spdlog::warn("module=http event=websocket_closed reason=frame_rate");
                begin_close(close_policy_violation, "too many frames");
            }
            if (flooded_ || !*handler) continue;
            inbox_bytes_ += buffer.size();
            inbox_.push_back(beast::buffers_to_string(buffer.data()));
            if (!handling_) start_batch(handler);
            while (inbox_.size() >= max_batch || inbox_bytes_ >= max_batch_bytes)
                co_await wait_for_batch();
        }
        closed_ = true;
        // The frames already read still reach the application (acks are not lost), then
        // on_close, after the last batch.
        while (handling_ || !inbox_.empty()) {
            if (!handling_) start_batch(handler);
            co_await wait_for_batch();
        }
        if (auto f = std::exchange(on_close.f, nullptr)) {
            auto [failed] =
                co_await asio::co_spawn(blocking_, call_on_close(std::move(f)), as_tuple_awaitable);
            if (failed) log_exception("ws_on_close")(failed);
        }
    }

  private:
    using batch_handler = std::function<void(std::vector<std::string>&)>;

    static asio::awaitable<void> call_on_messages(std::shared_ptr<batch_handler> f,
                                                  std::vector<std::string> texts) {
        (*f)(texts);
        co_return;
    }
    static asio::awaitable<void> call_on_close(std::function<void()> f) {
        f();
        co_return;
    }

    /// One token of the socket's frame bucket; false when it is empty. On the connection's thread.
    bool take_frame() {
        if (limits_.frames_per_second <= 0) return true;
        const auto now = std::chrono::steady_clock::now();
        const double burst = std::max(1, limits_.frame_burst);
        if (!bucket_started_) {
            bucket_started_ = true;
            tokens_ = burst;
        } else {
            const double elapsed = std::chrono::duration<double>(now - refilled_).count();
            tokens_ = std::min(burst, tokens_ + elapsed * limits_.frames_per_second);
        }
        refilled_ = now;
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }

    /// Hands what waits in inbox_ to the application on the blocking pool. On the connection's thread;
    /// the completion comes back to it, starts the next batch if frames arrived meanwhile,
    /// and wakes a read_loop waiting in wait_for_batch.
    void start_batch(const std::shared_ptr<batch_handler>& handler) {
        handling_ = true;
        std::vector<std::string> batch;
        batch.swap(inbox_);
        inbox_bytes_ = 0;
        asio::co_spawn(blocking_, call_on_messages(handler, std::move(batch)),
                       asio::bind_executor(ws_.get_executor(), [self = shared_from_this(),
                                                                handler](std::exception_ptr e) {
                           if (e) log_exception("ws_on_message")(e);
                           self->handling_ = false;
                           if (!self->inbox_.empty() && !self->closed_) self->start_batch(handler);
                           self->batch_done_.cancel();
                       }));
    }

    /// Suspends until a batch completes (its completion cancels the timer). On the connection's thread.
    asio::awaitable<void> wait_for_batch() {
        batch_done_.expires_at(asio::steady_timer::time_point::max());
        co_await batch_done_.async_wait(as_tuple_awaitable);
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

    websocket_limits limits_;
    bool flooded_ = false;  ///< closed for its frame rate
    bool bucket_started_ = false;
    double tokens_ = 0;  ///< frames the socket may still send at once
    std::chrono::steady_clock::time_point refilled_;

    std::vector<std::string> inbox_;  ///< read, not yet handed to the application
    std::size_t inbox_bytes_ = 0;
    bool handling_ = false;           ///< a batch is on the blocking pool
    asio::steady_timer batch_done_{ws_.get_executor()};  ///< cancelled when a batch ends
};

}  // namespace bsocial::http::detail
