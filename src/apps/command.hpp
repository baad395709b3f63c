#pragma once
// One way to register a subcommand: its settings (apps/settings.hpp) are bound to its
// flags and environment; when it is the one chosen, `chosen` validates them, sets the log
// level and runs it (returns the exit code).

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <utility>

#include "apps/settings_cli.hpp"
#include "bsocial/core/log_settings.hpp"

namespace bsocial::apps {

/// The entry point of the subcommand chosen on the command line (empty until parsed).
using entry_point = std::function<int()>;

/// `settings`: where CLI11 writes while parsing (pass one to bind arguments of the
/// command's own into it too).
template <class Settings, class Run>
CLI::App* add_command(CLI::App& app, const char* name, const char* about, entry_point& chosen,
                      Run run, std::shared_ptr<Settings> settings = std::make_shared<Settings>()) {
    auto* cmd = app.add_subcommand(name, about);
    bind_settings(*cmd, *settings);
    cmd->callback([settings, run, &chosen] {
        chosen = [settings, run] {
            settings->validate();
            if constexpr (Settings::template has<log_settings>)
                spdlog::set_level(
                    spdlog::level::from_str(settings->template get<log_settings>().level));
            return run(std::as_const(*settings));
        };
    });
    return cmd;
}

}  // namespace bsocial::apps
