#pragma once
// GET /api/v1/analytics/logins, /top-posts and /users/{username}/extremes (docs/openapi.yaml,
// docs/analytics.md). Administrators only: anyone else gets 404, like an unknown route.
// Each request runs telemetry::run_analytics (the code of `bsocial query --json`) on an
// es_client of its own, with bounded timeouts, at most `max_concurrent` at once; the
// posts' details come from SQL after the search engine answered. A search engine that is
// not configured, unreachable or refuses us is a 503 that names the cause.

#include <atomic>
#include <string>

#include "bsocial/http/message.hpp"
#include "bsocial/http/router.hpp"
#include "bsocial/sessions/authenticator.hpp"
#include "bsocial/sessions/roles.hpp"
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
};

void add_analytics_routes(http::router& router, handler& h);

}  // namespace bsocial::analytics
