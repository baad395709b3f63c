#pragma once
// WebSocket routes, without Beast types: a route decides at the handshake (refuse with an
// HTTP response, or accept), and an accepted socket is a ws_connection the application
// can send to from any thread. The server gives each socket one writer with a bounded
// outbound queue (a client that does not read is dropped), ping/pong keep-alive, and
// runs the application's callbacks on the blocking-work pool, one at a time per socket.
// Received frames are bounded per socket (websocket_limits): beyond the rate the socket is
// closed with 1008 (policy violation). Frames that arrive while a callback runs wait, and
// the next call hands them over together (ws_callbacks::on_messages), so a flood of small
// frames costs one call per batch, not one per frame.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bsocial/http/message.hpp"

namespace bsocial::http {

/// The close code of a socket that sent frames beyond its rate (RFC 6455 7.4.1).
inline constexpr unsigned short close_policy_violation = 1008;

/// Settings (core/settings.hpp): the frames one socket may send. A token bucket per socket:
/// `frames_per_second` on average, `frame_burst` at once; beyond it the socket is closed
/// with close_policy_violation.
struct websocket_limits {
    int frames_per_second = 100;  ///< 0 = no limit
    int frame_burst = 1000;

    /// Throws std::invalid_argument naming the bad setting.
    void validate() const;

    template <class Declare>
    void describe(Declare& d) {
        d(frames_per_second, "ws-frames-per-second", "BSOCIAL_WS_FRAMES_PER_SECOND",
          "frames one WebSocket may send per second on average; beyond it the socket is "
          "closed with 1008 (0 = no limit)");
        d(frame_burst, "ws-frame-burst", "BSOCIAL_WS_FRAME_BURST",
          "frames one WebSocket may send at once before the per-second rate applies");
    }
};

class ws_connection {
  public:
    virtual ~ws_connection() = default;
    /// Queues a text frame. Thread-safe. If more than 1 MiB is waiting (a client that does
    /// not read), the connection is dropped.
    virtual void send(std::string text) = 0;
    /// Sends a close frame (after what is queued) with `code` (4000-4999: ours). Thread-safe.
    virtual void close(unsigned short code, std::string reason) = 0;
};

struct ws_callbacks {
    /// One received message; used when on_messages is not set.
    std::function<void(const std::string& text)> on_message;
    /// The messages received since the last call, in order (at most max_batch): set this
    /// instead of on_message to handle a burst of frames in one go (e.g. one transaction).
    std::function<void(std::vector<std::string>& texts)> on_messages;
    std::function<void()> on_close;
};

struct ws_decision {
    /// Set to refuse the handshake with this response (401, 403, 404...).
    std::optional<response> refuse;
    /// Called once the handshake completed; returns the socket's callbacks.
    std::function<ws_callbacks(std::shared_ptr<ws_connection>)> open;
};

using ws_handler = std::function<ws_decision(request&)>;

}  // namespace bsocial::http
