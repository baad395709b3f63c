#include "bsocial/api/handlers.hpp"
#include "bsocial/api/json_io.hpp"
#include "bsocial/core/time_format.hpp"

namespace bsocial::api {

sessions_handler::sessions_handler(social::accounts& accounts, const authenticator& auth)
    : accounts_(accounts), auth_(auth) {}

http::response sessions_handler::login(http::request& req) {
    const auto body = parse_json_body(req);
    field_errors errors;
    std::string login = take_string(body, "login", errors);
    const std::string password = take_string(body, "password", errors);
    if (!errors.empty())
        throw error(error_code::validation_failed, "invalid login request", errors);

    auto result = accounts_.login(std::move(login), password, req.client_address);
    auto res = json_response(
        200, json::object{{"token", result.token.token},
                          {"token_type", "Bearer"},
                          {"expires_at", format_rfc3339_ms(result.token.claims.expires_at * 1000)},
                          {"user", to_json(result.who, true)}});
    res.set_header("Set-Cookie", auth_.session_cookie(result.token.token));
    return res;
}

http::response sessions_handler::logout(http::request& req) {
    const auto caller = auth_.require(req);
    accounts_.logout(caller);
    http::response res = no_content();
    res.set_header("Set-Cookie", auth_.cleared_cookie());
    return res;
}

}  // namespace bsocial::api
