// `bsocial telemetry` (Kafka -> Elasticsearch) and `bsocial query` (the stored analytics
// queries).

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "apps/commands.hpp"
#include "apps/settings.hpp"
#include "bsocial/analytics/post_lookup.hpp"
#include "bsocial/core/clock.hpp"
#include "bsocial/core/stop_signals.hpp"
#include "bsocial/telemetry/config.hpp"
#include "bsocial/telemetry/es_client.hpp"
#include "bsocial/telemetry/index_templates.hpp"
#include "bsocial/telemetry/indexer.hpp"
#include "bsocial/telemetry/query_runner.hpp"
#include "bsocial/telemetry/warmup.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::apps {

namespace {

using telemetry::elasticsearch_config;
using telemetry::query_config;
using telemetry::telemetry_config;

/// Installs the templates, waiting for Elasticsearch while it is unreachable. Returns
/// false when stopped first.
bool install_when_reachable(telemetry::es_client& es, const telemetry_config& config,
                            stop_signals& signals) {
    auto backoff = std::chrono::milliseconds(200);
    while (!signals.stop_requested()) {
        try {
            const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
            telemetry::install_templates(es, config.es, config.replicas, config.refresh_ms,
                                         now_ms);
            return true;
        } catch (const telemetry::es_unreachable& e) {
            spdlog::warn(
                "module=telemetry event=elasticsearch_unreachable error=\"{}\" "
                "retry_in_ms={}",
                e.what(), backoff.count());
        }
        if (signals.wait_for(backoff)) break;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(config.max_backoff_ms));
    }
    return false;
}

int run_telemetry(const telemetry_settings& settings) {
    telemetry_config config = settings.get<telemetry_config>();
    config.es = telemetry::split_credentials(config.es);

    stop_signals signals;  // before any thread exists (librdkafka's, the indexer's)
    telemetry::es_client es(config.es);

    // Cold start (docs/telemetry.md): subscribing first lets librdkafka's own thread find the
    // group coordinator and join the group (on a fresh broker: after the offsets topic was
    // made, seconds) while the indices are created and the engine is warmed up; the
    // assignment is taken at the loop's first consume().
    const system_clock clock;
    telemetry::indexer indexer(config, es, clock, [&signals] { signals.request_stop(); });
    indexer.subscribe();
    spdlog::info("module=telemetry event=subscribed group={} instance_id={}", config.group_id,
                 config.instance_id.empty() ? "-" : config.instance_id);
    if (!install_when_reachable(es, config, signals)) return 0;
    telemetry::warm_up(es, config.es, config.warmup_documents, config.batch_max_events,
                       [&signals] { return signals.stop_requested(); });
    std::printf("bsocial telemetry consuming %s (group %s) from %s indexing into %s/%s\n",
                config.topic_pattern.c_str(), config.group_id.c_str(), config.kafka.brokers.c_str(),
                es.display_url().c_str(), config.es.index.c_str());
    std::fflush(stdout);
    indexer.start();
    signals.wait();
    indexer.stop();  // rethrows what ended the indexer early
    return indexer.clean() ? 0 : 1;
}

int run_query_command(const query_settings& settings) {
    const auto& config = settings.get<query_config>();
    if (config.name == "q1") return telemetry::run_query(config, {});
    const auto& where = settings.get<store::database_settings>();
    const auto url = where.effective_url();
    if (where.url.empty() && !std::filesystem::is_regular_file(where.data_dir + "/bsocial.db"))
        throw std::runtime_error("no database at " + where.data_dir + "/bsocial.db: " +
                                 config.name + " reads the posts' details from the API's "
                                 "database (set BSOCIAL_DB or --data-dir)");
    store::database db(url, 1);
    return telemetry::run_query(config, analytics::sql_post_lookup(db));
}

}  // namespace

void add_telemetry_commands(CLI::App& app, entry_point& chosen) {
    add_command<telemetry_settings>(
        app, "telemetry", "index every Kafka event into Elasticsearch (consumer group)", chosen,
        run_telemetry);

    // The query's name and --json are its arguments, not settings: bound here.
    auto settings = std::make_shared<query_settings>();
    auto& args = settings->get<query_config>();
    auto* query = add_command(app, "query", "run a stored analytics query (queries/*.json)",
                              chosen, run_query_command, settings);
    query
        ->add_option("name", args.name,
                     "q1 (logged-in users per day), q2 (top 10 commented "
                     "posts per day), q3 (a user's top and worst post)")
        ->required()
        ->check(CLI::IsMember({"q1", "q2", "q3"}));
    query->add_flag("--json", args.json,
                    "print the rows as JSON (what GET /api/v1/analytics/* answers)");
}

}  // namespace bsocial::apps
