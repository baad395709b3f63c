#pragma once
// The subcommands of `bsocial`, one per process kind. Each registers itself on `app` with
// the settings it takes (apps/settings.hpp); the one chosen on the command line leaves its
// entry point in `chosen`.

#include <CLI/CLI.hpp>

#include "apps/command.hpp"

namespace bsocial::apps {

/// `bsocial serve`: the API process (apps/serve.cpp).
void add_serve_command(CLI::App& app, entry_point& chosen);
/// `bsocial migrate`: applies pending migrations and exits (apps/relay.cpp).
void add_migrate_command(CLI::App& app, entry_point& chosen);
/// `bsocial relay`: publishes the outbox to Kafka without serving HTTP (apps/relay.cpp).
void add_relay_command(CLI::App& app, entry_point& chosen);
/// `bsocial notifier`: Kafka's comments into notifications, and their delivery routes on
/// a port of its own (apps/notifier.cpp).
void add_notifier_command(CLI::App& app, entry_point& chosen);
/// `bsocial seed`: fills an empty database with a generated network (apps/seed.cpp).
void add_seed_command(CLI::App& app, entry_point& chosen);
/// `bsocial telemetry` (Kafka -> Elasticsearch) and `bsocial query` (the stored analytics
/// queries) (apps/telemetry.cpp).
void add_telemetry_commands(CLI::App& app, entry_point& chosen);
/// `bsocial admin grant|revoke USERNAME`, `bsocial admin list`: the administrators (accounts
/// holding the role, sessions/roles.hpp) in the database of `--db`/`--data-dir`, SQLite or
/// PostgreSQL; prints what was done (exit 1 for an unknown user) (apps/admin.cpp).
void add_admin_command(CLI::App& app, entry_point& chosen);

}  // namespace bsocial::apps
