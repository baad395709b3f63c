#pragma once
// JSON in and out for any route: body parsing with the 415/400/422 rules, typed field
// access, the ?limit=&cursor= paging parameters, and list pages with Link headers. The
// JSON shapes of the domain (users, posts, ...) are api/json_io.hpp.

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bsocial/core/error.hpp"
#include "bsocial/http/message.hpp"

namespace bsocial::http {

namespace json = boost::json;

/// The body as a JSON object. 415 unless Content-Type is application/json, 400 when it is
/// not JSON, 422 when it is JSON but not an object.
json::object parse_json_body(const request& req);

/// A string field; records "is required" / "must be a string" in `errors` and returns "".
std::string take_string(const json::object& body, std::string_view field, field_errors& errors);

/// A list request's ?limit= and ?cursor=.
struct page_params {
    int limit = 20;
    std::optional<std::string> cursor;
};

/// ?limit= (default 20, clamped to 100; 0, negative or non-numeric -> 422) and ?cursor=
/// (base64url, at most 200 characters, else "invalid cursor").
page_params parse_page_params(const request& req);

/// A path id ("123"); anything else is not_found.
std::int64_t parse_id(const std::string& text);

response json_response(unsigned status, json::value body);

/// 204 No Content.
response no_content();

/// Adds `Link: <path?limit=N&cursor=...>; rel="next"` (what json_list_response adds) to a
/// list answer whose body was written otherwise.
void set_next_link(const request& req, response& res, const std::string& next_cursor, int limit);

/// {"items":[...],"next_cursor":...} plus a Link: <path?limit=N&cursor=...>; rel="next".
response json_list_response(const request& req, json::array items,
                            const std::optional<std::string>& next_cursor, int limit);

}  // namespace bsocial::http
