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

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// A zone someone asked for is kept fresh this long after its last call.
constexpr std::int64_t zone_kept_ms = 3'600'000;
/// The days a warm zone's closed days cover (the API's default range).
constexpr int warm_days = 30;
/// Asked again this soon when a run could not keep a day (a deletion's hold, a day just
/// over, an error).
constexpr std::int64_t retry_ms = 2'000;

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
    for (const auto& tz : warm_zone_list())
        if (!telemetry::is_time_zone(tz))
            throw std::invalid_argument("analytics warm zones: '" + tz +
                                        "' is no time zone (BSOCIAL_ANALYTICS_WARM_ZONES)");
    if (max_concurrent < 1 || max_concurrent > 64)
        throw std::invalid_argument("analytics requests at once must be 1..64 (BSOCIAL_ANALYTICS_MAX_CONCURRENT)");
}

std::vector<std::string> settings::warm_zone_list() const {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at <= warm_zones.size()) {
        auto end = warm_zones.find(',', at);
        if (end == std::string::npos) end = warm_zones.size();
        auto one = warm_zones.substr(at, end - at);
        const auto first = one.find_first_not_of(" \t");
        const auto last = one.find_last_not_of(" \t");
        if (first != std::string::npos) out.push_back(one.substr(first, last - first + 1));
        if (!out.empty() && out.back() == "none") out.pop_back();  // "none": no zone
        at = end + 1;
    }
    return out;
}

handler::handler(settings config, store::database& db, const sessions::authenticator& auth,
                 const sessions::roles& roles)
    : settings_(std::move(config)),
      db_(db),
      auth_(auth),
      roles_(roles),
      lookup_(sql_post_lookup(db)),
      days_(closed_days::options{.ttl_ms = std::int64_t{settings_.cache_seconds} * 1000}) {
    if (settings_.configured()) settings_.es = telemetry::split_credentials(settings_.es);
    for (const auto& tz : settings_.warm_zone_list())
        zones_[tz] = zone{.days = warm_days, .last_asked_ms = 0, .next_ms = 0};
}

handler::~handler() {
    {
        const std::lock_guard lock(zones_mutex_);
        stopping_ = true;
    }
    zones_cv_.notify_all();
    if (refresher_.joinable()) refresher_.join();
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
        if (config.name == "q2" && days_.enabled()) {
            bool missed = false;
            auto rows = run_q2(*es, config, lookup_, 0, &missed, "request");
            note_zone(config.tz, config.days, missed, now_ms());
            return http::json_response(200, std::move(rows));
        }
        return http::json_response(200, telemetry::run_analytics(*es, config, lookup_));
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

boost::json::object handler::run_q2(telemetry::es_client& es,
                                    const telemetry::query_config& config,
                                    const telemetry::post_lookup& lookup, std::int64_t margin_ms,
                                    bool* missed, const char* by) {
    const auto prefix = closed_days::prefix(config.es.entities_index(), config.tz);
    // A day_cache for this run only: the days we hold, lent; run_analytics asks the others
    // and puts in it the ones that are over (a minute after their end, its rule).
    telemetry::day_cache lent(telemetry::day_cache::options{
        .ttl_ms = 86'400'000, .settle_ms = 60'000, .hold_ms = 0, .max_entries = 1'000'000});
    const auto lent_keys = days_.lend(lent, prefix, now_ms(), margin_ms);
    auto rows = telemetry::run_analytics(es, config, lookup, &lent);
    const auto now = now_ms();
    q2_stats stats;
    std::size_t asked = 0;
    for (const auto& day : rows.at("days").as_array()) {
        const auto key = prefix + std::string(day.at("day").as_string());
        ++stats.days;
        if (lent_keys.contains(key)) {
            ++stats.cached;
            continue;
        }
        ++asked;
        const auto bucket = lent.get(key, now);  // only a day that is over
        if (bucket && !days_.keep(key, *bucket, now) && missed) *missed = true;
    }
    // more than today asked: a day was missing (start, deletion, expiry, midnight)
    if (asked > 1 && missed) *missed = true;
    spdlog::info("module=analytics event=top_posts by={} tz={} days={} cached={}", by,
                 config.tz, stats.days, stats.cached);
    const std::lock_guard lock(stats_mutex_);
    last_q2_ = stats;
    return rows;
}

handler::q2_stats handler::last_q2() const {
    const std::lock_guard lock(stats_mutex_);
    return last_q2_;
}

void handler::note_zone(const std::string& tz, int days, bool dirty, std::int64_t now) {
    {
        const std::lock_guard lock(zones_mutex_);
        auto [it, added] = zones_.try_emplace(tz);
        auto& z = it->second;
        if (added) {
            z.days = days;
            z.next_ms = now + days_.ttl_ms() / 2;  // this request just asked its days
        }
        z.days = std::max(z.days, days);
        if (!added && z.last_asked_ms == 0) {
            // a warm zone stays one (0)
        } else {
            z.last_asked_ms = now;
        }
        if (dirty) z.next_ms = std::min(z.next_ms, now + retry_ms);
    }
    if (dirty) zones_cv_.notify_all();
}

void handler::refresh_now(bool all) {
    if (!settings_.configured() || !days_.enabled()) return;
    const auto now = now_ms();
    std::vector<std::pair<std::string, int>> due;
    {
        const std::lock_guard lock(zones_mutex_);
        for (auto it = zones_.begin(); it != zones_.end();) {
            auto& z = it->second;
            if (z.last_asked_ms != 0 && z.last_asked_ms + zone_kept_ms < now) {
                it = zones_.erase(it);  // nobody asked for it for an hour
                continue;
            }
            if (all || z.next_ms <= now) due.emplace_back(it->first, z.days);
            ++it;
        }
    }
    if (!refresher_es_) refresher_es_ = std::make_unique<telemetry::es_client>(settings_.es);
    for (const auto& [tz, days] : due) {
        telemetry::query_config config;
        config.name = "q2";
        config.days = days;
        config.tz = tz;
        config.es = settings_.es;
        config.queries_dir = settings_.queries_dir;
        std::int64_t next = 0;
        try {
            // the days that expire within half the lifetime are asked again now, so a
            // request finds them (stale-while-revalidate, never stale past the lifetime)
            bool missed = false;
            run_q2(*refresher_es_, config, {}, days_.ttl_ms() / 2, &missed, "refresher");
            next = now_ms() + (missed ? retry_ms : days_.ttl_ms() / 2);
        } catch (const std::exception& e) {
            spdlog::warn("module=analytics event=refresh_failed tz={} error=\"{}\"", tz, e.what());
            next = now_ms() + 5 * retry_ms;
        }
        const std::lock_guard lock(zones_mutex_);
        if (const auto it = zones_.find(tz); it != zones_.end()) it->second.next_ms = next;
    }
}

void handler::start_refresher() {
    if (!settings_.configured() || !days_.enabled() || refresher_.joinable()) return;
    refresher_ = std::thread([this] { refresher_loop(); });
}

void handler::refresher_loop() {
    for (;;) {
        {
            std::unique_lock lock(zones_mutex_);
            std::int64_t next = now_ms() + 60'000;
            for (const auto& [tz, z] : zones_) next = std::min(next, z.next_ms);
            const auto wait = std::max<std::int64_t>(0, next - now_ms());
            zones_cv_.wait_for(lock, std::chrono::milliseconds(wait), [this, next] {
                if (stopping_) return true;
                for (const auto& [tz, z] : zones_)
                    if (z.next_ms < next) return true;  // sooner than planned (a deletion)
                return false;
            });
            if (stopping_) return;
        }
        refresh_now(false);
    }
}

void handler::listen(store::cluster_bus& bus) {
    // A deletion drops the days that rank its post (closed_days) and has them asked again
    // by the refresher; a message we cannot read, or a reconnect, drops everything.
    const auto forget = [this](std::string_view payload) {
        const auto now = now_ms();
        std::string post_id;
        try {
            const auto v = boost::json::parse(payload);
            if (const auto* p = v.as_object().if_contains("post_id"); p && p->is_string())
                post_id = std::string(p->as_string());
        } catch (const std::exception&) {
        }
        if (post_id.empty()) {
            days_.forget_all(now);
        } else if (days_.forget_post(post_id, now) == 0) {
            return;  // it ranked on no day we hold: nothing changed
        }
        {
            const std::lock_guard lock(zones_mutex_);
            for (auto& [tz, z] : zones_) z.next_ms = std::min(z.next_ms, now);
        }
        zones_cv_.notify_all();
    };
    bus.subscribe("post.deleted", forget);
    bus.subscribe("comment.deleted", forget);
    bus.on_resync([forget] { forget({}); });
    start_refresher();  // serve: the warm zones are asked now, in the background
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
