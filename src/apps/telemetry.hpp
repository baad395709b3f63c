#pragma once
// `bsocial telemetry` (Kafka -> Elasticsearch) and `bsocial query` (the stored analytics
// queries). Each registers its subcommand and its own options on `app`; when chosen on
// the command line, its entry point is stored in `chosen` (returns the exit code).

#include <CLI/CLI.hpp>
#include <functional>

namespace bsocial::apps {

void add_telemetry_commands(CLI::App& app, std::function<int()>& chosen);

}  // namespace bsocial::apps
