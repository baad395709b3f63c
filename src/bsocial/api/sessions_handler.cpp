#include "bsocial/api/handlers.hpp"
#include "bsocial/api/json_io.hpp"
#include "bsocial/core/time_format.hpp"

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
    const auto session = sessions_.open(who);
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

}  // namespace bsocial::api
