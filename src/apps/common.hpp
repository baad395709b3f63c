#pragma once
// Pieces several subcommands share.

#include <string>

#include "bsocial/core/config.hpp"
#include "bsocial/http/server.hpp"
#include "bsocial/notify/hub.hpp"
#include "bsocial/social/timeline.hpp"

namespace bsocial::apps {

/// The configured JWT secret, or one generated once and kept (mode 0600) in the data
/// directory so that tokens survive restarts and every process on the machine agrees.
std::string load_jwt_secret(const serve_config& config);

/// The feed's settings from the process configuration.
social::timeline_settings timeline_settings_of(const serve_config& config);

/// The notification pushers' settings from the process configuration.
notify::hub_options hub_options_of(const serve_config& config);

/// The HTTP server's settings shared by `serve` and `notifier`: address, threads (one
/// blocking thread per pooled SQL connection), timeouts and connection caps.
http::server_options server_options_of(const serve_config& config);

/// A database URL safe to log (credentials masked).
std::string describe_db(const std::string& url);

}  // namespace bsocial::apps
