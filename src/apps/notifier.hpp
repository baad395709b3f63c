#pragma once

#include "bsocial/api/metrics_access.hpp"
#include "bsocial/core/config.hpp"

namespace bsocial::apps {

/// `bsocial notifier`: consumes bsocial.comments into notifications and serves their
/// delivery routes (claim, history, WebSocket stream) on its own port. Returns the exit code.
/// `metrics`: who reads its /metrics (api/metrics_access.hpp).
int run_notifier(const serve_config& config, const api::metrics_access& metrics = {});

}  // namespace bsocial::apps
