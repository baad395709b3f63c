#pragma once

#include "bsocial/api/metrics_access.hpp"
#include "bsocial/core/config.hpp"
#include "bsocial/http/websocket.hpp"
#include "bsocial/kafka/security.hpp"

namespace bsocial::apps {

/// `bsocial notifier`: consumes bsocial.comments into notifications and serves their
/// delivery routes (claim, history, WebSocket stream) on its own port. Returns the exit code.
/// `kafka`: TLS / SASL of the comment consumer (kafka/security.hpp); `websocket`: frames per socket.
/// `metrics`: who reads its /metrics (api/metrics_access.hpp).
int run_notifier(const serve_config& config, const kafka::client_security& kafka = {},
                 const http::websocket_limits& websocket = {},
                 const api::metrics_access& metrics = {});

}  // namespace bsocial::apps
