#pragma once

#include "bsocial/core/config.hpp"
#include "bsocial/kafka/security.hpp"

namespace bsocial::apps {

/// `bsocial notifier`: consumes bsocial.comments into notifications and serves their
/// delivery routes (claim, history, WebSocket stream) on its own port. Returns the exit code.
/// `kafka`: TLS / SASL of the comment consumer (kafka/security.hpp).
int run_notifier(const serve_config& config, const kafka::client_security& kafka = {});

}  // namespace bsocial::apps
