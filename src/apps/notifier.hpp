#pragma once
// `bsocial notifier`: comment notifications (Kafka -> SQL -> HTTP claim and WebSocket).
// Registers its subcommand and options on `app`; when chosen, its entry point is stored
// in `chosen` (returns the exit code).

#include <CLI/CLI.hpp>
#include <functional>

namespace bsocial::apps {

void add_notifier_command(CLI::App& app, std::function<int()>& chosen);

}  // namespace bsocial::apps
