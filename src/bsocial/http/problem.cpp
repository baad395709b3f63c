#include "bsocial/http/problem.hpp"

#include <boost/json.hpp>

namespace bsocial::http {

unsigned status_of(error_code code) noexcept {
    switch (code) {
        case error_code::unauthorized:
            return 401;
        case error_code::invalid_credentials:
            return 401;
        case error_code::forbidden_origin:
            return 403;
        case error_code::not_found:
            return 404;
        case error_code::already_exists:
            return 409;
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

unsigned status_of(errc code) noexcept {
    switch (code) {
        case errc::bad_request:
            return 400;
        case errc::malformed_json:
            return 400;
        case errc::unsupported_media_type:
            return 415;
        case errc::method_not_allowed:
            return 405;
        case errc::payload_too_large:
            return 413;
        case errc::headers_too_large:
            return 431;
        case errc::upgrade_required:
            return 426;
    }
    return 400;  // unreachable: the switch is exhaustive
}

namespace {
response problem(const char* code, const char* message, const field_errors& fields,
                 unsigned status) {
    boost::json::object body;
    body["code"] = code;
    body["message"] = message;
    if (!fields.empty()) {
        boost::json::object by_field;
        for (const auto& [k, v] : fields) by_field[k] = v;
        body["fields"] = std::move(by_field);
    }
    response res;
    res.status = status;
    res.body = boost::json::serialize(boost::json::object{{"error", std::move(body)}});
    return res;
}
}  // namespace

response problem_response(const bsocial::error& e) {
    response res = problem(to_string(e.code()), e.what(), e.fields(), status_of(e.code()));
    if (e.code() == error_code::rate_limited ||
        (e.code() == error_code::unavailable && e.retry_after_seconds > 0))
        res.set_header("Retry-After", std::to_string(e.retry_after_seconds));
    if (e.code() == error_code::unauthorized) res.set_header("WWW-Authenticate", "Bearer");
    return res;
}

response problem_response(const transport_error& e) {
    return problem(to_string(e.code()), e.what(), {}, status_of(e.code()));
}

}  // namespace bsocial::http
