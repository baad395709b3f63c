#include "bsocial/analytics/handler.hpp"

#include <soci/soci.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <stdexcept>

#include "bsocial/analytics/post_lookup.hpp"
#include "bsocial/core/error.hpp"
#include "bsocial/core/text.hpp"
#include "bsocial/core/time_format.hpp"
#include "bsocial/http/errc.hpp"
#include "bsocial/http/json.hpp"
#include "bsocial/social/posts.hpp"
#include "bsocial/social/validation.hpp"
#include "bsocial/telemetry/es_client.hpp"

namespace bsocial::analytics {

namespace {

/// Seconds a client is asked to wait after a 503.
constexpr long retry_after_seconds = 5;

error unavailable(const std::string& why) {
    error e(error_code::unavailable, why);
    e.retry_after_seconds = retry_after_seconds;
    return e;
}

http::transport_error bad_request(const std::string& why) {
    return http::transport_error(http::errc::bad_request, why);
}

/// Decrements the running count when the request is done, whatever happened.
struct slot {
    std::atomic<int>& running;
    ~slot() { running.fetch_sub(1); }
};

}  // namespace

void settings::validate() const {
    if (!configured()) return;
    es.validate();
    if (cache_seconds < 0 || cache_seconds > 86'400)
        throw std::invalid_argument("the analytics cache's seconds must be 0..86400 (BSOCIAL_ANALYTICS_CACHE_SECONDS)");
    if (max_concurrent < 1 || max_concurrent > 64)
        throw std::invalid_argument("analytics requests at once must be 1..64 (BSOCIAL_ANALYTICS_MAX_CONCURRENT)");
}

handler::handler(settings config, store::database& db, const sessions::authenticator& auth,
                 const sessions::roles& roles)
    : settings_(std::move(config)),
      db_(db),
      auth_(auth),
      roles_(roles),
      lookup_(sql_post_lookup(db)),
      cache_(telemetry::day_cache::options{
          .ttl_ms = std::int64_t{settings_.cache_seconds} * 1000}) {
    if (settings_.configured()) settings_.es = telemetry::split_credentials(settings_.es);
}

void handler::require_admin(const http::request& req) const {
    const auto caller = auth_.require(req);
    // 404, not 403: to anyone else the analytics do not exist, like a post they may not see.
    if (!roles_.is_admin(caller.who)) throw error(error_code::not_found, "no such resource");
}

telemetry::query_config handler::day_query(const http::request& req, const char* name) const {
    telemetry::query_config q;
    q.name = name;
    q.days = 30;
    if (const auto days = req.query_param("days")) {
        int n = 0;
        const auto [end, ec] = std::from_chars(days->data(), days->data() + days->size(), n);
        if (ec != std::errc() || end != days->data() + days->size() || n < 1 || n > max_days)
            throw bad_request("days must be a whole number from 1 to " + std::to_string(max_days));
        q.days = n;
    }
    if (const auto tz = req.query_param("tz")) {
        if (!telemetry::is_time_zone(*tz))
            throw bad_request("tz must be an IANA time zone name like Europe/Paris or UTC, "
                              "or an offset like +02:00");
        q.tz = *tz;
    }
    return q;
}

http::response handler::run(const telemetry::query_config& query) {
    if (!settings_.configured())
        throw unavailable("analytics need a search engine: none is configured "
                          "(set BSOCIAL_ELASTICSEARCH_URL)");
    if (running_.fetch_add(1) >= settings_.max_concurrent) {
        running_.fetch_sub(1);
        throw unavailable("too many analytics requests at once; try again shortly");
    }
    const slot done{running_};
    telemetry::query_config config = query;
    config.es = settings_.es;
    config.queries_dir = settings_.queries_dir;
    const auto fail = [&config](const char* what, const std::exception& e) {
        spdlog::warn("module=analytics event=query_failed query={} cause={} error=\"{}\"",
                     config.name, what, e.what());
    };
    std::unique_ptr<telemetry::es_client> es;
    {
        const std::lock_guard lock(pool_mutex_);
        if (!idle_.empty()) {
            es = std::move(idle_.back());
            idle_.pop_back();
        }
    }
    // Given back whatever happens: a failed request leaves the handle usable (libcurl
    // drops a broken connection and opens a new one on the next request).
    struct give_back {
        handler& h;
        std::unique_ptr<telemetry::es_client>& es;
        ~give_back() {
            if (!es) return;
            const std::lock_guard lock(h.pool_mutex_);
            h.idle_.push_back(std::move(es));
        }
    } const returned{*this, es};
    try {
        if (!es) es = std::make_unique<telemetry::es_client>(config.es);
        return http::json_response(200, telemetry::run_analytics(*es, config, lookup_, &cache_));
    } catch (const telemetry::unknown_user& e) {
        throw error(error_code::not_found, e.what());
    } catch (const telemetry::es_unreachable& e) {
        fail("unreachable", e);
        throw unavailable(std::string("the search engine is unreachable: ") + e.what());
    } catch (const telemetry::es_config_error& e) {
        fail("misconfigured", e);
        throw unavailable(std::string("the search engine refused our settings: ") + e.what());
    } catch (const telemetry::query_refused& e) {
        fail("refused", e);
        throw unavailable(e.what());
    } catch (const error&) {
        throw;  // from the SQL lookup's domain code, as is
    } catch (const soci::soci_error&) {
        throw;  // the SQL lookup failed: a 500, logged without the bound values (router hook)
    } catch (const std::exception& e) {
        // An unreadable or broken query file, an answer without the expected aggregations.
        fail("unusable", e);
        throw unavailable(std::string("analytics are misconfigured: ") + e.what());
    }
}

http::response handler::logins(http::request& req) {
    require_admin(req);
    return run(day_query(req, "q1"));
}

http::response handler::top_posts(http::request& req) {
    require_admin(req);
    return run(day_query(req, "q2"));
}

http::response handler::extremes(http::request& req) {
    require_admin(req);
    telemetry::query_config q;
    q.name = "q3";
    // Not a username: no event can name it, so 404 without asking the search engine (the
    // same answer as for an unknown user).
    if (!social::looks_like_username(req.params.at(0)))
        throw error(error_code::not_found, "no such user");
    q.user = ascii_lower(req.params.at(0));
    return run(q);
}

http::response handler::post(http::request& req) {
    require_admin(req);
    const std::int64_t id = http::parse_id(req.params.at(0));  // 404 unless a positive id
    const auto found = social::posts_by_ids(db_, {id});  // no visibility rule: admins only
    if (found.empty()) throw error(error_code::not_found, "no such post");
    const auto& p = found.front();
    // The shape of GET /api/v1/posts/{id} (api::to_json of a post; the api module is not
    // ours to include).
    return http::json_response(
        200, boost::json::object{{"post", boost::json::object{{"id", std::to_string(p.id)},
                                                {"author", boost::json::object{{"id", std::to_string(p.by.id)},
                                                                        {"username", p.by.username},
                                                                        {"first_name", p.by.first_name},
                                                                        {"last_name", p.by.last_name}}},
                                                {"content", p.content},
                                                {"created_at", format_rfc3339_ms(p.created_at)},
                                                {"comment_count", p.comment_count}}}});
}

void handler::listen(store::cluster_bus& bus) {
    const auto forget = [this](std::string_view) {
        cache_.invalidate(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
    };
    bus.subscribe("post.deleted", forget);
    bus.subscribe("comment.deleted", forget);
    bus.on_resync([forget] { forget({}); });
}

void add_analytics_routes(http::router& router, handler& h) {
    // They wait on the search engine: the waiting pool (max_concurrent threads of it).
    constexpr auto where = http::runs_on::waiting_pool;
    router.add(
        "GET", "/api/v1/analytics/logins", [&h](http::request& r) { return h.logins(r); }, where);
    router.add(
        "GET", "/api/v1/analytics/top-posts", [&h](http::request& r) { return h.top_posts(r); },
        where);
    router.add(
        "GET", "/api/v1/analytics/users/{username}/extremes",
        [&h](http::request& r) { return h.extremes(r); }, where);
    // SQL only (one indexed read): the ordinary pool, like GET /api/v1/posts/{id}.
    router.add("GET", "/api/v1/analytics/posts/{id}", [&h](http::request& r) { return h.post(r); });
}

}  // namespace bsocial::analytics
