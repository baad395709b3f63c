#include <soci/session.h>

#include "bsocial/api/handlers.hpp"
#include "bsocial/api/json_io.hpp"
#include "bsocial/core/clock.hpp"
#include "bsocial/outbox/outbox.hpp"

namespace bsocial::api {

namespace {
constexpr std::int64_t readyz_backlog_bound = 10000;
}  // namespace

ops_handler::ops_handler(store::database& db, http::metrics& stats,
                         std::vector<readiness_check> checks, ops_extras extras)
    : db_(db), stats_(stats), checks_(std::move(checks)), extras_(std::move(extras)) {}

http::response ops_handler::healthz(http::request&) {
    return json_response(200, json::object{{"status", "ok"}});
}

http::response ops_handler::readyz(http::request&) {
    json::object checks;
    bool ready = true;
    const bool database_ok = db_.ping();  // one round trip (SELECT 1); false when unreachable
    checks["database"] = database_ok ? "ok" : (ready = false, "unreachable");
    for (const auto& check : checks_) {
        std::string result = check.run();
        if (result != "ok") ready = false;
        checks[check.name] = std::move(result);
    }
    json::object body{{"status", ready ? "ready" : "not_ready"}, {"checks", std::move(checks)}};
    json::object outbox = extras_.outbox_details ? extras_.outbox_details() : json::object{};
    // Counted up to a bound, so a probe stays cheap however large the backlog (the exact
    // figure is /metrics' bsocial_outbox_backlog); not asked of a database that is away.
    outbox["backlog"] = nullptr;
    if (database_ok) {
        try {
            store::lease sql(db_);
            outbox["backlog"] = outbox::count_unsent_up_to(*sql, readyz_backlog_bound);
        } catch (const std::exception&) {
        }
    }
    body["outbox"] = std::move(outbox);
    return json_response(ready ? 200 : 503, std::move(body));
}

http::response ops_handler::metrics(http::request& req) {
    if (!extras_.access.allows(req)) throw error(error_code::not_found, "no such resource");
    http::response res;
    res.content_type = "text/plain; version=0.0.4";
    res.body = stats_.render();
    try {
        store::lease sql_lease(db_);
        soci::session& sql = *sql_lease;
        res.body += outbox::backlog_metrics(outbox::read_backlog(sql), system_clock().now_ms());
    } catch (const std::exception&) {
        res.body += "# outbox backlog unavailable: database unreachable\n";
    }
    if (extras_.metrics) res.body += extras_.metrics();
    return res;
}

}  // namespace bsocial::api
