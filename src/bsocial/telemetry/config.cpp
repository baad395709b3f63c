#include "bsocial/telemetry/config.hpp"

#include <filesystem>
#include <regex>
#include <stdexcept>

namespace bsocial::telemetry {

namespace {
void require(bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument(what);
}
// Index names Elasticsearch accepts, minus the ones it turns into data streams.
bool valid_index_name(const std::string& s) {
    static const std::regex re("[a-z0-9][a-z0-9._-]{0,200}");
    return std::regex_match(s, re) && !std::regex_match(s, std::regex("(logs|metrics)-.*-.*"));
}
}  // namespace

std::vector<std::string> split_urls(std::string_view list) {
    std::vector<std::string> out;
    while (!list.empty()) {
        const auto comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
            item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
        if (!item.empty()) out.emplace_back(item);
    }
    return out;
}

bool is_time_zone(const std::string& tz) {
    static const std::regex offset("[+-][0-9]{2}:[0-9]{2}");
    if (std::regex_match(tz, offset)) return true;
    static const std::regex name("[A-Za-z][A-Za-z0-9_+-]{0,40}(/[A-Za-z0-9_+-]{1,40}){0,2}");
    if (!std::regex_match(tz, name) || tz.rfind("posix/", 0) == 0 || tz.rfind("right/", 0) == 0 ||
        tz == "posixrules" || tz == "localtime" || tz == "Factory")
        return false;
    // The IANA database of the system (Debian's tzdata), when it is installed; without it the
    // search engine is the judge (an unknown zone is then a refused query).
    const std::filesystem::path zoneinfo("/usr/share/zoneinfo");
    std::error_code ec;
    if (!std::filesystem::is_directory(zoneinfo, ec)) return true;
    return std::filesystem::is_regular_file(zoneinfo / tz, ec);
}

void elasticsearch_config::validate() const {
    const auto urls = split_urls(url);
    require(!urls.empty(), "Elasticsearch URL must not be empty (BSOCIAL_ELASTICSEARCH_URL)");
    for (const auto& u : urls)
        require(u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0,
                "Elasticsearch URL must start with http:// or https:// (BSOCIAL_ELASTICSEARCH_URL; "
                "several nodes: comma-separated)");
    require(password.empty() || !user.empty(),
            "an Elasticsearch password needs a user (BSOCIAL_ELASTICSEARCH_USER)");
    require(valid_index_name(index),
            "index name must be lower-case [a-z0-9._-] and not logs-*-* "
            "(BSOCIAL_ELASTICSEARCH_INDEX)");
    require(request_timeout_ms >= 100, "Elasticsearch request timeout must be >= 100 ms");
}

void telemetry_config::validate() const {
    es.validate();
    require(!kafka.brokers.empty(), "telemetry needs Kafka: set BSOCIAL_KAFKA_BROKERS or --kafka");
    kafka_security.validate();
    require(!group_id.empty(), "consumer group must not be empty (BSOCIAL_TELEMETRY_GROUP)");
    static const std::regex instance("[A-Za-z0-9._-]{1,249}");
    require(instance_id.empty() || std::regex_match(instance_id, instance),
            "instance id must be 1..249 characters of [A-Za-z0-9._-] "
            "(BSOCIAL_TELEMETRY_INSTANCE_ID)");
    require(warmup_documents >= 0 && warmup_documents <= 100000,
            "warm-up documents must be 0..100000 (BSOCIAL_TELEMETRY_WARMUP_DOCUMENTS)");
    require(replicas >= 0 && replicas <= 10,
            "replicas must be 0..10 (BSOCIAL_ELASTICSEARCH_REPLICAS)");
    require(batch_max_events >= 1 && batch_max_events <= 10000,
            "batch size must be 1..10000 events (BSOCIAL_TELEMETRY_BATCH_EVENTS)");
    require(batch_max_bytes >= 1024, "batch byte limit must be >= 1024");
    require(catchup_refresh_ms == 0 || (catchup_refresh_ms >= 100 && catchup_refresh_ms <= 3600000),
            "catch-up refresh interval must be 0 or 100..3600000 ms "
            "(BSOCIAL_TELEMETRY_CATCHUP_REFRESH_MS)");
    require(max_inflight >= 1 && max_inflight <= 16,
            "bulk requests in flight must be 1..16 (BSOCIAL_TELEMETRY_MAX_INFLIGHT)");
    require(refresh_ms >= 100 && refresh_ms <= 3600000,
            "refresh interval must be 100..3600000 ms (BSOCIAL_ELASTICSEARCH_REFRESH_MS)");
    require(batch_max_wait_ms >= 1 && batch_max_wait_ms <= 60000,
            "batch wait must be 1..60000 ms (BSOCIAL_TELEMETRY_BATCH_WAIT_MS)");
    require(max_backoff_ms >= 10, "max backoff must be >= 10 ms");
    require(retention_days >= 0 && retention_days <= 36500,
            "retention must be 0..36500 days (BSOCIAL_TELEMETRY_RETENTION_DAYS)");
    require(shutdown_flush_timeout_ms >= 0, "shutdown flush timeout must be >= 0");
}

void query_config::validate() const {
    es.validate();
    require(name == "q1" || name == "q2" || name == "q3", "query must be q1, q2 or q3");
    static const std::regex day("[0-9]{4}-[0-9]{2}-[0-9]{2}");
    require(from.empty() == to.empty(), "--from and --to go together");
    require(from.empty() || (std::regex_match(from, day) && std::regex_match(to, day)),
            "--from/--to must be dates YYYY-MM-DD");
    require(from.empty() || from <= to, "--from must not be after --to");
    require(days >= 1 && days <= 3660, "--days must be 1..3660");
    require(is_time_zone(tz),
            "--tz must be an IANA time zone name (Europe/Paris, UTC) or an offset like +02:00");
    if (name == "q3") {
        require(!user.empty() || !user_id.empty(), "q3 needs --user NAME or --user-id ID");
        require(user_id.empty() || std::regex_match(user_id, std::regex("[0-9]{1,20}")),
                "--user-id must be digits");
    }
}

}  // namespace bsocial::telemetry
