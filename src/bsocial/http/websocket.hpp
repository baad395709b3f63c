#pragma once
// WebSocket routes, without Beast types: a route decides at the handshake (refuse with an
// HTTP response, or accept), and an accepted socket is a ws_connection the application
// can send to from any thread. The server gives each socket one writer with a bounded
// outbound queue (a client that does not read is dropped), ping/pong keep-alive, and
// runs the application's callbacks on the blocking-work pool, one at a time per socket.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "bsocial/http/message.hpp"

namespace bsocial::http {

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
    std::function<void(const std::string& text)> on_message;
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
