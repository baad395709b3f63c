#pragma once
// Configuration of `bsocial telemetry` and `bsocial query`: each struct declares its
// settings once (describe, core/settings.hpp; apps/ binds them to flags and BSOCIAL_*
// environment variables), is validated once at start (validate() throws
// std::invalid_argument naming the setting), then passed by const&.

#include <string>
#include <string_view>
#include <vector>

#include "bsocial/kafka/security.hpp"
#include "bsocial/kafka/settings.hpp"

namespace bsocial::telemetry {

/// Where Elasticsearch is and how to talk to it (shared by both subcommands).
struct elasticsearch_config {
    /// A base URL, or several (a cluster's nodes) separated by commas: es_client fails over.
    std::string url = "http://127.0.0.1:9200";  ///< may carry no credentials: use user/password
    std::string user;
    std::string password;
    std::string ca_file;                   ///< PEM bundle for https:// (empty: system store)
    std::string index = "bsocial-events";  ///< events; the dead letters go to <index>-deadletter
    int request_timeout_ms = 30000;

    void validate() const;
    /// The dead-letter index name derived from `index`.
    std::string dead_letter_index() const { return index + "-deadletter"; }
    /// The posts' and comments' entity index (q2, q3; docs/telemetry.md).
    std::string entities_index() const { return index + "-entities"; }
    /// The login-day documents' alias over <index>-logins-YYYY.MM (q1; docs/telemetry.md).
    std::string logins_index() const { return index + "-logins"; }

    /// request_timeout_ms is not declared here: only analytics lets it be set.
    template <class Declare>
    void describe(Declare& d) {
        d(url, "elasticsearch-url", "BSOCIAL_ELASTICSEARCH_URL",
          "Elasticsearch/OpenSearch base URL (several nodes: comma-separated)");
        d(user, "elasticsearch-user", "BSOCIAL_ELASTICSEARCH_USER", "basic-auth user");
        d(password, "elasticsearch-password", "BSOCIAL_ELASTICSEARCH_PASSWORD",
          "basic-auth password");
        d(ca_file, "elasticsearch-ca-file", "BSOCIAL_ELASTICSEARCH_CA_FILE",
          "PEM CA bundle for https");
        d(index, "index", "BSOCIAL_ELASTICSEARCH_INDEX",
          "events index (dead letters: <index>-deadletter)");
    }
};

/// The URLs of a comma-separated list (BSOCIAL_ELASTICSEARCH_URL), trimmed, empty items
/// left out.
std::vector<std::string> split_urls(std::string_view list);

/// BSOCIAL_QUERIES_DIR, declared once for its two readers (`query`, serve's analytics).
template <class Declare>
void declare_queries_dir(Declare& d, std::string& dir) {
    d(dir, "queries-dir", "BSOCIAL_QUERIES_DIR",
      "directory of the stored queries (queries/*.json)");
}

struct telemetry_config {
    elasticsearch_config es;
    kafka::broker_settings kafka;
    kafka::client_security kafka_security;  ///< TLS / SASL of the consumer (kafka/security.hpp)
    std::string group_id = "bsocial-telemetry";
    /// Static group membership (Kafka's group.instance.id), empty: dynamic. A restarted
    /// telemetry with the same id gets its partitions back at once instead of waiting for the
    /// old member's session timeout (10 s); two running at once with one id fence each other,
    /// so each replica needs its own.
    std::string instance_id;
    /// Throwaway documents indexed at start into a scratch index, before the first event is
    /// read, so the engine's JIT compiled its indexing code before the traffic (warmup.hpp;
    /// docs/telemetry.md "Cold start"). 0: no warm-up.
    int warmup_documents = 5000;
    /// librdkafka regex subscription: every bsocial.* topic, including ones added later.
    std::string topic_pattern = "^bsocial\\..*";
    int replicas = 0;                       ///< number_of_replicas of the index templates
    int batch_max_events = 500;             ///< a _bulk request holds at most this many events
    int batch_max_bytes = 5 * 1024 * 1024;  ///< ... and at most about this many bytes
    int batch_max_wait_ms = 100;            ///< an incomplete batch is sent after this long
    /// _bulk requests in flight at once, each on a connection of its own (offsets are still
    /// committed in order, each batch only after it and every earlier one were acknowledged).
    int max_inflight = 3;
    /// While telemetry is far behind (a batch's oldest event >= 10 s old in Kafka), the
    /// indices' refresh_interval is this long (refreshes and their merges: 12 % of the
    /// engine's CPU on a 1M drain); back to refresh_ms once caught up. The backlog's
    /// documents, late anyway, wait up to this long more to be seen; 0: never changed
    /// (docs/telemetry.md, "Where the engine's CPU goes").
    int catchup_refresh_ms = 5000;
    /// index.refresh_interval of our indices: a document is searchable at most this long
    /// after Elasticsearch acknowledged it (an explicit interval also keeps refreshing an
    /// index nobody searched lately, which the default defers).
    int refresh_ms = 500;
    int max_backoff_ms = 5000;  ///< retry delay when Elasticsearch fails, doubling to this
    int shutdown_flush_timeout_ms = 15000;  ///< on SIGTERM, try this long to flush the batch
    /// Monthly events indices whose whole month is older than this many days are deleted
    /// (at start, then hourly); 0 keeps every month.
    int retention_days = 0;

    void validate() const;
    /// The log level is composed next to it (apps/telemetry.cpp).
    template <class Declare>
    void describe(Declare& d) {
        es.describe(d);
        kafka.describe(d);
        kafka_security.describe(d);
        d(group_id, "group", "BSOCIAL_TELEMETRY_GROUP", "Kafka consumer group");
        d(instance_id, "instance-id", "BSOCIAL_TELEMETRY_INSTANCE_ID",
          "static group membership (group.instance.id, unique per replica): a restart rejoins "
          "without waiting for the session timeout (empty: dynamic)");
        d(warmup_documents, "warmup-documents", "BSOCIAL_TELEMETRY_WARMUP_DOCUMENTS",
          "throwaway documents indexed into <index>_warmup at start to warm the engine (0: off)");
        d(replicas, "replicas", "BSOCIAL_ELASTICSEARCH_REPLICAS",
          "number_of_replicas of the indices");
        d(refresh_ms, "refresh-ms", "BSOCIAL_ELASTICSEARCH_REFRESH_MS",
          "refresh interval of the indices: searchable at most this long after indexing");
        d(batch_max_events, "batch-events", "BSOCIAL_TELEMETRY_BATCH_EVENTS",
          "events per _bulk request");
        d(batch_max_wait_ms, "batch-wait-ms", "BSOCIAL_TELEMETRY_BATCH_WAIT_MS",
          "send an incomplete batch after this many ms");
        d(catchup_refresh_ms, "catchup-refresh-ms", "BSOCIAL_TELEMETRY_CATCHUP_REFRESH_MS",
          "refresh interval while >= 10 s behind, back to refresh-ms once caught up (0, or not "
          "above refresh-ms: off)");
        d(max_inflight, "max-inflight", "BSOCIAL_TELEMETRY_MAX_INFLIGHT",
          "_bulk requests in flight at once (offsets still committed in order)");
        d(max_backoff_ms, "max-backoff-ms", "BSOCIAL_TELEMETRY_MAX_BACKOFF_MS",
          "longest wait between retries when Elasticsearch fails");
        d(retention_days, "retention-days", "BSOCIAL_TELEMETRY_RETENTION_DAYS",
          "delete monthly events indices older than this many days (0: keep all)");
    }
};

struct query_config {
    elasticsearch_config es;
    std::string queries_dir = "queries";  ///< directory of the stored *.json queries
    std::string name;                     ///< q1 | q2 | q3
    std::string user;                     ///< q3: username
    std::string user_id;                  ///< q3: user id (instead of the username)
    int days = 10;                        ///< q1/q2: the last N days, today included
    std::string from;                     ///< q1/q2: first day YYYY-MM-DD (with `to`)
    std::string to;                       ///< q1/q2: last day YYYY-MM-DD, inclusive
    std::string tz = "UTC";               ///< calendar days in this zone
    bool json = false;                    ///< print the rows as JSON instead of a table

    void validate() const;
    /// `name` and --json are the command's arguments (apps/telemetry.cpp), not settings.
    template <class Declare>
    void describe(Declare& d) {
        es.describe(d);
        d(user, "user", "BSOCIAL_QUERY_USER", "q3: username");
        d(user_id, "user-id", nullptr, "q3: user id (instead of --user)");
        d(days, "days", "BSOCIAL_QUERY_DAYS", "q1/q2: the last N days, today included");
        d(from, "from", nullptr, "q1/q2: first day YYYY-MM-DD (needs --to)");
        d(to, "to", nullptr, "q1/q2: last day YYYY-MM-DD, inclusive");
        d(tz, "tz", "BSOCIAL_QUERY_TZ", "time zone of the calendar days (IANA name or +hh:mm)");
        declare_queries_dir(d, queries_dir);
    }
};

/// An offset like +02:00, or an IANA zone name (Europe/Paris, UTC) that the system's zone
/// database knows (any well-formed name when /usr/share/zoneinfo is missing).
bool is_time_zone(const std::string& tz);

}  // namespace bsocial::telemetry
