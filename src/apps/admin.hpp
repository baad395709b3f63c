#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "bsocial/core/config.hpp"

namespace bsocial::apps {

/// `bsocial admin grant|revoke USERNAME` and `bsocial admin list`: manage the administrators
/// (accounts holding the role, sessions/roles.hpp) in the database `--db`/`--data-dir`
/// names, SQLite or PostgreSQL, and print what was done. Registers the subcommand; when it is
/// chosen, `chosen` runs it (exit 0 done or unchanged, 1 on an unknown user or an error).
void add_admin_command(CLI::App& app, serve_config& config, std::function<int()>& chosen);

}  // namespace bsocial::apps
