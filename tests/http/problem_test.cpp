// http/problem.cpp is the one place that maps codes to statuses: the domain's codes
// (core/error.hpp) and the transport's (http/errc.hpp).

#include "bsocial/http/problem.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace {
using namespace bsocial;
using http::errc;

const std::string* header_of(const http::response& res, const std::string& name) {
    for (const auto& [k, v] : res.headers)
        if (k == name) return &v;
    return nullptr;
}

std::string code_in(const http::response& res) {
    return std::string(boost::json::parse(res.body).at("error").at("code").as_string());
}

TEST(Problem, TransportCodesMapToTheirStatusAndWireName) {
    const struct {
        errc code;
        unsigned status;
        const char* wire;
    } cases[] = {
        {errc::bad_request, 400, "bad_request"},
        {errc::malformed_json, 400, "malformed_json"},
        {errc::unsupported_media_type, 415, "unsupported_media_type"},
        {errc::method_not_allowed, 405, "method_not_allowed"},
        {errc::payload_too_large, 413, "payload_too_large"},
        {errc::headers_too_large, 431, "payload_too_large"},
        {errc::upgrade_required, 426, "upgrade_required"},
    };
    for (const auto& c : cases) {
        const auto res = http::problem_response(http::transport_error(c.code, "why"));
        EXPECT_EQ(res.status, c.status) << c.wire;
        EXPECT_EQ(code_in(res), c.wire);
        EXPECT_EQ(boost::json::parse(res.body).at("error").at("message").as_string(), "why");
    }
}

TEST(Problem, DomainCodesMapToTheirStatusWithTheirHeaders) {
    const struct {
        error_code code;
        unsigned status;
    } cases[] = {
        {error_code::unauthorized, 401},     {error_code::invalid_credentials, 401},
        {error_code::forbidden_origin, 403}, {error_code::not_found, 404},
        {error_code::already_exists, 409},   {error_code::validation_failed, 422},
        {error_code::rate_limited, 429},     {error_code::unavailable, 503},
        {error_code::internal_error, 500},
    };
    for (const auto& c : cases) {
        const auto res = http::problem_response(bsocial::error(c.code, "why"));
        EXPECT_EQ(res.status, c.status) << to_string(c.code);
        EXPECT_EQ(code_in(res), to_string(c.code));
    }
    bsocial::error limited(error_code::rate_limited, "slow down");
    limited.retry_after_seconds = 7;
    // header_of points into the response: keep each response alive while it is read.
    const auto limited_res = http::problem_response(limited);
    const auto* retry_after = header_of(limited_res, "Retry-After");
    ASSERT_TRUE(retry_after);
    EXPECT_EQ(*retry_after, "7");
    const auto unauthorized_res =
        http::problem_response(bsocial::error(error_code::unauthorized, "x"));
    const auto* scheme = header_of(unauthorized_res, "WWW-Authenticate");
    ASSERT_TRUE(scheme);
    EXPECT_EQ(*scheme, "Bearer");
    const auto bad_request_res =
        http::problem_response(http::transport_error(errc::bad_request, "x"));
    EXPECT_FALSE(header_of(bad_request_res, "Retry-After"));
}

}  // namespace
