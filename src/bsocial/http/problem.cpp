#include "bsocial/http/problem.hpp"

#include <boost/json.hpp>

namespace bsocial::http {

unsigned status_of(error_code code) noexcept {
    switch (code) {
        case error_code::bad_request:
            return 400;
        case error_code::malformed_json:
            return 400;
        case error_code::unauthorized:
            return 401;
        case error_code::invalid_credentials:
            return 401;
        case error_code::forbidden_origin:
            return 403;
        case error_code::not_found:
            return 404;
        case error_code::method_not_allowed:
            return 405;
        case error_code::already_exists:
            return 409;
        case error_code::payload_too_large:
            return 413;
        case error_code::unsupported_media_type:
            return 415;
        case error_code::upgrade_required:
            return 426;
        case error_code::validation_failed:
            return 422;
        case error_code::rate_limited:
            return 429;
        case error_code::unavailable:
            return 503;
        case error_code::internal_error:
            return 500;
    }
    return 500;  // unreachable: the switch is exhaustive
}

response problem_response(const bsocial::error& e) {
    boost::json::object body;
    body["code"] = to_string(e.code());
    body["message"] = e.what();
    if (!e.fields().empty()) {
        boost::json::object fields;
        for (const auto& [k, v] : e.fields()) fields[k] = v;
        body["fields"] = std::move(fields);
    }
    response res;
    res.status = status_of(e.code());
    res.body = boost::json::serialize(boost::json::object{{"error", std::move(body)}});
    if (e.code() == error_code::rate_limited ||
        (e.code() == error_code::unavailable && e.retry_after_seconds > 0))
        res.set_header("Retry-After", std::to_string(e.retry_after_seconds));
    if (e.code() == error_code::unauthorized) res.set_header("WWW-Authenticate", "Bearer");
    return res;
}

}  // namespace bsocial::http
