#pragma once
// Configuration of `bsocial telemetry` and `bsocial query`: filled from flags and BSOCIAL_*
// environment variables in apps/telemetry.cpp, validated once at start (validate() throws
// std::invalid_argument naming the setting), then passed by const&.

#include <string>

#include "bsocial/kafka/security.hpp"

namespace bsocial::telemetry {

/// Where Elasticsearch is and how to talk to it (shared by both subcommands).
struct elasticsearch_config {
    std::string url = "http://127.0.0.1:9200";  ///< may carry no credentials: use user/password
    std::string user;
    std::string password;
    std::string ca_file;                   ///< PEM bundle for https:// (empty: system store)
    std::string index = "bsocial-events";  ///< events; the dead letters go to <index>-deadletter
    int request_timeout_ms = 30000;

    void validate() const;
    /// The dead-letter index name derived from `index`.
    std::string dead_letter_index() const { return index + "-deadletter"; }
};

struct telemetry_config {
    elasticsearch_config es;
    std::string kafka_brokers;
    kafka::client_security kafka_security;  ///< TLS / SASL of the consumer (kafka/security.hpp)
    std::string group_id = "bsocial-telemetry";
    /// librdkafka regex subscription: every bsocial.* topic, including ones added later.
    std::string topic_pattern = "^bsocial\\..*";
    int replicas = 0;                       ///< number_of_replicas of the index templates
    int batch_max_events = 500;             ///< a _bulk request holds at most this many events
    int batch_max_bytes = 5 * 1024 * 1024;  ///< ... and at most about this many bytes
    int batch_max_wait_ms = 100;            ///< an incomplete batch is sent after this long
    /// index.refresh_interval of our indices: a document is searchable at most this long
    /// after Elasticsearch acknowledged it (an explicit interval also keeps refreshing an
    /// index nobody searched lately, which the default defers).
    int refresh_ms = 500;
    int max_backoff_ms = 5000;  ///< retry delay when Elasticsearch fails, doubling to this
    int shutdown_flush_timeout_ms = 15000;  ///< on SIGTERM, try this long to flush the batch
    std::string log_level = "info";

    void validate() const;
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
    std::string log_level = "warn";

    void validate() const;
};

/// An offset like +02:00, or an IANA zone name (Europe/Paris, UTC) that the system's zone
/// database knows (any well-formed name when /usr/share/zoneinfo is missing).
bool is_time_zone(const std::string& tz);

}  // namespace bsocial::telemetry
