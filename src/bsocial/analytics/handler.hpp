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
#include <memory>
#include <mutex>
#include <string>
#include <vector>

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
    /// post.deleted, comment.deleted) empties the cache (docs/analytics.md, "Closed days").
    int cache_seconds = 300;

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
          "keep top-posts answers of days that are over this long (0: off; emptied on deletions)");
    }
};

class handler {
  public:
    handler(settings config, store::database& db, const sessions::authenticator& auth,
            const sessions::roles& roles);

    http::response logins(http::request& req);     // GET /api/v1/analytics/logins
    http::response top_posts(http::request& req);  // GET /api/v1/analytics/top-posts
    http::response extremes(http::request& req);   // GET .../users/{username}/extremes
    /// GET /api/v1/analytics/posts/{id}: any post, read-only, whoever wrote it (the posts the
    /// analytics name, for an administrator who may not follow their authors). SQL only:
    /// answers without a search engine. 404 for an unknown post, or for anyone else.
    http::response post(http::request& req);

    /// Empties the closed days' cache on every post.deleted / comment.deleted (and after a
    /// reconnect of the bus, when messages may have been missed). Before bus.start().
    void listen(store::cluster_bus& bus);

  private:
    /// The caller, who must be an administrator (else error{not_found}).
    void require_admin(const http::request& req) const;
    /// q1/q2's query from ?days= and ?tz= (http::transport_error{bad_request} when bad).
    telemetry::query_config day_query(const http::request& req, const char* name) const;
    /// Runs the query (503 / 404 on failure, see the file comment) and answers 200 + rows.
    http::response run(const telemetry::query_config& query);

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
    telemetry::day_cache cache_;
};

void add_analytics_routes(http::router& router, handler& h);

}  // namespace bsocial::analytics
