#include "bsocial/api/handlers.hpp"
#include "bsocial/api/json_io.hpp"
#include "bsocial/core/time_format.hpp"
#include "bsocial/sessions/user_agent.hpp"

namespace bsocial::api {

sessions_handler::sessions_handler(social::accounts& accounts, sessions::session_service& sessions,
                                   const sessions::authenticator& auth)
    : accounts_(accounts), sessions_(sessions), auth_(auth) {}

http::response sessions_handler::login(http::request& req) {
    const auto body = parse_json_body(req);
    field_errors errors;
    std::string login = take_string(body, "login", errors);
    const std::string password = take_string(body, "password", errors);
    if (!errors.empty())
        throw error(error_code::validation_failed, "invalid login request", errors);

    const auto who = accounts_.check_credentials(std::move(login), password, req.client_address);
    const auto* agent = req.header("user-agent");
    const auto session = sessions_.open(who, agent ? *agent : std::string(), req.client_address);
    auto res = json_response(
        200, json::object{{"token", session.token},
                          {"token_type", "Bearer"},
                          {"expires_at", format_rfc3339_ms(session.claims.expires_at * 1000)},
                          {"user", to_json(who, true)}});
    res.set_header("Set-Cookie", auth_.session_cookie(session.token));
    return res;
}

http::response sessions_handler::logout(http::request& req) {
    const auto caller = auth_.require(req);
    sessions_.revoke(caller);
    http::response res = no_content();
    res.set_header("Set-Cookie", auth_.cleared_cookie());
    return res;
}

http::response sessions_handler::list(http::request& req) {
    const auto caller = auth_.require(req);
    json::array items;
    for (const auto& s : sessions_.list(caller.who.id)) {
        items.push_back(json::object{{"id", s.id},
                                     {"device", sessions::describe_device(s.user_agent)},
                                     {"user_agent", s.user_agent},
                                     {"ip", s.ip},
                                     {"created_at", format_rfc3339_ms(s.created_at)},
                                     {"last_used_at", format_rfc3339_ms(s.last_used_at)},
                                     {"expires_at", format_rfc3339_ms(s.expires_at * 1000)},
                                     {"current", s.id == caller.claims.jti}});
    }
    return json_response(200, json::object{{"items", std::move(items)}});
}

http::response sessions_handler::revoke(http::request& req) {
    const auto caller = auth_.require(req);
    const std::string& id = req.params.at(0);
    if (!sessions_.revoke_session(caller, id)) throw error(error_code::not_found, "no such session");
    http::response res = no_content();
    if (id == caller.claims.jti) res.set_header("Set-Cookie", auth_.cleared_cookie());
    return res;
}

http::response sessions_handler::revoke_others(http::request& req) {
    const auto caller = auth_.require(req);
    const int ended = sessions_.revoke_other_sessions(caller);
    return json_response(200, json::object{{"revoked", ended}});
}

}  // namespace bsocial::api
