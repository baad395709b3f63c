#include "bsocial/api/handlers.hpp"
#include "bsocial/api/json_io.hpp"
#include "bsocial/social/validation.hpp"

#include "bsocial/core/parse.hpp"
#include "bsocial/core/utf8.hpp"

namespace bsocial::api {

/// The longest search text, in characters (a first and a last name).
constexpr std::size_t max_search_length = 60;

namespace {
/// Each user with `followed_by_me` (the follow button of every list of people, issue 28):
/// one primary-key lookup per item of the page.
http::response users_page(const http::request& req, social::people& people,
                          const social::user& viewer, const social::page<social::user>& page) {
    std::vector<std::int64_t> ids;
    ids.reserve(page.items.size());
    for (const auto& u : page.items) ids.push_back(u.id);
    const auto followed = people.followed_among(viewer.id, ids);
    const item_renderer<social::user> render = [id = viewer.id, &followed](
                                                   const social::user& u, json::storage_ptr sp) {
        auto o = to_json(u, u.id == id, std::move(sp));
        o["followed_by_me"] = followed.count(u.id) > 0;
        return o;
    };
    return list_response<social::user>(req, page, render);
}
}  // namespace

users_handler::users_handler(social::accounts& accounts, social::graph& graph,
                             social::people& people, const sessions::authenticator& auth,
                             const sessions::roles& roles, social::user_limits& limits)
    : accounts_(accounts),
      graph_(graph),
      people_(people),
      auth_(auth),
      roles_(roles),
      limits_(limits) {}

http::response users_handler::register_user(http::request& req) {
    const auto body = parse_json_body(req);
    field_errors errors;
    social::registration in;
    in.first_name = take_string(body, "first_name", errors);
    in.last_name = take_string(body, "last_name", errors);
    in.username = take_string(body, "username", errors);
    in.email = take_string(body, "email", errors);
    in.password = take_string(body, "password", errors);
    in.password_confirmation = take_string(body, "password_confirmation", errors);
    if (!errors.empty()) throw error(error_code::validation_failed, "invalid registration", errors);
    const auto created = accounts_.register_user(std::move(in), req.client_address);
    return json_response(201, json::object{{"user", to_json(created, true)}});
}

http::response users_handler::me(http::request& req) {
    const auto caller = auth_.require(req);
    return json_response(200, json::object{{"user", to_json(caller.who, true)},
                                           {"is_admin", roles_.is_admin(caller.who)}});
}

http::response users_handler::search(http::request& req) {
    const auto caller = auth_.require(req);
    const auto page = parse_page(req);
    const std::string q = req.query_param("q").value_or("");
    if (!is_valid_utf8(q) || social::utf8_length(q) > max_search_length)  // characters
        throw error(error_code::validation_failed, "invalid search",
                    {{"q", "must be at most 60 characters of UTF-8 text"}});
    limits_.take_search(caller.who.id);
    return users_page(req, people_, caller.who, people_.search(q, page));
}

http::response users_handler::profile(http::request& req) {
    const auto caller = auth_.require(req);
    const auto p = graph_.get_profile(caller.who, req.params.at(0));
    return json_response(200, json::object{{"user", to_json(p.who, p.who.id == caller.who.id)},
                                           {"followers_count", p.followers_count},
                                           {"following_count", p.following_count},
                                           {"followed_by_me", p.followed_by_me},
                                           {"post_count", people_.post_count(p.who.id)}});
}

http::response users_handler::follow(http::request& req) {
    const auto caller = auth_.require(req);
    limits_.take_follow(caller.who.id);
    graph_.follow(caller.who, req.params.at(0));
    return no_content();
}

http::response users_handler::unfollow(http::request& req) {
    const auto caller = auth_.require(req);
    limits_.take_follow(caller.who.id);
    graph_.unfollow(caller.who, req.params.at(0));
    return no_content();
}

http::response users_handler::followers(http::request& req) {
    const auto caller = auth_.require(req);
    const auto page = parse_page(req);
    return users_page(req, people_, caller.who, graph_.followers(req.params.at(0), page));
}

http::response users_handler::following(http::request& req) {
    const auto caller = auth_.require(req);
    const auto page = parse_page(req);
    return users_page(req, people_, caller.who, graph_.following(req.params.at(0), page));
}

http::response users_handler::suggestions(http::request& req) {
    const auto caller = auth_.require(req);
    int limit = 10;
    if (const auto l = req.query_param("limit")) {
        const auto n = parse_int64(*l);
        if (!n || *n < 1 || *n > 50)
            throw error(error_code::validation_failed, "invalid suggestions request",
                        {{"limit", "must be an integer from 1 to 50"}});
        limit = static_cast<int>(*n);
    }
    json::array items;
    for (const auto& s : people_.suggestions(caller.who, limit)) {
        auto o = to_json(s.who, false);
        o["followed_by_me"] = false;
        o["followed_by_count"] = s.followed_by;
        o["reason"] = s.why == social::suggestion::reason::popular ? "popular"
                                                                    : "followed_by_your_follows";
        items.push_back(std::move(o));
    }
    return json_response(200, json::object{{"items", std::move(items)}});
}

}  // namespace bsocial::api
