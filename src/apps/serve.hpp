#pragma once

#include "bsocial/core/config.hpp"

namespace bsocial::apps {

/// `bsocial serve`: wires the API process together and runs it until SIGTERM. Returns the
/// process exit code.
int run_serve(const serve_config& config);

/// `bsocial migrate`: applies pending migrations and exits.
int run_migrate(const serve_config& config);

}  // namespace bsocial::apps
