// bsocial: one executable, one subcommand per process (serve, migrate, relay, seed,
// notifier, telemetry, query). This file only registers the subcommands (apps/commands.hpp;
// each takes the settings of the modules it runs, apps/settings.hpp) and dispatches. The
// long-running ones (serve, relay, notifier, telemetry) take SIGINT/SIGTERM one way:
// a bsocial::stop_signals made first thing in their entry point (core/stop_signals.hpp).

#include <malloc.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "apps/commands.hpp"
#include "apps/settings_table.hpp"

namespace {

int fatal(const std::exception& e) {
    spdlog::critical("module=main event=fatal error=\"{}\"", e.what());
    std::fprintf(stderr, "bsocial: %s\n", e.what());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    // glibc hands freed memory back to the kernel as soon as 128 KiB sit free at the top
    // of a heap; under load every request then faults its pages in again, and the unmaps
    // stop the other threads for TLB shootdowns (a third of the feed's CPU, measured in
    // docs/feed.md). Keep up to 256 MiB, and serve blocks below 32 MiB from the heaps.
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    CLI::App app{"bSocial: a small social network with an event-driven backend"};
    app.require_subcommand(1);
    bsocial::apps::entry_point chosen;
    try {  // settings read from the environment only are read here
        bsocial::apps::add_serve_command(app, chosen);
        bsocial::apps::add_migrate_command(app, chosen);
        bsocial::apps::add_relay_command(app, chosen);
        bsocial::apps::add_notifier_command(app, chosen);
        bsocial::apps::add_telemetry_commands(app, chosen);
        bsocial::apps::add_seed_command(app, chosen);
        bsocial::apps::add_settings_command(app, chosen);
        bsocial::apps::add_admin_command(app, chosen);  // issue 24, item 1
    } catch (const std::exception& e) {
        return fatal(e);
    }

    CLI11_PARSE(app, argc, argv);

    auto logger = spdlog::stderr_color_mt("bsocial");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
    try {
        if (chosen) return chosen();  // validates its settings first
    } catch (const std::exception& e) {
        return fatal(e);
    }
    return 0;
}
