#include "apps/telemetry.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "bsocial/analytics/post_lookup.hpp"
#include "bsocial/core/clock.hpp"
#include "bsocial/core/config.hpp"
#include "bsocial/core/stop_signals.hpp"
#include "apps/settings_cli.hpp"
#include "bsocial/telemetry/config.hpp"
#include "bsocial/telemetry/es_client.hpp"
#include "bsocial/telemetry/index_templates.hpp"
#include "bsocial/telemetry/indexer.hpp"
#include "bsocial/telemetry/query_runner.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::apps {

namespace {

using telemetry::elasticsearch_config;
using telemetry::query_config;
using telemetry::telemetry_config;

void add_elasticsearch_options(CLI::App& cmd, elasticsearch_config& c) {
    cmd.add_option("--elasticsearch-url", c.url, "Elasticsearch/OpenSearch base URL")
        ->envname("BSOCIAL_ELASTICSEARCH_URL");
    cmd.add_option("--elasticsearch-user", c.user, "basic-auth user")
        ->envname("BSOCIAL_ELASTICSEARCH_USER");
    cmd.add_option("--elasticsearch-password", c.password, "basic-auth password")
        ->envname("BSOCIAL_ELASTICSEARCH_PASSWORD");
    cmd.add_option("--elasticsearch-ca-file", c.ca_file, "PEM CA bundle for https")
        ->envname("BSOCIAL_ELASTICSEARCH_CA_FILE");
    cmd.add_option("--index", c.index, "events index (dead letters: <index>-deadletter)")
        ->envname("BSOCIAL_ELASTICSEARCH_INDEX");
}

/// Installs the templates, waiting for Elasticsearch while it is unreachable. Returns
/// false when stopped first.
bool install_when_reachable(telemetry::es_client& es, const telemetry_config& config,
                            stop_signals& signals) {
    auto backoff = std::chrono::milliseconds(200);
    while (!signals.stop_requested()) {
        try {
            telemetry::install_templates(es, config.es, config.replicas, config.refresh_ms);
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

int run_telemetry(const telemetry_config& raw) {
    raw.validate();
    spdlog::set_level(spdlog::level::from_str(raw.log_level));
    telemetry_config config = raw;
    config.es = telemetry::split_credentials(raw.es);

    stop_signals signals;  // before any thread exists (librdkafka's, the indexer's)
    telemetry::es_client es(config.es);
    if (!install_when_reachable(es, config, signals)) return 0;

    const system_clock clock;
    telemetry::indexer indexer(config, es, clock, [&signals] { signals.request_stop(); });
    indexer.subscribe();
    std::printf("bsocial telemetry consuming %s (group %s) from %s indexing into %s/%s\n",
                config.topic_pattern.c_str(), config.group_id.c_str(), config.kafka_brokers.c_str(),
                es.display_url().c_str(), config.es.index.c_str());
    std::fflush(stdout);
    indexer.start();
    signals.wait();
    indexer.stop();  // rethrows what ended the indexer early
    return indexer.clean() ? 0 : 1;
}

/// Where `bsocial query` reads the posts' details (q2, q3): the API's database.
struct query_database {
    std::string db_url;  ///< BSOCIAL_DB; empty: the SQLite file in data_dir
    std::string data_dir = "data";
};

int run_query_command(const query_config& config, const query_database& where) {
    config.validate();
    spdlog::set_level(spdlog::level::from_str(config.log_level));
    if (config.name == "q1") return telemetry::run_query(config, {});
    serve_config sql_config;
    sql_config.db_url = where.db_url;
    sql_config.data_dir = where.data_dir;
    const auto url = effective_db_url(sql_config);
    if (where.db_url.empty() && !std::filesystem::is_regular_file(where.data_dir + "/bsocial.db"))
        throw std::runtime_error("no database at " + where.data_dir + "/bsocial.db: " +
                                 config.name + " reads the posts' details from the API's "
                                 "database (set BSOCIAL_DB or --data-dir)");
    store::database db(url, 1);
    return telemetry::run_query(config, analytics::sql_post_lookup(db));
}

}  // namespace

void add_analytics_options(CLI::App& serve, analytics::settings& settings) {
    settings.es.request_timeout_ms = 5000;
    add_elasticsearch_options(serve, settings.es);
    serve.add_option("--queries-dir", settings.queries_dir,
                     "directory of the stored queries (queries/*.json)")
        ->envname("BSOCIAL_QUERIES_DIR");
    serve.add_option("--analytics-timeout-ms", settings.es.request_timeout_ms,
                     "longest wait for one search engine request of /api/v1/analytics")
        ->envname("BSOCIAL_ANALYTICS_TIMEOUT_MS");
    serve.add_option("--analytics-max-concurrent", settings.max_concurrent,
                     "analytics requests at once (one more answers 503)")
        ->envname("BSOCIAL_ANALYTICS_MAX_CONCURRENT");
}

void add_telemetry_commands(CLI::App& app, std::function<int()>& chosen) {
    // Owned by the lambdas below; CLI11 writes into them while parsing.
    auto tc = std::make_shared<telemetry_config>();
    auto* telemetry = app.add_subcommand(
        "telemetry", "index every Kafka event into Elasticsearch (consumer group)");
    add_elasticsearch_options(*telemetry, tc->es);
    telemetry->add_option("--kafka", tc->kafka_brokers, "Kafka bootstrap servers")
        ->envname("BSOCIAL_KAFKA_BROKERS");
    bind_settings(*telemetry, tc->kafka_security);
    telemetry->add_option("--group", tc->group_id, "Kafka consumer group")
        ->envname("BSOCIAL_TELEMETRY_GROUP");
    telemetry->add_option("--replicas", tc->replicas, "number_of_replicas of the indices")
        ->envname("BSOCIAL_ELASTICSEARCH_REPLICAS");
    telemetry
        ->add_option("--refresh-ms", tc->refresh_ms,
                     "refresh interval of the indices: searchable at most this long after indexing")
        ->envname("BSOCIAL_ELASTICSEARCH_REFRESH_MS");
    telemetry->add_option("--batch-events", tc->batch_max_events, "events per _bulk request")
        ->envname("BSOCIAL_TELEMETRY_BATCH_EVENTS");
    telemetry
        ->add_option("--batch-wait-ms", tc->batch_max_wait_ms,
                     "send an incomplete batch after this many ms")
        ->envname("BSOCIAL_TELEMETRY_BATCH_WAIT_MS");
    telemetry
        ->add_option("--max-backoff-ms", tc->max_backoff_ms,
                     "longest wait between retries when Elasticsearch fails")
        ->envname("BSOCIAL_TELEMETRY_MAX_BACKOFF_MS");
    telemetry->add_option("--log-level", tc->log_level, "trace|debug|info|warn|error")
        ->envname("BSOCIAL_LOG_LEVEL");
    telemetry->callback([tc, &chosen] { chosen = [tc] { return run_telemetry(*tc); }; });

    auto qc = std::make_shared<query_config>();
    auto* query = app.add_subcommand("query", "run a stored analytics query (queries/*.json)");
    add_elasticsearch_options(*query, qc->es);
    query
        ->add_option("name", qc->name,
                     "q1 (logged-in users per day), q2 (top 10 commented "
                     "posts per day), q3 (a user's top and worst post)")
        ->required()
        ->check(CLI::IsMember({"q1", "q2", "q3"}));
    query->add_option("--user", qc->user, "q3: username")->envname("BSOCIAL_QUERY_USER");
    query->add_option("--user-id", qc->user_id, "q3: user id (instead of --user)");
    query->add_option("--days", qc->days, "q1/q2: the last N days, today included")
        ->envname("BSOCIAL_QUERY_DAYS");
    query->add_option("--from", qc->from, "q1/q2: first day YYYY-MM-DD (needs --to)");
    query->add_option("--to", qc->to, "q1/q2: last day YYYY-MM-DD, inclusive");
    query->add_option("--tz", qc->tz, "time zone of the calendar days (IANA name or +hh:mm)")
        ->envname("BSOCIAL_QUERY_TZ");
    query->add_flag("--json", qc->json,
                    "print the rows as JSON (what GET /api/v1/analytics/* answers)");
    auto qdb = std::make_shared<query_database>();
    query
        ->add_option("--db", qdb->db_url,
                     "q2/q3: the API's database URL, for the posts' details (default: SQLite "
                     "in the data dir)")
        ->envname("BSOCIAL_DB");
    query->add_option("--data-dir", qdb->data_dir, "q2/q3: the API's data directory")
        ->envname("BSOCIAL_DATA_DIR");
    query->add_option("--queries-dir", qc->queries_dir, "directory of the stored queries")
        ->envname("BSOCIAL_QUERIES_DIR");
    query->add_option("--log-level", qc->log_level, "trace|debug|info|warn|error")
        ->envname("BSOCIAL_LOG_LEVEL");
    query->callback(
        [qc, qdb, &chosen] { chosen = [qc, qdb] { return run_query_command(*qc, *qdb); }; });
}

}  // namespace bsocial::apps
