#pragma once

#include "bsocial/core/config.hpp"

namespace bsocial::apps {

/// `bsocial notifier`: consumes bsocial.comments into notifications and serves their
/// delivery routes (claim, history, WebSocket stream) on its own port. Returns the exit code.
int run_notifier(const serve_config& config);

}  // namespace bsocial::apps
