#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "bsocial/core/config.hpp"

namespace bsocial::apps {

/// `bsocial seed`: fills an empty database with a generated network (bench/README.md).
/// Registers the subcommand; when it is chosen, `chosen` runs it with `config` (the
/// database and feed settings every process shares).
void add_seed_command(CLI::App& app, serve_config& config, std::function<int()>& chosen);

}  // namespace bsocial::apps
