#pragma once

#include "bsocial/core/config.hpp"
#include "bsocial/http/websocket.hpp"

namespace bsocial::apps {

/// `bsocial notifier`: consumes bsocial.comments into notifications and serves their
/// delivery routes (claim, history, WebSocket stream) on its own port. Returns the exit code.
int run_notifier(const serve_config& config, const http::websocket_limits& websocket = {});

}  // namespace bsocial::apps
