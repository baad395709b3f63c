#pragma once
// The README's settings table, rendered from the modules' declarations (core/settings.hpp)
// as each subcommand composes them (apps/settings.hpp): one row per environment variable,
// with its flag, its default (per subcommand when they differ) and the subcommands that
// take it. `bsocial settings --markdown` prints it; tools/check_settings_table.py keeps
// README.md equal to it (the `readme_settings_table` ctest).

#include <CLI/CLI.hpp>

#include "apps/command.hpp"

namespace bsocial::apps {

/// The Markdown table of every setting read from the environment.
std::string settings_markdown();

/// Registers the hidden `settings` subcommand (`--markdown`: print the table).
void add_settings_command(CLI::App& app, entry_point& chosen);

}  // namespace bsocial::apps
