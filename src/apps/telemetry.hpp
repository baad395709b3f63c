#pragma once
// `bsocial telemetry` (Kafka -> Elasticsearch) and `bsocial query` (the stored analytics
// queries). Each registers its subcommand and its own options on `app`; when chosen on
// the command line, its entry point is stored in `chosen` (returns the exit code).

#include <CLI/CLI.hpp>
#include <functional>

#include "bsocial/analytics/handler.hpp"

namespace bsocial::apps {

void add_telemetry_commands(CLI::App& app, std::function<int()>& chosen);

/// `bsocial serve`'s search engine for /api/v1/analytics/* (the same BSOCIAL_ELASTICSEARCH_*
/// variables as `bsocial query`, but no URL by default: no URL, analytics answer 503).
void add_analytics_options(CLI::App& serve, analytics::settings& settings);

}  // namespace bsocial::apps
