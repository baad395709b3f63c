#include "bsocial/notify/delivery.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "bsocial/core/parse.hpp"
#include "bsocial/core/time_format.hpp"
#include "bsocial/http/json.hpp"
#include "bsocial/core/prometheus.hpp"

namespace bsocial::notify {

namespace json = boost::json;

delivery::delivery(notification_store& store, hub& pushes, const sessions::authenticator& auth,
                   const clock& clock)
    : store_(store), pushes_(pushes), auth_(auth), clock_(clock) {}

http::response delivery::claim(http::request& req) {
    const auto caller = auth_.require(req);
    json::array items;
    for (const auto& n : store_.claim(caller.who.id, clock_.now_ms()))
        items.push_back(json::parse(notification_json(n)));
    return http::json_response(200, json::object{{"items", std::move(items)}});
}

http::response delivery::history(http::request& req) {
    const auto caller = auth_.require(req);
    const auto params = http::parse_page_params(req);
    const auto page = store_.history(caller.who.id, {params.limit, params.cursor});
    json::array items;
    for (const auto& n : page.items) items.push_back(json::parse(notification_json(n)));
    return http::json_list_response(req, std::move(items), page.next_cursor, params.limit);
}

namespace {
json::object group_json(const notification_group& g) {
    json::array actors;
    for (const auto& a : g.recent_actors)
        actors.push_back(json::object{{"id", std::to_string(a.id)}, {"username", a.username}});
    return json::object{{"post_id", std::to_string(g.post_id)},
                        {"post_excerpt", g.post_excerpt},
                        {"count", g.total},
                        {"unread", g.unread},
                        {"actor_count", g.actor_count},
                        {"actors", std::move(actors)},
                        {"latest_at", format_rfc3339_ms(g.latest_at)}};
}

json::object counts_json(const unread_counts& c) {
    return json::object{{"groups", c.groups}, {"notifications", c.notifications}};
}
}  // namespace

http::response delivery::groups(http::request& req) {
    const auto caller = auth_.require(req);
    const auto params = http::parse_page_params(req);
    const auto page = store_.groups(caller.who.id, {params.limit, params.cursor});
    json::array items;
    for (const auto& g : page.items) items.push_back(group_json(g));
    return http::json_list_response(req, std::move(items), page.next_cursor, params.limit);
}

http::response delivery::unread(http::request& req) {
    const auto caller = auth_.require(req);
    return http::json_response(200, counts_json(store_.unread(caller.who.id)));
}

http::response delivery::mark_read(http::request& req) {
    const auto caller = auth_.require(req);
    const auto body = http::parse_json_body(req);
    // Exactly one of {"post_id":"<id>"} and {"all":true}.
    field_errors errors;
    std::optional<std::int64_t> post_id;
    const json::value* post = body.if_contains("post_id");
    const json::value* all = body.if_contains("all");
    if (post && all) {
        errors["all"] = "must not be given with post_id";
    } else if (post) {
        const auto digits = [](std::string_view s) {
            return !s.empty() && std::all_of(s.begin(), s.end(),
                                             [](char c) { return c >= '0' && c <= '9'; });
        };
        if (!post->is_string() || !digits(post->as_string()))
            errors["post_id"] = "must be a post id (a string of digits)";
        else if (!(post_id = parse_positive_id(post->as_string())))
            // "0", or beyond 64 bits: no post has that id, so no group to mark
            return http::json_response(
                200, json::object{{"marked", 0}, {"unread", counts_json(store_.unread(caller.who.id))}});
    } else if (!all) {
        errors["post_id"] = "is required (or \"all\": true)";
    } else if (!all->is_bool() || !all->as_bool()) {
        errors["all"] = "must be true";
    }
    if (!errors.empty())
        throw error(error_code::validation_failed, "give post_id or all", errors);
    const int marked = store_.mark_read(caller.who.id, post_id);
    return http::json_response(200, json::object{{"marked", marked},
                                                 {"unread", counts_json(store_.unread(caller.who.id))}});
}

http::ws_decision delivery::stream(http::request& req) {
    const auto caller = auth_.require_websocket(req);
    http::ws_decision d;
    const std::int64_t user_id = caller.who.id;
    const std::string jti = caller.claims.jti;
    const std::int64_t expires_at = caller.claims.expires_at;
    d.open = [this, user_id, jti, expires_at](std::shared_ptr<http::ws_connection> socket) {
        // Subscribe first, then send the backlog: offer() drops what both would send.
        const std::int64_t subscription = pushes_.subscribe(user_id, jti, expires_at, socket);
        for (const auto& n : store_.undelivered(user_id)) pushes_.offer(subscription, n);
        http::ws_callbacks callbacks;
        callbacks.on_messages = [this, user_id, subscription,
                                 socket](std::vector<std::string>& texts) {
            on_client_messages(user_id, subscription, socket, texts);
        };
        callbacks.on_close = [this, subscription] { pushes_.unsubscribe(subscription); };
        return callbacks;
    };
    return d;
}

void delivery::on_client_messages(std::int64_t user_id, std::int64_t subscription,
                                  const std::shared_ptr<http::ws_connection>& socket,
                                  const std::vector<std::string>& texts) {
    // The only client message: {"type":"ack","id":"<notification id>"}.
    std::vector<std::int64_t> ids;
    for (const auto& text : texts) {
        boost::system::error_code ec;
        const json::value v = json::parse(text, ec);
        const json::object* o = (!ec && v.is_object()) ? &v.as_object() : nullptr;
        const json::value* type = o ? o->if_contains("type") : nullptr;
        const json::value* id = o ? o->if_contains("id") : nullptr;
        std::optional<std::int64_t> notification_id;
        if (type && type->is_string() && type->as_string() == "ack" && id && id->is_string())
            notification_id = parse_positive_id(id->as_string());
        if (!notification_id) {
            socket->send(
                R"({"type":"error","message":"expected {\"type\":\"ack\",\"id\":\"<id>\"}"})");
            continue;
        }
        ids.push_back(*notification_id);
    }
    if (ids.empty()) return;
    acks_ += ids.size();
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    // Only what was pushed to this socket and not acked yet needs writing; then one
    // transaction for the batch: a flood of acks costs one per batch, not one per frame,
    // and nothing once every notification sent is acknowledged.
    ids = pushes_.take_unacked(subscription, ids);
    if (ids.empty()) return;
    ++ack_transactions_;
    store_.acknowledge_many(user_id, ids, clock_.now_ms());
}

ack_stats delivery::acks() const { return {acks_.load(), ack_transactions_.load()}; }

std::string ack_metrics(const ack_stats& s) {
    return prometheus_metric("bsocial_notification_acks_total", "counter",
                                   "Ack frames received on notification WebSockets.",
                                   static_cast<double>(s.acks)) +
           prometheus_metric(
               "bsocial_notification_ack_transactions_total", "counter",
               "Write transactions those acks cost: one per batch that acks notifications "
               "pushed to that socket and not acked yet.",
               static_cast<double>(s.transactions));
}

void add_notification_routes(http::router& r, delivery& d) {
    r.add("POST", "/api/v1/notifications/claim", [&d](http::request& req) { return d.claim(req); });
    r.add("GET", "/api/v1/notifications", [&d](http::request& req) { return d.history(req); });
    r.add("GET", "/api/v1/notifications/groups",
          [&d](http::request& req) { return d.groups(req); });
    r.add("GET", "/api/v1/notifications/unread",
          [&d](http::request& req) { return d.unread(req); });
    r.add("POST", "/api/v1/notifications/read",
          [&d](http::request& req) { return d.mark_read(req); });
    r.add_websocket("/api/v1/notifications/stream",
                    [&d](http::request& req) { return d.stream(req); });
}

}  // namespace bsocial::notify
