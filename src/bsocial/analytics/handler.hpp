#pragma once
// GET /api/v1/analytics/logins, /top-posts and /users/{username}/extremes (docs/openapi.yaml,
// docs/analytics.md). Administrators only: anyone else gets 404, like an unknown route.
// Each request runs telemetry::run_analytics (the code of `bsocial query --json`) on an
// es_client borrowed from the handler's pool (one per request running at once, kept
// between requests: its connection, TLS session included, is reused), with bounded
// timeouts, at most `max_concurrent` at once; the
// posts' details come from SQL after the search engine answered. A search engine that is
// not configured, unreachable or refuses us is a 503 that names the cause.

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bsocial/analytics/closed_days.hpp"
#include "bsocial/http/message.hpp"
#include "bsocial/http/router.hpp"
#include "bsocial/sessions/authenticator.hpp"
#include "bsocial/sessions/roles.hpp"
#include "bsocial/store/cluster_bus.hpp"
#include "bsocial/store/database.hpp"
#include "bsocial/telemetry/analytics.hpp"
#include "bsocial/telemetry/config.hpp"

namespace bsocial::analytics {

/// ?days= of the API: 1..max_days (the CLI allows more).
inline constexpr int max_days = 90;

struct settings {
    /// url empty = no search engine configured: every analytics request answers 503.
    telemetry::elasticsearch_config es{.url = "", .request_timeout_ms = 5000};
    std::string queries_dir = "queries";
    /// Analytics requests running at once; one more answers 503 with Retry-After. The
    /// server adds this many blocking threads, so they never take an SQL request's thread.
    int max_concurrent = 2;
    /// q2's answers of days that are over, kept this long (0: no cache); a deletion (bus:
    /// post.deleted, comment.deleted) drops the days that rank its post, and serve asks
    /// them again in the background (docs/analytics.md, "Closed days").
    int cache_seconds = 300;
    /// Zones whose closed days serve asks at its start and keeps fresh (comma-separated,
    /// as ?tz=; "none": no zone); a zone someone asks for is kept fresh too, for an hour
    /// after its last call.
    std::string warm_zones = "UTC";

    bool configured() const { return !es.url.empty(); }
    /// Throws std::invalid_argument naming the setting (only when configured).
    void validate() const;
    /// The same BSOCIAL_ELASTICSEARCH_* as `bsocial query` (core/settings.hpp).
    template <class Declare>
    void describe(Declare& d) {
        es.describe(d);
        telemetry::declare_queries_dir(d, queries_dir);
        d(es.request_timeout_ms, "analytics-timeout-ms", "BSOCIAL_ANALYTICS_TIMEOUT_MS",
          "longest wait for one search engine request of /api/v1/analytics");
        d(max_concurrent, "analytics-max-concurrent", "BSOCIAL_ANALYTICS_MAX_CONCURRENT",
          "analytics requests at once (one more answers 503)");
        d(cache_seconds, "analytics-cache-seconds", "BSOCIAL_ANALYTICS_CACHE_SECONDS",
          "keep top-posts answers of days that are over this long (0: off; a deletion drops the days ranking its post)");
        d(warm_zones, "analytics-warm-zones", "BSOCIAL_ANALYTICS_WARM_ZONES",
          "zones whose top-posts days serve fills at its start and keeps fresh (comma-separated; none: no zone)");
    }
    /// warm_zones as a list (validate() checks each).
    std::vector<std::string> warm_zone_list() const;
};

class handler {
  public:
    handler(settings config, store::database& db, const sessions::authenticator& auth,
            const sessions::roles& roles);
    ~handler();
    handler(const handler&) = delete;
    handler& operator=(const handler&) = delete;

    http::response logins(http::request& req);     // GET /api/v1/analytics/logins
    http::response top_posts(http::request& req);  // GET /api/v1/analytics/top-posts
    http::response extremes(http::request& req);   // GET .../users/{username}/extremes
    /// GET /api/v1/analytics/posts/{id}: any post, read-only, whoever wrote it (the posts the
    /// analytics name, for an administrator who may not follow their authors). SQL only:
    /// answers without a search engine. 404 for an unknown post, or for anyone else.
    http::response post(http::request& req);

    /// On every post.deleted / comment.deleted drops the closed days that rank its post
    /// (everything after a reconnect of the bus, when messages may have been missed), then
    /// starts the refresher (start_refresher). Before bus.start().
    void listen(store::cluster_bus& bus);

    /// Starts the refresher (when a search engine is configured and the cache is on): it
    /// asks the warm zones' closed days at once, asks again the days a deletion dropped,
    /// and asks each zone in use again before its days expire, so that a request asks
    /// only today (docs/analytics.md, "Closed days"). Stopped by the destructor.
    void start_refresher();

    /// What the last q2 run asked the search engine for (tests, logs): days of the range
    /// and how many of them came from the cache.
    struct q2_stats {
        std::size_t days = 0, cached = 0;
    };
    q2_stats last_q2() const;
    std::size_t cached_days() const { return days_.size(); }
    /// Runs the refresher's work once now (tests): every zone due, or all when `all`.
    void refresh_now(bool all = false);

  private:
    /// The caller, who must be an administrator (else error{not_found}).
    void require_admin(const http::request& req) const;
    /// q1/q2's query from ?days= and ?tz= (http::transport_error{bad_request} when bad).
    telemetry::query_config day_query(const http::request& req, const char* name) const;
    /// Runs the query (503 / 404 on failure, see the file comment) and answers 200 + rows.
    http::response run(const telemetry::query_config& query);
    /// q2 through the closed days' cache: lends the zone's days (good for `margin_ms`
    /// more) to run_analytics and keeps the closed days it asked.
    boost::json::object run_q2(telemetry::es_client& es, const telemetry::query_config& config,
                               const telemetry::post_lookup& lookup, std::int64_t margin_ms,
                               bool* missed, const char* by);
    /// The zone in use (days: the widest range asked).
    void note_zone(const std::string& tz, int days, bool dirty, std::int64_t now_ms);
    void refresher_loop();

    settings settings_;
    store::database& db_;
    const sessions::authenticator& auth_;
    const sessions::roles& roles_;
    telemetry::post_lookup lookup_;
    std::atomic<int> running_{0};
    /// Idle search engine clients (at most max_concurrent exist): a request takes one, or
    /// makes one when none is idle, and gives it back when done. A libcurl handle serves one
    /// thread at a time; kept, it keeps its connection open (no TCP + TLS handshake per
    /// request: docs/analytics.md, "Speed").
    std::mutex pool_mutex_;
    std::vector<std::unique_ptr<telemetry::es_client>> idle_;
    closed_days days_;
    mutable std::mutex stats_mutex_;
    q2_stats last_q2_;
    /// The refresher: zones to keep fresh.
    struct zone {
        int days = 10;
        std::int64_t last_asked_ms = 0;  ///< 0: a warm zone (always kept)
        std::int64_t next_ms = 0;        ///< when to ask its days again
    };
    std::mutex zones_mutex_;
    std::condition_variable zones_cv_;
    std::map<std::string, zone> zones_;
    bool stopping_ = false;
    std::unique_ptr<telemetry::es_client> refresher_es_;
    std::thread refresher_;
};

void add_analytics_routes(http::router& router, handler& h);

}  // namespace bsocial::analytics
