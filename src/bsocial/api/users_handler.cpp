#include "bsocial/api/handlers.hpp"
#include "bsocial/api/json_io.hpp"
#include "bsocial/social/validation.hpp"

namespace bsocial::api {

namespace {
item_renderer<social::user> render_users_for(const social::user& viewer) {
    return [id = viewer.id](const social::user& u, json::storage_ptr sp) {
        return to_json(u, u.id == id, std::move(sp));
    };
}
}  // namespace

users_handler::users_handler(social::accounts& accounts, social::graph& graph,
                             const sessions::authenticator& auth, const sessions::roles& roles)
    : accounts_(accounts), graph_(graph), auth_(auth), roles_(roles) {}

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
    if (social::utf8_length(q) > social::max_username_length)  // characters, as documented
        throw error(error_code::validation_failed, "invalid search",
                    {{"q", "must be at most 30 characters"}});
    return list_response<social::user>(req, graph_.search(q, page), render_users_for(caller.who));
}

http::response users_handler::profile(http::request& req) {
    const auto caller = auth_.require(req);
    const auto p = graph_.get_profile(caller.who, req.params.at(0));
    return json_response(200, json::object{{"user", to_json(p.who, p.who.id == caller.who.id)},
                                           {"followers_count", p.followers_count},
                                           {"following_count", p.following_count},
                                           {"followed_by_me", p.followed_by_me}});
}

http::response users_handler::follow(http::request& req) {
    const auto caller = auth_.require(req);
    graph_.follow(caller.who, req.params.at(0));
    return no_content();
}

http::response users_handler::unfollow(http::request& req) {
    const auto caller = auth_.require(req);
    graph_.unfollow(caller.who, req.params.at(0));
    return no_content();
}

http::response users_handler::followers(http::request& req) {
    const auto caller = auth_.require(req);
    const auto page = parse_page(req);
    return list_response<social::user>(req, graph_.followers(req.params.at(0), page),
                                       render_users_for(caller.who));
}

http::response users_handler::following(http::request& req) {
    const auto caller = auth_.require(req);
    const auto page = parse_page(req);
    return list_response<social::user>(req, graph_.following(req.params.at(0), page),
                                       render_users_for(caller.who));
}

}  // namespace bsocial::api
